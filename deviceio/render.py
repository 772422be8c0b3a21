"""Render IMAP policies and their bindings as Junos configuration XML.

A policy becomes ``services advanced-anti-malware policy <name>`` with its
IMAP statements and an ``apply-macro imapdesk`` carrying the settings Junos
has no statement for (see :mod:`deviceio.macro`). A :class:`Binding` becomes a
security policy that permits the traffic with the anti-malware policy
applied::

    security policies from-zone trust to-zone untrust policy imap-scan {
        match {
            source-address any;
            destination-address any;
            application [ junos-imap junos-imaps ];
        }
        then permit application-services {
            ssl-proxy profile-name imaps-proxy;
            advanced-anti-malware-policy imap-policy;
        }
    }

Junos refuses to commit a security policy without source, destination and
application, so a binding always renders ``match``; by default it matches any
address and the predefined IMAP (143) and IMAPS (993) applications.

Loading: each managed element (an anti-malware policy, a security policy)
carries ``replace="replace"``. Loaded with the ``replace`` action (PyEZ's
default for ``Config.load``), Junos swaps exactly that subtree and merges the
rest of the document, which holds only the path down to it; with the
``merge`` action the attribute is ignored. Removals carry
``delete="delete"``, which every action honours. Element names and their
order follow the 19.4R1 and 24.4R1 models.

A security policy added to a zone pair goes to the end of that pair's list,
after any policy that already matches the same traffic, unless its binding
names a policy to place it before (:attr:`Binding.place_before`): a sync that
creates it then loads it with ``insert="before" name="..."`` (see
:func:`deviceio.managed.place_new`). A security policy the device already
holds keeps its place; IMAP Desk never reorders one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from store.model import Policy

from . import junostext, macro

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
ADDRESS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}")
DEFAULT_APPLICATIONS = ("junos-imap", "junos-imaps")
ANY = ("any",)


@dataclass(frozen=True)
class Binding:
    """A security policy applying an anti-malware policy to a zone pair.

    :param policy_name: the security policy's name.
    :param aamw_policy: the anti-malware (IMAP) policy it applies.
    :param place_before: a security policy of the same zone pair that this
        one goes before when a sync creates it.
    :raises ValueError: when a name is not one Junos accepts.
    """

    from_zone: str
    to_zone: str
    policy_name: str
    aamw_policy: str
    ssl_proxy_profile: str | None = None
    source_addresses: tuple[str, ...] = ANY
    destination_addresses: tuple[str, ...] = ANY
    applications: tuple[str, ...] = DEFAULT_APPLICATIONS
    place_before: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.from_zone, "The source zone")
        _check_name(self.to_zone, "The destination zone")
        _check_name(self.policy_name, "The security policy name")
        _check_name(self.aamw_policy, "The anti-malware policy name")
        if self.ssl_proxy_profile is not None:
            _check_name(self.ssl_proxy_profile, "The SSL proxy profile name")
        if self.place_before is not None:
            _check_name(self.place_before, "The security policy to place it before")
            if self.place_before == self.policy_name:
                raise ValueError("A security policy cannot be placed before itself.")
        for attr, what in (
            ("source_addresses", "source address"),
            ("destination_addresses", "destination address"),
            ("applications", "application"),
        ):
            object.__setattr__(self, attr, _check_list(getattr(self, attr), what))

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the security policy on a device."""
        return (self.from_zone, self.to_zone, self.policy_name)


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is empty.")
    if not NAME_RE.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not valid: use 1 to 63 letters, digits, dots, "
            "hyphens and underscores, starting with a letter or digit."
        )


def _check_list(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"Give each {what} as a list item, not one string.")
    result = tuple(values)
    if not result:
        raise ValueError(f"Give at least one {what}.")
    for value in result:
        if not isinstance(value, str) or not ADDRESS_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what} name.")
    if len(set(result)) != len(result):
        raise ValueError(f"A {what} is listed twice.")
    return result


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _log(parent: etree._Element, tag: str) -> None:
    _sub(_sub(parent, tag), "log")


def policy_element(policy: Policy) -> etree._Element:
    """The ``policy`` element of ``policy`` under advanced-anti-malware."""
    element = etree.Element("policy")
    _sub(element, "name", policy.name)
    element.append(macro_element(policy))
    imap = _sub(element, "imap")
    _sub(imap, "inspection-profile", policy.inspection_profile)
    if policy.log_notifications:
        _log(imap, "notification")
    _sub(element, "verdict-threshold", policy.verdict_threshold)
    fallback = _sub(element, "fallback-options")
    _sub(fallback, "action", policy.fallback_action)
    if policy.fallback_log:
        _log(fallback, "notification")
    if policy.log_notifications:
        _log(element, "default-notification")
    return element


def macro_element(policy: Policy) -> etree._Element:
    """The ``apply-macro imapdesk`` element holding the ATP Cloud settings."""
    element = etree.Element("apply-macro")
    _sub(element, "name", macro.MACRO_NAME)
    for key, value in macro.encode_settings(policy):
        data = _sub(element, "data")
        _sub(data, "name", key)
        if value is not None:
            _sub(data, "value", value)
    return element


