"""Keep the ATP Cloud side of a policy on the SRX as ``apply-macro`` data.

Junos has no statement for the IMAP action, the server list, the end-user
notification texts or the administrators: ATP Cloud applies them from its
realm. IMAP Desk still stores them with the device configuration, inside the
advanced-anti-malware policy, so that a policy read back from a device is the
policy that was sent. The YANG models give an ``apply-macro`` a string name
and a list of ``data`` entries, each a string ``name`` and an optional string
``value``; neither is restricted.

Format 1, one ``apply-macro imapdesk`` per policy::

    apply-macro imapdesk {
        format 1;
        action block;                       # block | permit
        server-scope specific;              # all | specific
        server-001 imap.example.com;        # one key per IMAP server, in order
        learn-more-url https://example.com/help;
        subject "Malware Detected";
        custom-message-part-001 "An email sent ...";   # long text in parts
        custom-message-part-002 "...";
        custom-link-text "Learn more";
        admin-001 soc@example.com;          # one key per administrator
        admin-001-notify block,unblock;     # block,unblock | block | unblock | none
    }

Rules:

- Every key of the format is always written. A text that is empty is written
  as a key without a value (``learn-more-url;``).
- Numbered keys count from 001 with three digits, so that sorting by name
  keeps their order; readers order them by number, not by position.
- Text values (servers, URL, subject, message, link text, e-mail addresses)
  are percent-encoded as UTF-8: every character outside printable ASCII, and
  each of ``% " \\ ' # ; { } [ ]``, becomes ``%XX``, as do spaces at either
  end. What remains is printable ASCII that any Junos release stores, prints
  and quotes without loss, while ordinary text stays readable.
- An encoded value longer than :data:`CHUNK` characters is cut into parts
  ``<key>-part-001``, ``<key>-part-002``... which readers join before
  decoding; a shorter one is written under ``<key>`` itself.
- Readers refuse a macro whose ``format`` they do not know and report its
  settings as not known rather than guess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store.model import Policy

logger = logging.getLogger(__name__)

MACRO_NAME = "imapdesk"
FORMAT = "1"
CHUNK = 255

TEXT_KEYS = {
    "learn_more_url": "learn-more-url",
    "subject": "subject",
    "custom_message": "custom-message",
    "custom_link_text": "custom-link-text",
}
# the fields that travel in the macro; everything else has a Junos statement
MACRO_FIELDS = (
    "action",
    "server_scope",
    "servers",
    *TEXT_KEYS,
    "administrators",
)
NOTIFY_VALUES = {
    (True, True): "block,unblock",
    (True, False): "block",
    (False, True): "unblock",
    (False, False): "none",
}

_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - set("%\"\\'#;{}[]")
_NUMBERED_RE = re.compile(
    r"(?P<prefix>[a-z-]+?)-(?P<number>\d{3,})(?P<suffix>-[a-z]+)?"
)
_PART_RE = re.compile(r"(?P<key>[a-z-]+)-part-(?P<number>\d{3,})")


@dataclass(frozen=True)
class Enforcement:
    """Where a policy setting takes effect: ``place`` is "srx" or "atp-cloud"."""

    place: str
    note: str


_SRX_NOTE = "Sent to the SRX as a Junos statement; the SRX enforces it."
_CLOUD_NOTE = (
    "ATP Cloud applies it from the realm's IMAP settings; the SRX only keeps "
    "a copy for IMAP Desk."
)
ENFORCEMENT = {
    "name": Enforcement("srx", "Names the anti-malware policy on the SRX."),
    "action": Enforcement("atp-cloud", _CLOUD_NOTE),
    "server_scope": Enforcement("atp-cloud", _CLOUD_NOTE),
    "servers": Enforcement("atp-cloud", _CLOUD_NOTE),
    "learn_more_url": Enforcement("atp-cloud", _CLOUD_NOTE),
    "subject": Enforcement("atp-cloud", _CLOUD_NOTE),
    "custom_message": Enforcement("atp-cloud", _CLOUD_NOTE),
    "custom_link_text": Enforcement("atp-cloud", _CLOUD_NOTE),
    "administrators": Enforcement("atp-cloud", _CLOUD_NOTE),
    "inspection_profile": Enforcement("srx", _SRX_NOTE),
    "verdict_threshold": Enforcement("srx", _SRX_NOTE),
    "log_notifications": Enforcement("srx", _SRX_NOTE),
    "fallback_action": Enforcement("srx", _SRX_NOTE),
    "fallback_log": Enforcement("srx", _SRX_NOTE),
}


def enforcement() -> dict[str, Enforcement]:
    """Map each Policy field to where it takes effect, for the interface."""
    return dict(ENFORCEMENT)


def encode_value(text: str) -> str:
    """Percent-encode ``text`` into printable ASCII safe for any Junos value."""
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        at_edge = ch == " " and (i == 0 or i == last)
        if ch in _PLAIN and not at_edge:
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
    return "".join(out)


def decode_value(text: str) -> str:
    """Reverse :func:`encode_value`.

    :raises ValueError: when the text is not a valid encoding.
    """
    data = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
                raise ValueError(f"Broken percent escape at position {i}.")
            data.append(int(pair, 16))
            i += 3
            continue
        data.extend(ch.encode("utf-8"))
        i += 1
    return data.decode("utf-8")


def encode_settings(policy: Policy) -> list[tuple[str, str | None]]:
    """The macro data of ``policy`` as (key, value) pairs; None for no value."""
    pairs: list[tuple[str, str | None]] = [
        ("format", FORMAT),
        ("action", policy.action),
        ("server-scope", policy.server_scope),
    ]
    for i, server in enumerate(policy.servers, start=1):
        pairs.append((f"server-{i:03d}", encode_value(server)))
    for field, key in TEXT_KEYS.items():
        pairs.extend(_text_pairs(key, getattr(policy, field)))
    for i, admin in enumerate(policy.administrators, start=1):
        pairs.append((f"admin-{i:03d}", encode_value(admin.email)))
        notify = NOTIFY_VALUES[(admin.block, admin.unblock)]
        pairs.append((f"admin-{i:03d}-notify", notify))
    return pairs


def _text_pairs(key: str, text: str) -> list[tuple[str, str | None]]:
    encoded = encode_value(text)
    if not encoded:
        return [(key, None)]
    if len(encoded) <= CHUNK:
        return [(key, encoded)]
    parts = [encoded[i : i + CHUNK] for i in range(0, len(encoded), CHUNK)]
    return [(f"{key}-part-{n:03d}", part) for n, part in enumerate(parts, start=1)]


def decode_settings(
    data: Mapping[str, str | None],
) -> tuple[dict[str, Any], list[str]]:
    """Read macro data back into Policy fields.

    :returns: the fields found (plain data for :meth:`Policy.from_dict`) and
        warnings; a field missing from the result is not known.
    """
    version = data.get("format")
    if version != FORMAT:
        return {}, [
            f"The {MACRO_NAME} data has format {version!r}, which this version of "
            "IMAP Desk cannot read; its ATP Cloud settings are not known."
        ]
    fields: dict[str, Any] = {}
    warnings: list[str] = []
    for key, field in (("action", "action"), ("server-scope", "server_scope")):
        if data.get(key) is not None:
            fields[field] = data[key]
    for field, key in TEXT_KEYS.items():
        _decode_text(data, field, key, fields, warnings)
    _decode_servers(data, fields, warnings)
    _decode_admins(data, fields, warnings)
    missing = [f for f in MACRO_FIELDS if f not in fields]
    if missing:
        warnings.append(
            f"The {MACRO_NAME} data lacks {', '.join(missing)}; "
            "these settings are not known."
        )
    return fields, warnings


def _decode_text(
    data: Mapping[str, str | None],
    field: str,
    key: str,
    fields: dict[str, Any],
    warnings: list[str],
) -> None:
    if key in data:
        encoded = data[key] or ""
    else:
        parts = _numbered(data, _PART_RE, key)
        if not parts:
            return
        encoded = "".join(value or "" for _, value in parts)
    try:
        fields[field] = decode_value(encoded)
    except (ValueError, UnicodeDecodeError):
        warnings.append(f"The {MACRO_NAME} value of {key} is damaged; it is ignored.")


def _decode_servers(
    data: Mapping[str, str | None], fields: dict[str, Any], warnings: list[str]
) -> None:
    servers = []
    for number, value in _numbered_keys(data, "server", None):
        try:
            servers.append(decode_value(value or ""))
        except (ValueError, UnicodeDecodeError):
            warnings.append(f"The IMAP server number {number} is damaged; ignored.")
    fields["servers"] = servers


def _decode_admins(
    data: Mapping[str, str | None], fields: dict[str, Any], warnings: list[str]
) -> None:
    admins = []
    flags_by_value = {v: k for k, v in NOTIFY_VALUES.items()}
    for number, value in _numbered_keys(data, "admin", None):
        notify = data.get(f"admin-{number:03d}-notify") or ""
        flags = flags_by_value.get(notify)
        try:
            email = decode_value(value or "")
        except (ValueError, UnicodeDecodeError):
            email = ""
        if flags is None or not email:
            warnings.append(f"The administrator number {number} is damaged; ignored.")
            continue
        admins.append({"email": email, "block": flags[0], "unblock": flags[1]})
    fields["administrators"] = admins


def _numbered_keys(
    data: Mapping[str, str | None], prefix: str, suffix: str | None
) -> list[tuple[int, str | None]]:
    found = []
    for key, value in data.items():
        match = _NUMBERED_RE.fullmatch(key)
        if match and match["prefix"] == prefix and match["suffix"] == suffix:
            found.append((int(match["number"]), value))
    return sorted(found)


def _numbered(
    data: Mapping[str, str | None], pattern: re.Pattern[str], key: str
) -> list[tuple[int, str | None]]:
    found = []
    for name, value in data.items():
        match = pattern.fullmatch(name)
        if match and match["key"] == key:
            found.append((int(match["number"]), value))
    return sorted(found)
