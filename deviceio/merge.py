"""Apply a Junos XML load to a configuration, the way a device would.

:func:`apply_load` follows the rules Junos documents for
``<load-configuration>`` with XML data:

- ``merge``: a statement of the load that the configuration lacks is added;
  one it has is merged child by child, a leaf's value replacing the old one
  and a leaf-list gaining values; ``replace="replace"`` is ignored.
- ``replace`` (PyEZ's default): as merge, except that an element carrying
  ``replace="replace"`` (or ``operation="replace"``) takes the place of the
  existing one whole.
- ``override``: the load becomes the whole configuration.

In every action an element carrying ``delete="delete"`` (or ``operation``
``delete``/``remove``) removes the matching statement, ``inactive="inactive"``
deactivates one and ``active="active"`` activates it again.

Statements are matched by tag and, for list entries, by their keys
(``name``, or ``from-zone-name`` with ``to-zone-name``); the values of a
leaf-list are matched by value. Without the schema, a repeated leaf is a
leaf-list only when :data:`deviceio.tree.LEAF_LISTS` names it. New statements
go to the end of their parent: ``insert`` attributes are not honoured. Both
configurations are left untouched.
"""

from __future__ import annotations

import copy
import logging

from lxml import etree

from .tree import (
    KEY_TAGS,
    LEAF_LISTS,
    children,
    find_configuration,
    local_name,
    operation,
)

logger = logging.getLogger(__name__)

ACTIONS = ("merge", "replace", "override")


def apply_load(
    running: etree._Element, load: etree._Element, action: str = "replace"
) -> etree._Element:
    """Return a new ``configuration``: ``running`` with ``load`` applied.

    :param action: ``merge``, ``replace`` or ``override``, as the ``action``
        of ``<load-configuration>``.
    :raises ValueError: for another action, or input without a configuration.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown load action {action!r}; use one of {ACTIONS}.")
    source = find_configuration(load)
    if action == "override":
        result = etree.Element("configuration")
        for kid in children(source):
            if operation(kid) != "delete":
                result.append(_clean(kid))
        return result
    result = copy.deepcopy(find_configuration(running))
    _merge_children(result, source, honour_replace=action == "replace")
    return result


def _identity(element: etree._Element) -> tuple:
    tag = local_name(element)
    kids = children(element)
    keys = tuple(
        (k, _text(found))
        for k in KEY_TAGS
        if (found := _key_child(element, k)) is not None
    )
    if keys:
        return (tag, keys)
    if not kids and tag in LEAF_LISTS:
        return (tag, _text(element))
    return (tag,)


def _key_child(element: etree._Element, name: str) -> etree._Element | None:
    for kid in children(element, name):
        if not children(kid):
            return kid
    return None


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _merge_children(
    target: etree._Element, source: etree._Element, *, honour_replace: bool
) -> None:
    for item in children(source):
        _merge_one(target, item, honour_replace=honour_replace)


def _merge_one(
    target: etree._Element, item: etree._Element, *, honour_replace: bool
) -> None:
    op = operation(item)
    if op == "delete":
        _delete(target, item)
        return
    existing = _find(target, item)
    if existing is None:
        target.append(_clean(item))
        return
    if op == "replace" and honour_replace:
        target.replace(existing, _clean(item))
        return
    _activation(existing, item)
    if children(item):
        _merge_children(existing, item, honour_replace=honour_replace)
    elif not children(existing) and item.text is not None:
        existing.text = item.text


def _find(target: etree._Element, item: etree._Element) -> etree._Element | None:
    wanted = _identity(item)
    for kid in children(target):
        if _identity(kid) == wanted:
            return kid
    return None


def _delete(target: etree._Element, item: etree._Element) -> None:
    tag = local_name(item)
    if tag in LEAF_LISTS and not children(item) and not _text(item):
        doomed = children(target, tag)
    else:
        found = _find(target, item)
        doomed = [found] if found is not None else []
    if not doomed:
        logger.debug("nothing to delete for %s", tag)
    for element in doomed:
        target.remove(element)


def _activation(existing: etree._Element, item: etree._Element) -> None:
    if item.get("inactive") == "inactive":
        existing.set("inactive", "inactive")
    elif item.get("active") == "active":
        existing.attrib.pop("inactive", None)


def _clean(element: etree._Element) -> etree._Element:
    """A copy of ``element`` without load attributes or deleted children."""
    result = etree.Element(local_name(element))
    if element.get("inactive") == "inactive":
        result.set("inactive", "inactive")
    kids = children(element)
    if not kids:
        result.text = element.text
    for kid in kids:
        if operation(kid) != "delete":
            result.append(_clean(kid))
    return result
