"""Lookups and copies over Junos configuration XML as lxml elements.

Junos returns configuration without namespaces, but a reply may carry a
default namespace or ``junos:`` attributes, so every lookup here goes by
local name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from lxml import etree

logger = logging.getLogger(__name__)

# attributes that steer a load instead of holding configuration
OPERATION_ATTRS = ("replace", "delete", "operation", "insert", "active")

# statements that may repeat with different values (YANG leaf-lists) among
# those IMAP Desk reads and writes
LEAF_LISTS = frozenset(
    {
        "source-address",
        "destination-address",
        "application",
        "source-identity",
        "dynamic-application",
        "url-category",
        "from-zone",
        "to-zone",
        "apply-groups",
        "apply-groups-except",
    }
)
# children that identify an entry of a list
KEY_TAGS = ("name", "from-zone-name", "to-zone-name")

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_comments=True, huge_tree=True
)


def local_name(element: etree._Element) -> str:
    """The tag of ``element`` without its namespace."""
    return etree.QName(element).localname


def children(element: etree._Element, name: str | None = None) -> list:
    """The element children of ``element``, optionally only those named so."""
    return [
        child
        for child in element
        if isinstance(child.tag, str) and (name is None or local_name(child) == name)
    ]


def child(element: etree._Element, name: str) -> etree._Element | None:
    """The first element child called ``name``, or None."""
    found = children(element, name)
    return found[0] if found else None


def child_text(element: etree._Element, name: str) -> str | None:
    """The text of the first child called ``name``; None when it is absent."""
    found = child(element, name)
    if found is None:
        return None
    return found.text or ""


def descend(element: etree._Element, *names: str) -> list:
    """Every element reached from ``element`` through children ``names``."""
    current = [element]
    for name in names:
        current = [c for parent in current for c in children(parent, name)]
    return current


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse XML text safely (no entities, no network).

    :raises ValueError: when the text is not well-formed XML.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"This is not well-formed XML: {exc}") from exc


def find_configuration(source: etree._Element | bytes | str) -> etree._Element:
    """Return the ``configuration`` element in ``source`` (itself or within).

    :raises ValueError: when there is none.
    """
    root = source if isinstance(source, etree._Element) else parse_xml(source)
    for element in root.iter(etree.Element):
        if local_name(element) == "configuration":
            return element
    raise ValueError("The XML holds no <configuration> element.")


def plain_copy(element: etree._Element) -> etree._Element:
    """A copy of ``element`` with local names only and no attributes.

    Comments and processing instructions are dropped; leaf text is kept and
    whitespace between child elements is not.
    """
    copy = etree.Element(local_name(element))
    kids = children(element)
    if not kids:
        copy.text = element.text
    for kid in kids:
        copy.append(plain_copy(kid))
    return copy


def operation(element: etree._Element) -> str | None:
    """The Junos load operation an element carries: replace, delete or None.

    Understands ``replace="replace"``, ``delete="delete"`` and the NETCONF
    ``operation`` attribute (replace, delete, remove; merge and create merge).
    """
    for name, value in element.attrib.items():
        attr = etree.QName(name).localname
        if attr == "delete":
            return "delete"
        if attr == "replace":
            return "replace"
        if attr == "operation":
            if value in ("delete", "remove"):
                return "delete"
            if value == "replace":
                return "replace"
    return None


def walk(element: etree._Element) -> Iterator[etree._Element]:
    """Every element below ``element`` (itself excluded), document order."""
    for kid in children(element):
        yield kid
        yield from walk(kid)
