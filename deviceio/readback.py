"""Read policies and bindings back from a device configuration.

The input is what ``get-configuration`` returns (a ``configuration`` element,
possibly in an ``rpc-reply`` and with ``junos:`` attributes) or a saved file
in XML, curly-brace text or ``set`` form.

A policy IMAP Desk wrote carries ``apply-macro imapdesk`` (see
:mod:`deviceio.macro`) and reads back equal to the policy sent. A policy
written by hand yields its SRX statements; the ATP Cloud settings take their
defaults and are listed in :attr:`ReadBack.unknown_fields`. Statements IMAP
Desk does not render, which a sync of that policy or binding would remove,
are reported as warnings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from store.model import FIELD_NAMES, Policy, ValidationError

from . import junostext, macro
from .render import ANY, Binding
from .tree import child, child_text, children, descend, find_configuration, local_name

logger = logging.getLogger(__name__)

DEFAULT_PROFILE = "default_profile"
DEFAULT_THRESHOLD = "recommended"
DEFAULT_FALLBACK = "permit"
SRX_FIELDS = (
    "inspection_profile",
    "verdict_threshold",
    "log_notifications",
    "fallback_action",
    "fallback_log",
)

# what a rendered policy or binding holds; anything else is lost on sync
_POLICY_STATEMENTS = {
    "": {
        "name",
        "apply-macro",
        "imap",
        "verdict-threshold",
        "fallback-options",
        "default-notification",
    },
    "imap": {"inspection-profile", "notification"},
    "imap/notification": {"log"},
    "fallback-options": {"action", "notification"},
    "fallback-options/notification": {"log"},
    "default-notification": {"log"},
}
_BINDING_STATEMENTS = {
    "": {"name", "match", "then"},
    "match": {"source-address", "destination-address", "application"},
    "then": {"permit"},
    "then/permit": {"application-services"},
    "then/permit/application-services": {
        "ssl-proxy",
        "advanced-anti-malware-policy",
    },
    "then/permit/application-services/ssl-proxy": {"profile-name"},
}
_FIELD_RE = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class ReadBack:
    """One anti-malware policy as found on a device.

    :param unknown_fields: Policy fields the device does not tell; they hold
        their defaults in ``policy``.
    :param managed: True when IMAP Desk's apply-macro data is present.
    """

    policy: Policy
    unknown_fields: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()
    managed: bool = False


@dataclass(frozen=True)
class DeviceConfig:
    """Everything IMAP Desk reads from one configuration."""

    policies: tuple[ReadBack, ...] = ()
    bindings: tuple[Binding, ...] = ()
    warnings: tuple[str, ...] = ()

    def policy(self, name: str) -> ReadBack | None:
        """The policy called ``name``, or None."""
        return next((r for r in self.policies if r.policy.name == name), None)


@dataclass
class _Findings:
    fields: dict[str, Any] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def read_config(source: etree._Element | bytes | str) -> DeviceConfig:
    """Read every anti-malware policy and binding in an XML configuration."""
    configuration = find_configuration(source)
    policies: list[ReadBack] = []
    warnings: list[str] = []
    for element in descend(
        configuration, "services", "advanced-anti-malware", "policy"
    ):
        result = read_policy(element)
        if isinstance(result, str):
            warnings.append(result)
        else:
            policies.append(result)
    bindings, binding_warnings = read_bindings(configuration)
    warnings.extend(binding_warnings)
    for message in warnings:
        logger.warning("%s", message)
    return DeviceConfig(tuple(policies), tuple(bindings), tuple(warnings))


def read_saved(data: bytes | str) -> DeviceConfig:
    """Read a saved configuration file in XML, curly-brace or ``set`` form.

    :raises ValueError: when the content is none of these
        (:class:`deviceio.junostext.ConfigSyntaxError` for bad text).
    """
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ValueError("The file is not UTF-8 text.") from exc
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return read_config(data if isinstance(data, bytes) else text)
    if _looks_like_set(stripped):
        return read_config(junostext.parse_set(text))
    return read_config(junostext.parse_text(text))


def _looks_like_set(text: str) -> bool:
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        return words[0] in ("set", "delete", "deactivate", "activate")
    return False


def read_policy(element: etree._Element) -> ReadBack | str:
    """Read one ``advanced-anti-malware policy`` element.

    :returns: the read-back, or a warning when the policy cannot be one of
        IMAP Desk's (its name breaks the policy name rules).
    """
    name = child_text(element, "name") or ""
    found = _Findings(fields={"name": name})
    _read_srx_side(element, found)
    managed = _read_macro(element, found)
    _report_extra(element, _POLICY_STATEMENTS, f"The policy {name}", found.warnings)
    if element.get("inactive") == "inactive":
        found.warnings.append(f"The policy {name} is inactive on the device.")
    return _build(found, managed)


def _read_srx_side(element: etree._Element, found: _Findings) -> None:
    name = found.fields["name"]
    imap = child(element, "imap")
    if imap is None:
        found.warnings.append(
            f"The policy {name} has no imap statement, so it does not inspect IMAP."
        )
        imap = etree.Element("imap")
    fallback = child(element, "fallback-options")
    if fallback is None:
        fallback = etree.Element("fallback-options")
    found.fields.update(
        inspection_profile=child_text(imap, "inspection-profile") or DEFAULT_PROFILE,
        verdict_threshold=child_text(element, "verdict-threshold") or DEFAULT_THRESHOLD,
        log_notifications=bool(descend(imap, "notification", "log")),
        fallback_action=child_text(fallback, "action") or DEFAULT_FALLBACK,
        fallback_log=bool(descend(fallback, "notification", "log")),
    )
    default_log = bool(descend(element, "default-notification", "log"))
    if default_log != found.fields["log_notifications"]:
        logged, unlogged = ("default", "IMAP") if default_log else ("IMAP", "default")
        found.warnings.append(
            f"The policy {name} logs {logged} notifications but not {unlogged} "
            "ones; IMAP Desk sets both with one switch."
        )


def _read_macro(element: etree._Element, found: _Findings) -> bool:
    macros = [
        m
        for m in children(element, "apply-macro")
        if child_text(m, "name") == macro.MACRO_NAME
    ]
    if not macros:
        found.unknown.update(macro.MACRO_FIELDS)
        return False
    data: dict[str, str | None] = {}
    for entry in children(macros[0], "data"):
        key = child_text(entry, "name")
        if key is not None:
            data[key] = child_text(entry, "value")
    fields, warnings = macro.decode_settings(data)
    found.fields.update(fields)
    found.warnings.extend(warnings)
    found.unknown.update(f for f in macro.MACRO_FIELDS if f not in fields)
    return True


def _build(found: _Findings, managed: bool) -> ReadBack | str:
    fields = dict(found.fields)
    for _attempt in range(3):
        try:
            policy = Policy.from_dict(fields)
        except ValidationError as exc:
            bad = {_field_of(key) for key in exc.errors}
            if "name" in bad:
                return (
                    f"The anti-malware policy {fields['name']!r} cannot be read: "
                    f"{exc.errors.get('name', 'its name is not valid')}"
                )
            for key, message in exc.errors.items():
                found.warnings.append(
                    f"The policy {fields['name']}: {key} is not usable ({message}); "
                    "it is shown with its default."
                )
            for name in bad:
                fields.pop(name, None)
                found.unknown.add(name)
            continue
        unknown = frozenset(found.unknown & set(FIELD_NAMES))
        return ReadBack(policy, unknown, tuple(found.warnings), managed)
    return f"The anti-malware policy {fields['name']!r} cannot be read."


def _field_of(error_key: str) -> str:
    match = _FIELD_RE.match(error_key)
    return match.group(0) if match else error_key


def _report_extra(
    element: etree._Element,
    allowed: dict[str, set[str]],
    what: str,
    warnings: list[str],
) -> None:
    extra = []
    for path, names in allowed.items():
        parts = path.split("/") if path else []
        for holder in descend(element, *parts):
            extra.extend(
                "/".join([*parts, local_name(k)])
                for k in children(holder)
                if local_name(k) not in names
            )
    foreign = [
        m
        for m in children(element, "apply-macro")
        if child_text(m, "name") != macro.MACRO_NAME
    ]
    extra.extend(f"apply-macro {child_text(m, 'name')}" for m in foreign)
    if extra:
        warnings.append(
            f"{what} holds statements IMAP Desk does not manage "
            f"({', '.join(sorted(set(extra)))}); a sync replaces them."
        )


def read_bindings(
    configuration: etree._Element,
) -> tuple[list[Binding], list[str]]:
    """Every zone-pair security policy applying an anti-malware policy."""
    bindings: list[Binding] = []
    warnings: list[str] = []
    for context in descend(configuration, "security", "policies", "policy"):
        from_zone = child_text(context, "from-zone-name") or ""
        to_zone = child_text(context, "to-zone-name") or ""
        for element in children(context, "policy"):
            binding = _read_binding(from_zone, to_zone, element, warnings)
            if binding is not None:
                bindings.append(binding)
    for element in descend(configuration, "security", "policies", "global", "policy"):
        if _aamw_name(element) is not None:
            warnings.append(
                f"The global security policy {child_text(element, 'name')} applies "
                "an anti-malware policy; IMAP Desk only manages zone-pair policies."
            )
    return bindings, warnings


def _aamw_name(element: etree._Element) -> str | None:
    path = ("then", "permit", "application-services", "advanced-anti-malware-policy")
    found = descend(element, *path)
    return (found[0].text or "").strip() if found else None


def _read_binding(
    from_zone: str, to_zone: str, element: etree._Element, warnings: list[str]
) -> Binding | None:
    aamw = _aamw_name(element)
    if aamw is None:
        return None
    name = child_text(element, "name") or ""
    what = f"The security policy {name} from {from_zone} to {to_zone}"
    ssl = descend(element, "then", "permit", "application-services", "ssl-proxy")
    profile = child_text(ssl[0], "profile-name") if ssl else None
    try:
        binding = Binding(
            from_zone,
            to_zone,
            name,
            aamw,
            profile,
            _match_values(element, "source-address", what, warnings),
            _match_values(element, "destination-address", what, warnings),
            _match_values(element, "application", what, warnings),
        )
    except ValueError as exc:
        warnings.append(f"{what} cannot be read: {exc}")
        return None
    _report_extra(element, _BINDING_STATEMENTS, what, warnings)
    if element.get("inactive") == "inactive":
        warnings.append(f"{what} is inactive on the device.")
    return binding


def _match_values(
    element: etree._Element, tag: str, what: str, warnings: list[str]
) -> tuple[str, ...]:
    values = tuple((e.text or "").strip() for e in descend(element, "match", tag))
    if values:
        return values
    warnings.append(f"{what} has no {tag}; IMAP Desk reads it as any.")
    return ANY
