"""The IMAP policy: its fields, their limits and their validation.

Pure Python with no database inside, so the web interface, the JSON import,
the Junos renderer and the sync all check a policy the same way.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import idna

ACTIONS = ("block", "permit")
SERVER_SCOPES = ("all", "specific")
FALLBACK_ACTIONS = ("permit", "block")
VERDICT_THRESHOLDS = ("recommended",) + tuple(str(n) for n in range(1, 11))

# Neither Security Director nor ATP Cloud documents limits for these fields;
# these are ours, shown in the form and enforced everywhere.
LIMITS = {
    "name": 63,
    "inspection_profile": 63,
    "learn_more_url": 2048,
    "subject": 200,
    "custom_message": 4000,
    "custom_link_text": 100,
    "servers": 200,
    "administrators": 100,
    "email": 254,
    "note": 500,
}

NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class ValidationError(ValueError):
    """A policy that breaks one or more rules.

    :param errors: maps a field path (``subject``, ``servers[2]``,
        ``administrators[0].email``) to a full-sentence message.
    """

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class Administrator:
    email: str
    block: bool = True
    unblock: bool = True


@dataclass(frozen=True)
class Policy:
    """One IMAP policy: the ATP Cloud page's settings plus the SRX side."""

    name: str = "imap-policy"
    action: str = "block"
    server_scope: str = "all"
    servers: tuple[str, ...] = ()
    learn_more_url: str = ""
    subject: str = "Malware Detected"
    custom_message: str = (
        "An email sent to you contained an attachment that was found to be "
        "malicious, so it was blocked and has not been delivered.\n"
        "If you were expecting this email, contact your IT helpdesk."
    )
    custom_link_text: str = "Learn more"
    administrators: tuple[Administrator, ...] = ()
    inspection_profile: str = "default_profile"
    verdict_threshold: str = "recommended"
    log_notifications: bool = True
    fallback_action: str = "permit"
    fallback_log: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, lists instead of tuples."""
        data = asdict(self)
        data["servers"] = list(self.servers)
        data["administrators"] = [asdict(a) for a in self.administrators]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        """Validate and normalise plain data into a policy.

        Missing keys take their defaults; unknown keys are refused.

        :raises ValidationError: naming every field that is wrong.
        """
        return _build(data)


FIELD_NAMES = tuple(Policy.__dataclass_fields__)


def has_control_chars(text: str, allow_newlines: bool = False) -> bool:
    """True if ``text`` holds control or format characters (tab included)."""
    for ch in text:
        if allow_newlines and ch in "\r\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return True
    return False


def check_name(value: str) -> str:
    """Return the policy name, or raise ValueError with a message."""
    if not value:
        raise ValueError("Enter a policy name.")
    if len(value) > LIMITS["name"]:
        raise ValueError(f"The name is longer than {LIMITS['name']} characters.")
    if not NAME_RE.fullmatch(value):
        raise ValueError(
            "The name must start with a letter and hold only letters, digits, "
            "hyphens and underscores."
        )
    return value


def normalize_hostname(value: str) -> str:
    """Return an IMAP server hostname in lower-case ASCII (punycode) form.

    :raises ValueError: for IP literals and anything RFC 1123 refuses.
    """
    text = value.strip()
    if not text:
        raise ValueError("Enter a hostname.")
    if _is_ip_literal(text):
        raise ValueError(
            f"{text!r} is an IP address; an IMAP server must be given by its hostname."
        )
    text = text.removesuffix(".")
    if has_control_chars(text) or any(ch.isspace() for ch in text):
        raise ValueError("A hostname cannot hold spaces or control characters.")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValueError(f"{text!r} is not a valid hostname.") from None
    ascii_name = ascii_name.lower()
    if len(ascii_name) > 253:
        raise ValueError("A hostname cannot be longer than 253 characters.")
    for label in ascii_name.split("."):
        if not LABEL_RE.fullmatch(label):
            raise ValueError(
                f"{text!r} is not a valid hostname: each part between dots must "
                "be 1 to 63 letters, digits or hyphens, not starting or ending "
                "with a hyphen."
            )
    if ascii_name.rsplit(".", 1)[-1].isdigit():
        raise ValueError(f"{text!r} is not a valid hostname.")
    return ascii_name


def display_hostname(ascii_name: str) -> str:
    """Return the Unicode form of a stored hostname (itself when plain ASCII)."""
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        return ascii_name


def check_email(value: str) -> str:
    """Return the normalised address, or raise ValueError with a message."""
    text = value.strip()
    if not text:
        raise ValueError("Enter an email address.")
    if len(text) > LIMITS["email"]:
        raise ValueError(
            f"An email address cannot be longer than {LIMITS['email']} characters."
        )
    # email-validator takes a noticeable part of start-up to import
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{text!r} is not a valid email address: {exc}") from None
    return result.normalized


def check_url(value: str) -> str:
    """Return the Learn More Link URL ('' when blank), or raise ValueError."""
    text = value.strip()
    if not text:
        return ""
    if len(text) > LIMITS["learn_more_url"]:
        raise ValueError(
            f"The URL is longer than {LIMITS['learn_more_url']} characters."
        )
    if has_control_chars(text) or any(ch.isspace() for ch in text):
        raise ValueError("The URL cannot hold spaces or control characters.")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise ValueError("The URL must name a web site, as in https://example.com.")
    return text


def check_text(key: str, value: str, *, multiline: bool = False) -> str:
    """Check a free-text field against its limit and character rules."""
    if multiline:
        # browsers send CRLF; a line break counts as one character
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    limit = LIMITS[key]
    if len(value) > limit:
        raise ValueError(f"This text is longer than {limit} characters.")
    if has_control_chars(value, allow_newlines=multiline):
        if multiline:
            raise ValueError("This text cannot hold control characters.")
        raise ValueError(
            "This text must be one line, without line breaks or control characters."
        )
    return value


def check_profile(value: str) -> str:
    """Return the inspection profile name, or raise ValueError."""
    if not value:
        raise ValueError("Enter an inspection profile name.")
    if len(value) > LIMITS["inspection_profile"]:
        raise ValueError("The profile name is longer than 63 characters.")
    if not PROFILE_RE.fullmatch(value):
        raise ValueError(
            "The profile name must start with a letter or digit and hold only "
            "letters, digits, dots, hyphens and underscores."
        )
    return value


def _is_ip_literal(text: str) -> bool:
    candidate = text.strip("[]")
    if "%" in candidate:
        candidate = candidate.split("%", 1)[0]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of: {', '.join(choices)}.")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("This must be true or false.")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("This must be text.")
    return value


def _build(data: dict[str, Any]) -> Policy:
    if not isinstance(data, dict):
        raise ValidationError({"policy": "A policy must be an object of fields."})
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(FIELD_NAMES))
    for key in unknown:
        errors[key] = "This field is not part of an IMAP policy."
    defaults = Policy()
    values: dict[str, Any] = {}

    def take(key: str, check) -> None:
        raw = data.get(key, getattr(defaults, key))
        try:
            values[key] = check(raw)
        except ValueError as exc:
            errors[key] = str(exc)

    take("name", lambda v: check_name(_string(v)))
    take("action", lambda v: _choice(v, ACTIONS, "Action to take"))
    take("server_scope", lambda v: _choice(v, SERVER_SCOPES, "IMAP Server"))
    take("learn_more_url", lambda v: check_url(_string(v)))
    take("subject", lambda v: _check_subject(_string(v)))
    take(
        "custom_message",
        lambda v: check_text("custom_message", _string(v), multiline=True),
    )
    take("custom_link_text", lambda v: check_text("custom_link_text", _string(v)))
    take("inspection_profile", lambda v: check_profile(_string(v)))
    take(
        "verdict_threshold",
        lambda v: _choice(str(v), VERDICT_THRESHOLDS, "Verdict threshold"),
    )
    take("log_notifications", _flag)
    take("fallback_action", lambda v: _choice(v, FALLBACK_ACTIONS, "Fallback action"))
    take("fallback_log", _flag)
    values["servers"] = _build_servers(data.get("servers", []), errors)
    values["administrators"] = _build_admins(data.get("administrators", []), errors)
    if (
        values.get("server_scope") == "specific"
        and "servers" not in errors
        and not values["servers"]
    ):
        errors["servers"] = "Add at least one IMAP server, or choose all IMAP servers."
    if errors:
        raise ValidationError(errors)
    return Policy(**values)


def _check_subject(value: str) -> str:
    value = check_text("subject", value)
    if not value.strip():
        raise ValueError("Enter a subject for the message sent to recipients.")
    return value


def _build_servers(raw: Any, errors: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(raw, (list, tuple)):
        errors["servers"] = "IMAP Servers must be a list of hostnames."
        return ()
    if len(raw) > LIMITS["servers"]:
        errors["servers"] = f"At most {LIMITS['servers']} IMAP servers can be listed."
        return ()
    seen: dict[str, int] = {}
    result = []
    for i, item in enumerate(raw):
        try:
            name = normalize_hostname(_string(item))
        except ValueError as exc:
            errors[f"servers[{i}]"] = str(exc)
            continue
        if name in seen:
            errors[f"servers[{i}]"] = f"{display_hostname(name)} is already listed."
            continue
        seen[name] = i
        result.append(name)
    return tuple(result)


def _build_admins(raw: Any, errors: dict[str, str]) -> tuple[Administrator, ...]:
    if not isinstance(raw, (list, tuple)):
        errors["administrators"] = "Administrators must be a list."
        return ()
    if len(raw) > LIMITS["administrators"]:
        errors["administrators"] = (
            f"At most {LIMITS['administrators']} administrators can be listed."
        )
        return ()
    seen: set[str] = set()
    result = []
    for i, item in enumerate(raw):
        where = f"administrators[{i}]"
        if not isinstance(item, dict):
            errors[where] = "An administrator must be an object with an email."
            continue
        extra = sorted(set(item) - {"email", "block", "unblock"})
        if extra:
            errors[f"{where}.{extra[0]}"] = (
                "This field is not part of an administrator."
            )
            continue
        try:
            email = check_email(_string(item.get("email", "")))
        except ValueError as exc:
            errors[f"{where}.email"] = str(exc)
            continue
        if email.lower() in seen:
            errors[f"{where}.email"] = f"{email} is already listed."
            continue
        flags = {}
        for key in ("block", "unblock"):
            try:
                flags[key] = _flag(item.get(key, True))
            except ValueError as exc:
                errors[f"{where}.{key}"] = str(exc)
        if len(flags) < 2:
            continue
        seen.add(email.lower())
        result.append(Administrator(email=email, **flags))
    return tuple(result)


# the labels of the modelled page, used wherever a field is named to a user
LABELS = {
    "name": "Policy name",
    "action": "Action to take",
    "server_scope": "IMAP Server",
    "servers": "IMAP Servers",
    "learn_more_url": "Learn More Link URL",
    "subject": "Subject",
    "custom_message": "Custom Message",
    "custom_link_text": "Custom Link Text",
    "administrators": "Administrators",
    "inspection_profile": "Inspection profile",
    "verdict_threshold": "Verdict threshold",
    "log_notifications": "Log IMAP notifications",
    "fallback_action": "Fallback action",
    "fallback_log": "Log fallback actions",
}


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two policies."""

    field: str
    label: str
    old: Any
    new: Any


def diff_policies(old: Policy, new: Policy) -> list[FieldChange]:
    """The fields that differ between two policies, in form order."""
    a, b = old.to_dict(), new.to_dict()
    return [
        FieldChange(key, LABELS[key], a[key], b[key])
        for key in FIELD_NAMES
        if a[key] != b[key]
    ]
