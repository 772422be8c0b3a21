"""The part of a device's configuration IMAP Desk manages, as keyed elements.

Two kinds of element are managed, each identified by a key:

- ``("aamw", name)``: ``services advanced-anti-malware policy <name>``;
- ``("security-policy", from_zone, to_zone, name)``: ``security policies
  from-zone <from_zone> to-zone <to_zone> policy <name>``.

:func:`extract` reads them out of any ``configuration`` (a device reply, a
stored ``last_synced``, a rendered load); :func:`build` puts a set of them
back into one ``configuration`` in a stable order, which is the XML text
stored as ``last_synced``. Comparisons go through :func:`canonical`, which
ignores namespaces, Junos metadata attributes, whitespace and the order of
children inside an element (none of which changes what the device does) but
keeps ``inactive``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from copy import deepcopy

from lxml import etree

from . import junostext
from .tree import child_text, children, descend, find_configuration, local_name
from .tree import operation as load_operation

Key = tuple[str, ...]
Elements = dict[Key, etree._Element]

AAMW = "aamw"
SECURITY_POLICY = "security-policy"


def policy_key(name: str) -> Key:
    """The key of the anti-malware policy ``name``."""
    return (AAMW, name)


def binding_key(from_zone: str, to_zone: str, name: str) -> Key:
    """The key of a security policy in a zone pair."""
    return (SECURITY_POLICY, from_zone, to_zone, name)


def describe(key: Key) -> str:
    """The key as a Junos hierarchy, for messages."""
    if key[0] == AAMW:
        return f"services advanced-anti-malware policy {key[1]}"
    return f"security policies from-zone {key[1]} to-zone {key[2]} policy {key[3]}"


def _entries(configuration: etree._Element) -> Iterable[tuple[Key, etree._Element]]:
    for element in descend(configuration, "services", "advanced-anti-malware"):
        for entry in children(element, "policy"):
            name = child_text(entry, "name")
            if name:
                yield policy_key(name), entry
    for context in descend(configuration, "security", "policies", "policy"):
        from_zone = child_text(context, "from-zone-name")
        to_zone = child_text(context, "to-zone-name")
        if not from_zone or not to_zone:
            continue
        for entry in children(context, "policy"):
            name = child_text(entry, "name")
            if name:
                yield binding_key(from_zone, to_zone, name), entry


def extract(source: etree._Element | str | bytes | None) -> Elements:
    """The managed elements in ``source``, by key, as clean copies.

    Elements a load marks ``delete`` are left out (see :func:`deletions`).
    """
    if source is None or (isinstance(source, str | bytes) and not source.strip()):
        return {}
    configuration = find_configuration(source)
    found: Elements = {}
    for key, entry in _entries(configuration):
        if load_operation(entry) == "delete":
            continue
        found[key] = _clean(entry)
    return found


def deletions(load: etree._Element) -> set[Key]:
    """Keys of the elements a load document marks ``delete``."""
    configuration = find_configuration(load)
    return {key for key, e in _entries(configuration) if load_operation(e) == "delete"}


def drop_deletions(load: etree._Element, keys: set[Key]) -> etree._Element:
    """A copy of ``load`` without the deletions of ``keys`` (and without the
    containers they leave empty)."""
    copy = deepcopy(load)
    configuration = find_configuration(copy)
    for key, entry in list(_entries(configuration)):
        if key not in keys or load_operation(entry) != "delete":
            continue
        parent = entry.getparent()
        parent.remove(entry)
        if key[0] == SECURITY_POLICY and not children(parent, "policy"):
            grandparent = parent.getparent()
            grandparent.remove(parent)
            parent = grandparent
        while parent is not configuration and not children(parent):
            grandparent = parent.getparent()
            grandparent.remove(parent)
            parent = grandparent
    return copy


def place_new(load: etree._Element, placements: Mapping[Key, str]) -> etree._Element:
    """A copy of ``load`` in which each security policy of ``placements`` is
    created before the policy named there, in its zone pair.

    Only for security policies the device does not hold yet: the element
    loses ``replace="replace"`` (there is nothing to replace) and gains
    Junos' ``insert="before" name="<policy>"``. Within a zone pair, a policy
    named there that the load also holds is moved ahead of the one placed
    before it: Junos can only insert before a policy that exists by then.

    :raises ValueError: when the placements go round in a circle.
    """
    check_placements(placements)
    copy = deepcopy(load)
    configuration = find_configuration(copy)
    for key, entry in _entries(configuration):
        before = placements.get(key)
        if before is None or key[0] != SECURITY_POLICY:
            continue
        entry.attrib.pop("replace", None)
        entry.set("insert", "before")
        entry.set("name", before)
    for context in descend(configuration, "security", "policies", "policy"):
        _order_referents_first(context, placements)
    return copy


def check_placements(placements: Mapping[Key, str]) -> None:
    """Refuse security policies placed before one another in a circle.

    :raises ValueError: naming the policies of the first circle found.
    """
    for start in sorted(placements):
        if start[0] != SECURITY_POLICY:
            continue
        chain = [start[3]]
        key = start
        while key in placements and len(chain) <= len(placements):
            key = binding_key(key[1], key[2], placements[key])
            chain.append(key[3])
            if key == start:
                raise ValueError(
                    f"In the zone pair from {start[1]} to {start[2]}, the "
                    "security policies are placed in a circle: "
                    + " before ".join(chain)
                    + "."
                )


def _order_referents_first(
    context: etree._Element, placements: Mapping[Key, str]
) -> None:
    """Move the policies of a zone pair so that each comes after the policy
    of the same load it is placed before; otherwise keep their order."""
    from_zone = child_text(context, "from-zone-name") or ""
    to_zone = child_text(context, "to-zone-name") or ""
    entries = children(context, "policy")
    position = {child_text(e, "name"): i for i, e in enumerate(entries)}
    order: list[int] = []

    def visit(i: int) -> None:
        if i in order:
            return
        name = child_text(entries[i], "name") or ""
        before = placements.get(binding_key(from_zone, to_zone, name))
        if before and before in position:
            visit(position[before])
        order.append(i)

    for i in range(len(entries)):
        visit(i)
    slots = [context.index(e) for e in entries]
    for entry in entries:
        context.remove(entry)
    for slot, i in zip(slots, order, strict=True):
        context.insert(slot, entries[i])


def keys_in(source: etree._Element | str | bytes | None) -> set[Key]:
    """Every managed key in ``source``, deletions included."""
    if source is None or (isinstance(source, str | bytes) and not source.strip()):
        return set()
    return {key for key, _e in _entries(find_configuration(source))}


def _clean(element: etree._Element) -> etree._Element:
    copy = etree.Element(local_name(element))
    for name, value in element.attrib.items():
        if etree.QName(name).localname == "inactive":
            copy.set("inactive", value)
    kids = children(element)
    if not kids:
        copy.text = (element.text or "").strip() or None
    for kid in kids:
        copy.append(_clean(kid))
    return copy


def canonical(element: etree._Element | None) -> bytes | None:
    """A byte string equal for two elements exactly when they configure the
    same thing; None for None."""
    if element is None:
        return None
    return _canonical_text(element).encode()


def _canonical_text(element: etree._Element) -> str:
    # XML-like text with children in sorted order, built as strings: sorting
    # serialised copies at every level was most of the cost of comparing
    attributes = "".join(
        f' {name}="{_escape(value)}"' for name, value in sorted(element.attrib.items())
    )
    kids = sorted(_canonical_text(kid) for kid in element if isinstance(kid.tag, str))
    text = _escape(element.text or "")
    return f"<{element.tag}{attributes}>{text}{''.join(kids)}</{element.tag}>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def differing(
    a: Mapping[Key, etree._Element],
    b: Mapping[Key, etree._Element],
    keys: Iterable[Key] | None = None,
) -> list[Key]:
    """The keys whose elements differ between ``a`` and ``b`` (sorted)."""
    wanted = set(a) | set(b) if keys is None else set(keys)
    return sorted(k for k in wanted if canonical(a.get(k)) != canonical(b.get(k)))


def build(elements: Mapping[Key, etree._Element]) -> etree._Element:
    """One ``configuration`` holding ``elements`` in key order."""
    configuration = etree.Element("configuration")
    contexts: dict[tuple[str, str], etree._Element] = {}
    for key in sorted(elements):
        entry = _clean(elements[key])
        if key[0] == AAMW:
            aamw = _child(_child(configuration, "services"), "advanced-anti-malware")
            aamw.append(entry)
            continue
        _zone_pair(configuration, contexts, key[1], key[2]).append(entry)
    return configuration


def _zone_pair(
    configuration: etree._Element,
    contexts: dict[tuple[str, str], etree._Element],
    from_zone: str,
    to_zone: str,
) -> etree._Element:
    """The ``security policies policy`` of a zone pair, made on first use."""
    if (from_zone, to_zone) not in contexts:
        policies = _child(_child(configuration, "security"), "policies")
        context = etree.SubElement(policies, "policy")
        etree.SubElement(context, "from-zone-name").text = from_zone
        etree.SubElement(context, "to-zone-name").text = to_zone
        contexts[from_zone, to_zone] = context
    return contexts[from_zone, to_zone]


def _child(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.find(tag)
    return found if found is not None else etree.SubElement(parent, tag)


def to_xml_text(elements: Mapping[Key, etree._Element]) -> str:
    """The elements as the XML text stored as ``last_synced``."""
    return etree.tostring(build(elements), pretty_print=True, encoding="unicode")


def subtree_filter(keys: Iterable[Key]) -> etree._Element:
    """A ``get-configuration`` subtree filter selecting exactly ``keys``."""
    configuration = etree.Element("configuration")
    contexts: dict[tuple[str, str], etree._Element] = {}
    for key in sorted(set(keys)):
        if key[0] == AAMW:
            aamw = _child(_child(configuration, "services"), "advanced-anti-malware")
            etree.SubElement(etree.SubElement(aamw, "policy"), "name").text = key[1]
            continue
        entry = etree.SubElement(
            _zone_pair(configuration, contexts, key[1], key[2]), "policy"
        )
        etree.SubElement(entry, "name").text = key[3]
    return configuration


def diff_text(
    old: Mapping[Key, etree._Element],
    new: Mapping[Key, etree._Element],
    old_label: str = "last synced",
    new_label: str = "device",
) -> str:
    """A unified diff of the two sets as Junos curly-brace text ("" if same)."""
    if not differing(old, new):
        return ""
    before = junostext.to_text(build(old)).splitlines(keepends=True)
    after = junostext.to_text(build(new)).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, old_label, new_label))