def binding_element(binding: Binding) -> etree._Element:
    """The inner security ``policy`` element of ``binding``."""
    element = etree.Element("policy")
    _sub(element, "name", binding.policy_name)
    match = _sub(element, "match")
    for tag, values in (
        ("source-address", binding.source_addresses),
        ("destination-address", binding.destination_addresses),
        ("application", binding.applications),
    ):
        for value in values:
            _sub(match, tag, value)
    permit = _sub(_sub(element, "then"), "permit")
    services = _sub(permit, "application-services")
    if binding.ssl_proxy_profile is not None:
        _sub(_sub(services, "ssl-proxy"), "profile-name", binding.ssl_proxy_profile)
    _sub(services, "advanced-anti-malware-policy", binding.aamw_policy)
    return element


def _aamw(configuration: etree._Element) -> etree._Element:
    services = _find_or_add(configuration, "services")
    return _find_or_add(services, "advanced-anti-malware")


def _zone_pair(
    configuration: etree._Element, from_zone: str, to_zone: str
) -> etree._Element:
    security = _find_or_add(configuration, "security")
    policies = _find_or_add(security, "policies")
    for context in policies.findall("policy"):
        zones = (context.findtext("from-zone-name"), context.findtext("to-zone-name"))
        if zones == (from_zone, to_zone):
            return context
    context = _sub(policies, "policy")
    _sub(context, "from-zone-name", from_zone)
    _sub(context, "to-zone-name", to_zone)
    return context


def _find_or_add(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.find(tag)
    return found if found is not None else _sub(parent, tag)


def _marked(element: etree._Element, operation: str) -> etree._Element:
    element.set(operation, operation)
    return element


def _removal(tag_name: str) -> etree._Element:
    element = etree.Element("policy")
    _sub(element, "name", tag_name)
    return _marked(element, "delete")


def render_policy(policy: Policy) -> etree._Element:
    """A ``configuration`` replacing exactly the policy's subtree."""
    return render_load([policy], [])


def render_binding(binding: Binding) -> etree._Element:
    """A ``configuration`` replacing exactly the binding's security policy."""
    return render_load([], [binding])


def render_policy_deletion(name: str) -> etree._Element:
    """A ``configuration`` deleting the anti-malware policy ``name``."""
    return render_load([], [], removed_policies=[name])


def render_binding_deletion(binding: Binding) -> etree._Element:
    """A ``configuration`` deleting the binding's security policy only."""
    return render_load([], [], removed_bindings=[binding])


def render_load(
    policies: Iterable[Policy],
    bindings: Iterable[Binding],
    removed_policies: Iterable[str] = (),
    removed_bindings: Iterable[Binding] = (),
) -> etree._Element:
    """One ``configuration`` for a load: policies and bindings to put in
    place (``replace="replace"``) and ones to take away (``delete="delete"``).

    :raises ValueError: for a name given twice, or a removed policy that a
        binding of the same load still applies.
    """
    policies = list(policies)
    bindings = list(bindings)
    removed_names = [_checked_removal(name) for name in removed_policies]
    removed_keys = [b.key for b in removed_bindings]
    _check_load(policies, bindings, removed_names, removed_keys)
    configuration = etree.Element("configuration")
    if policies or removed_names:
        aamw = _aamw(configuration)
        for policy in policies:
            aamw.append(_marked(policy_element(policy), "replace"))
        for name in removed_names:
            aamw.append(_removal(name))
    for binding in bindings:
        context = _zone_pair(configuration, binding.from_zone, binding.to_zone)
        context.append(_marked(binding_element(binding), "replace"))
    for from_zone, to_zone, name in removed_keys:
        _zone_pair(configuration, from_zone, to_zone).append(_removal(name))
    return configuration


def _check_load(
    policies: list[Policy],
    bindings: list[Binding],
    removed_names: list[str],
    removed_keys: list[tuple[str, str, str]],
) -> None:
    _check_unique([p.name for p in policies] + removed_names, "anti-malware policy")
    _check_unique([b.key for b in bindings] + removed_keys, "security policy")
    still_used = {b.aamw_policy for b in bindings} & set(removed_names)
    if still_used:
        raise ValueError(
            f"The policy {sorted(still_used)[0]} is removed but a binding in the "
            "same change still applies it."
        )


def _checked_removal(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid anti-malware policy name.")
    return name


def _check_unique(keys: list, what: str) -> None:
    seen = set()
    for key in keys:
        if key in seen:
            shown = " ".join(key) if isinstance(key, tuple) else key
            raise ValueError(f"The {what} {shown} appears twice in one change.")
        seen.add(key)


def to_xml(configuration: etree._Element) -> str:
    """Indented XML text of a configuration, for display and export."""
    return etree.tostring(configuration, pretty_print=True, encoding="unicode")


EXPORT_FORMATS = ("xml", "set", "text")


def export(policy: Policy, bindings: Iterable[Binding] = (), fmt: str = "text") -> str:
    """The load for ``policy`` and its ``bindings`` as xml, set or text.

    :raises ValueError: for another format.
    """
    configuration = render_load([policy], bindings)
    if fmt == "xml":
        return to_xml(configuration)
    if fmt == "set":
        return junostext.to_set(configuration)
    if fmt == "text":
        return junostext.to_text(configuration)
    raise ValueError(f"Unknown export format {fmt!r}; use xml, set or text.")
