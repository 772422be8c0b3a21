"""Junos configuration trees: load, filter, print and compare.

A configuration is an lxml ``<configuration>`` element in Junos' native XML
(no namespaces).  Everything here is pure: functions take trees and return
trees or text, and raise ``LoadError`` for input Junos would reject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from copy import deepcopy

from lxml import etree

from .schema import LEAF_LIKE, ROOT, Node, group_of

INDENT = "    "


class LoadError(Exception):
    """Input the device refuses, with the element or word it choked on."""

    def __init__(self, message: str, bad_element: str | None = None, path=None):
        super().__init__(message)
        self.message = message
        self.bad_element = bad_element
        self.path = path


# -- identity of elements ----------------------------------------------------


def _children(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def is_leaf(el: etree._Element) -> bool:
    return not _children(el)


def identity(el: etree._Element, node: Node | None) -> tuple:
    """What makes ``el`` the same statement as another of its siblings."""
    tag = el.tag
    if node is not None and node.kind in ("list", "macro"):
        return (tag,) + tuple((el.findtext(k) or "").strip() for _, k in node.keys)
    if node is not None and node.kind == "leaf-list":
        return (tag, (el.text or "").strip())
    if node is None and not is_leaf(el):
        name = el.find("name")
        if name is not None:
            return (tag, (name.text or "").strip())
    if node is None and tag == "data":
        return (tag, (el.findtext("name") or "").strip())
    return (tag,)


def key_tags(node: Node | None, el: etree._Element) -> tuple[str, ...]:
    if node is not None and node.kind in ("list", "macro"):
        return tuple(k for _, k in node.keys)
    if node is None and not is_leaf(el) and el.find("name") is not None:
        return ("name",)
    return ()


def child_node(node: Node | None, tag: str) -> Node | None:
    if node is None:
        return None
    if node.kind == "macro" and tag == "data":
        return Node("list", "data", keys=((None, "name"),))
    return node.by_tag(tag)


def find_same(parent: etree._Element, el: etree._Element, node: Node | None):
    ident = identity(el, node)
    for candidate in parent:
        if candidate.tag == el.tag and identity(candidate, node) == ident:
            return candidate
    return None


# -- cleaning and canonical form ---------------------------------------------


def clean(el: etree._Element) -> etree._Element:
    """Return a copy without namespaces, comments and Junos attributes."""
    copy = deepcopy(el)
    for node in copy.iter():
        if not isinstance(node.tag, str):
            continue
        node.tag = _local(node.tag)
        node.attrib.clear()
    for comment in copy.xpath("//comment() | //processing-instruction()"):
        comment.getparent().remove(comment)
    etree.cleanup_namespaces(copy)
    _strip_space(copy)
    return copy


def _outline(el: etree._Element) -> etree._Element:
    """``el`` cleaned as :func:`clean` cleans it, down to its children only.

    That is all :func:`identity`, :func:`key_tags` and a leaf's value need,
    without copying the statements below ``el`` at every level of a merge.
    """
    out = etree.Element(_local(el.tag))
    kids = _children(el)
    if not kids:
        out.text = (el.text or "").strip() or None
    for kid in kids:
        sub = etree.SubElement(out, _local(kid.tag))
        if not _children(kid):
            sub.text = (kid.text or "").strip() or None
    return out


def _strip_space(el: etree._Element) -> None:
    for node in el.iter():
        if _children(node):
            node.text = None
        elif node.text is not None:
            node.text = node.text.strip() or None
        node.tail = None


def canonical(config: etree._Element) -> bytes:
    """Bytes that are equal exactly when two configurations are."""
    return etree.tostring(_sorted(config, ROOT))


def _sorted(el: etree._Element, node: Node | None) -> etree._Element:
    out = etree.Element(el.tag)
    out.text = el.text if is_leaf(el) else None
    kids = []
    for child in _children(el):
        sub = child_node(node, child.tag)
        kids.append((repr(identity(child, sub)), _sorted(child, sub)))
    for _, kid in sorted(kids, key=lambda pair: pair[0]):
        out.append(kid)
    return out


def same(a: etree._Element, b: etree._Element) -> bool:
    return canonical(a) == canonical(b)


# -- loading XML -------------------------------------------------------------


def _operation(el: etree._Element) -> str | None:
    for name, value in el.attrib.items():
        local = _local(name)
        if local == "operation":
            return value
        if local in ("delete", "replace", "merge") and value == local:
            return local
    return None


def merge_xml(
    target: etree._Element,
    source: etree._Element,
    node: Node | None = ROOT,
) -> list[str]:
    """Merge ``source`` into ``target`` as Junos ``load merge`` does.

    Elements marked ``delete="delete"`` (or NETCONF ``operation="delete"``)
    are removed, elements marked ``replace="replace"`` replace their peer.
    Deleting a statement the configuration does not hold changes nothing and
    warns ``statement not found``, however deep the statement sits.  An
    element with ``insert`` (``first``, ``last``, or ``before``/``after``
    with its referent's keys as attributes, ``name="..."``) is put, or
    moved, there among its peers; a referent the configuration lacks is
    refused.  Returns the warnings.
    """
    warnings: list[str] = []
    for child in _children(source):
        tag = _local(child.tag)
        sub = child_node(node, tag)
        op = _operation(child)
        plain = _outline(child)
        existing = find_same(target, plain, sub)
        if op in ("delete", "remove"):
            warnings.extend(_delete_xml(target, existing, plain, sub))
            continue
        if existing is None:
            existing = _built(child, plain, sub, warnings)
            if existing is not None:
                target.append(existing)
        elif op == "replace":
            built = _built(child, plain, sub, warnings, keep=True)
            target.replace(existing, built)
            existing = built
        elif is_leaf(plain) and (sub is None or sub.kind in LEAF_LIKE):
            existing.text = plain.text
        else:
            warnings.extend(merge_xml(existing, child, sub))
        if existing is not None and _attribute(child, "insert") is not None:
            _insert(target, existing, child, sub)
    return warnings


def _attribute(el: etree._Element, local: str) -> str | None:
    for name, value in el.attrib.items():
        if _local(name) == local:
            return value
    return None


def _insert(target, statement, child, sub) -> None:
    """Move ``statement`` among its peers in ``target`` as ``child`` asks."""
    where = _attribute(child, "insert")
    peers = [c for c in target if c.tag == statement.tag and c is not statement]
    if where == "first":
        anchor = peers[0] if peers else None
        if anchor is not None:
            anchor.addprevious(statement)
        return
    if where == "last":
        if peers:
            peers[-1].addnext(statement)
        return
    if where not in ("before", "after"):
        raise LoadError(f"invalid insert value {where!r}", _local(child.tag))
    keys = key_tags(sub, statement)
    wanted = tuple(_attribute(child, k) for k in keys)
    if not keys or None in wanted:
        raise LoadError("missing attribute for insert", _local(child.tag))
    for peer in peers:
        if tuple((peer.findtext(k) or "").strip() for k in keys) == wanted:
            if where == "before":
                peer.addprevious(statement)
            else:
                peer.addnext(statement)
            return
    raise LoadError(
        f"statement not found: {_local(child.tag)} {' '.join(wanted)}",
        _local(child.tag),
    )


def _delete_xml(target, existing, plain, sub) -> list[str]:
    """Delete ``existing`` (every value, for a leaf-list named without one)."""
    doomed = [existing] if existing is not None else []
    if sub is not None and sub.kind == "leaf-list" and not plain.text:
        doomed = [c for c in target if c.tag == plain.tag]
    if not doomed:
        return ["statement not found"]
    for statement in doomed:
        target.remove(statement)
    prune(target)
    return []


def _built(child, plain, sub, warnings, keep=False) -> etree._Element | None:
    """A new statement made from ``child``, without what it marks for deletion.

    ``None`` when everything inside ``child`` was a deletion (of statements
    not held, since the statement is new): Junos creates nothing on the way
    to a statement it cannot find.  With ``keep`` the statement is returned
    even then, as it replaces a peer.
    """
    if is_leaf(plain):
        return plain
    built = etree.Element(plain.tag)
    warnings.extend(merge_xml(built, child, sub))
    keys = key_tags(sub, plain)
    asked = [c for c in _children(plain) if c.tag not in keys]
    if keep or not asked or any(c.tag not in keys for c in built):
        return built
    return None


def load_xml(
    candidate: etree._Element, config: etree._Element, action: str
) -> tuple[etree._Element, list[str]]:
    """Apply a ``<configuration>`` element with a Junos load action."""
    if _local(config.tag) != "configuration":
        raise LoadError("syntax error", bad_element=_local(config.tag))
    if action in ("override", "update"):
        return clean(config), []
    result = deepcopy(candidate)
    warnings = merge_xml(result, config, ROOT)
    return result, warnings


# -- tokens, set commands and curly-brace text -------------------------------

_TOKEN = re.compile(
    r"(?P<nl>\n)|(?P<space>[ \t\r\f]+)|(?P<comment>/\*.*?\*/|#[^\n]*)"
    r'|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<punct>[{};\[\]])'
    r'|(?P<word>[^\s{};\[\]"]+)',
    re.S,
)


def tokenize(text: str) -> Iterator[str]:
    """Split Junos text into words, quoted strings, punctuation and newlines.

    Quoted strings come back with a leading NUL so that ``"set"`` stays a
    value; comments (``/* */`` and ``#`` to the end of the line) are dropped.
    """
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise LoadError("syntax error", bad_element=text[pos : pos + 20])
        pos = match.end()
        kind = match.lastgroup
        if kind == "nl":
            yield "\n"
        elif kind == "quoted":
            yield "\x00" + re.sub(r'\\(["\\])', r"\1", match.group()[1:-1])
        elif kind in ("punct", "word"):
            yield match.group()
    yield "\n"


def _word(token: str) -> str:
    return token[1:] if token.startswith("\x00") else token


def _values(words: list[str]) -> list[str]:
    if words and words[0] == "[":
        if words[-1] != "]":
            raise LoadError("syntax error", bad_element=words[-1])
        return [_word(w) for w in words[1:-1]]
    return [_word(w) for w in words]


class Path:
    """Where a set command or text statement lands in the tree."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, list[tuple[str, str]], Node | None]] = []
        self.leaf: tuple[str, list[str], Node | None] | None = None
        self.node: Node | None = ROOT

    def words(self) -> list[str]:
        return [tag for tag, _, _ in self.steps]


def resolve(words: list[str], node: Node | None, block: bool = False) -> Path:
    """Interpret the words of one statement starting at schema ``node``.

    Unknown keywords follow a rule of thumb: a last word alone is an empty
    leaf, a last pair is a leaf and its value, an unknown word followed by a
    block is a container, or a list entry when a single word sits between
    it and the block.
    """
    path = Path()
    path.node = node
    if node is not None and node.kind == "macro" and words:
        _macro_data(path, words)
        return path
    i = 0
    while i < len(words):
        i = _resolve_word(path, words, i, block)
    return path


def _resolve_word(path: Path, words: list[str], i: int, block: bool) -> int:
    """Consume the statement word at ``i``; return where the next one starts."""
    word, rest, node = _word(words[i]), words[i + 1 :], path.node
    sub = node.child(word) if node is not None else None
    if sub is None and node is not None and node.hidden is not None:
        sub = node.hidden
        path.steps.append((sub.tag, [(sub.keys[0][1], word)], sub))
        path.node = sub
        return i + 1
    if sub is None:
        return _resolve_unknown(path, word, rest, block, i)
    if sub.grouped and block and not rest:
        path.node = group_of(sub)
        return len(words)
    if sub.kind in ("list", "macro"):
        keys, i = _take_keys(words, i + 1, sub)
        path.steps.append((sub.tag, keys, sub))
        path.node = sub
        if sub.kind == "macro" and i < len(words):
            _macro_data(path, words[i:])
            return len(words)
        return i
    if sub.kind in LEAF_LIKE:
        path.leaf = (sub.tag, _values(rest), sub)
        return len(words)
    path.steps.append((sub.tag, [], sub))
    path.node = sub
    return i + 1


def _resolve_unknown(path: Path, word: str, rest: list, block: bool, i: int) -> int:
    end = i + 1 + len(rest)
    if not rest:
        path.leaf = (word, [], None)
    elif rest[0] == "[":
        path.leaf = (word, _values(rest), None)
    elif len(rest) == 1 and not block:
        path.leaf = (word, [_word(rest[0])], None)
    elif len(rest) == 1:
        path.steps.append((word, [("name", _word(rest[0]))], None))
        path.node = None
    else:
        path.steps.append((word, [], None))
        path.node = None
        return i + 1
    return end


def _macro_data(path: Path, words: list[str]) -> None:
    data = Node("list", "data", keys=((None, "name"),))
    path.steps.append(("data", [("name", _word(words[0]))], data))
    value = [_word(w) for w in words[1:]]
    if value:
        path.leaf = ("value", value[:1], Node("leaf", "value"))
    path.node = data


def _take_keys(words: list[str], i: int, node: Node) -> tuple[list, int]:
    keys = []
    for keyword, tag in node.keys:
        if keyword is not None:
            if i >= len(words) or _word(words[i]) != keyword:
                raise LoadError("syntax error", bad_element=keyword)
            i += 1
        if i >= len(words):
            raise LoadError("syntax error", bad_element=node.tag)
        keys.append((tag, _word(words[i])))
        i += 1
    return keys, i


def _ensure(parent: etree._Element, tag: str, keys: list, node: Node | None):
    probe = etree.Element(tag)
    for ktag, value in keys:
        etree.SubElement(probe, ktag).text = value
    found = find_same(parent, probe, node)
    if found is not None:
        return found
    parent.append(probe)
    return probe


def _walk(root: etree._Element, path: Path, create: bool):
    el = root
    for tag, keys, node in path.steps:
        if create:
            el = _ensure(el, tag, keys, node)
            continue
        probe = etree.Element(tag)
        for ktag, value in keys:
            etree.SubElement(probe, ktag).text = value
        el = find_same(el, probe, node)
        if el is None:
            return None
    return el


def _set_leaf(
    el: etree._Element, leaf: tuple, bare: bool = False
) -> list[etree._Element]:
    """Set a leaf (or leaf-list values) under ``el``; return the elements.

    ``bare`` lets a leaf that needs a value come without one, as in the text
    statement ``delete: verdict-threshold;``.
    """
    tag, values, node = leaf
    if node is not None and node.kind == "leaf-list":
        if bare and not values:
            return [etree.SubElement(el, tag)]
        touched = []
        for value in values:
            probe = etree.Element(tag)
            probe.text = value
            found = find_same(el, probe, node)
            if found is None:
                el.append(probe)
                found = probe
            touched.append(found)
        return touched
    if node is not None and node.kind == "leaf" and not values and not bare:
        raise LoadError("syntax error", bad_element=tag)
    existing = el.find(tag)
    if existing is None:
        existing = etree.SubElement(el, tag)
    existing.text = values[0] if values else None
    return [existing]


def prune(el: etree._Element | None) -> None:
    """Remove containers a deletion left empty, as Junos does."""
    while el is not None and el.getparent() is not None and not len(el):
        parent = el.getparent()
        parent.remove(el)
        el = parent


def _delete(root: etree._Element, path: Path) -> bool:
    el = _walk(root, path, create=False)
    if el is None:
        return False
    if path.leaf is None:
        parent = el.getparent()
        if parent is None:
            for child in list(el):
                el.remove(child)
        else:
            parent.remove(el)
            prune(parent)
        return True
    tag, values, node = path.leaf
    peers = [c for c in el if c.tag == tag]
    if node is not None and node.kind == "leaf-list" and values:
        peers = [c for c in peers if (c.text or "") in values]
    for peer in peers:
        el.remove(peer)
    prune(el)
    return bool(peers)


def _statements(text: str) -> Iterator[list[str]]:
    words: list[str] = []
    for token in tokenize(text):
        if token == "\n":
            if words:
                yield words
            words = []
        else:
            words.append(token)


def load_set(candidate: etree._Element, text: str) -> tuple[etree._Element, list]:
    """Apply ``set`` and ``delete`` commands, one a line."""
    result = deepcopy(candidate)
    warnings = []
    for words in _statements(text):
        verb, rest = _word(words[0]), words[1:]
        if verb not in ("set", "delete") or (verb == "set" and not rest):
            raise LoadError("syntax error", bad_element=verb)
        path = resolve(rest, ROOT)
        if verb == "set":
            el = _walk(result, path, create=True)
            if path.leaf is not None:
                _set_leaf(el, path.leaf)
        elif not _delete(result, path):
            warnings.append("statement not found")
    return result, warnings


def parse_text(text: str) -> etree._Element:
    """Parse curly-brace configuration text into a ``<configuration>``.

    A statement after ``delete:`` or ``replace:`` gets the matching XML
    attribute (``delete="delete"``), which ``load_xml`` honours.
    """
    root = etree.Element("configuration")
    stack: list[tuple[etree._Element, Node | None]] = [(root, ROOT)]
    words: list[str] = []
    for token in tokenize(text):
        if token == "\n":
            continue
        if token in ("{", ";"):
            if not words:
                if token == ";":
                    continue
                raise LoadError("syntax error", bad_element=token)
            opened = _text_statement(*stack[-1], words, block=token == "{")
            if opened is not None:
                stack.append(opened)
            words = []
        elif token == "}":
            if words or len(stack) == 1:
                raise LoadError("syntax error", bad_element="}")
            stack.pop()
        else:
            words.append(token)
    if words or len(stack) != 1:
        raise LoadError("syntax error", bad_element="}")
    return root


def _text_statement(
    parent: etree._Element, node: Node | None, words: list[str], block: bool
) -> tuple[etree._Element, Node | None] | None:
    """Add one text statement under ``parent``; return the block it opens."""
    mark = None
    if _word(words[0]) in ("replace:", "delete:"):
        mark, words = _word(words[0])[:-1], words[1:]
        if not words:
            raise LoadError("syntax error", bad_element=f"{mark}:")
    path = resolve(words, node, block=block)
    el = _walk(parent, path, create=True)
    opened = None
    marked = [el]
    if block:
        if path.leaf is not None:
            raise LoadError("syntax error", bad_element=path.leaf[0])
        opened = (el, path.node)
    elif path.leaf is not None:
        marked = _set_leaf(el, path.leaf, bare=mark == "delete")
    if mark is not None:
        for statement in marked:
            statement.set(mark, mark)
    return opened


# -- printing ----------------------------------------------------------------

_PLAIN = re.compile(r"^[^\s\"'{};\[\]#]+$")


def quote(value: str | None) -> str:
    value = value or ""
    if _PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def head(el: etree._Element, node: Node | None, parent: Node | None) -> str:
    """The words that open a statement: keyword and keys."""
    if node is not None and parent is not None and node is parent.hidden:
        return quote(el.findtext(node.keys[0][1]))
    if el.tag == "data" and parent is not None and parent.kind == "macro":
        return quote(el.findtext("name"))
    keyword = parent.keyword_of(el.tag) if parent is not None else None
    words = [keyword or el.tag]
    if node is not None and node.kind in ("list", "macro"):
        for kw, tag in node.keys:
            if kw:
                words.append(kw)
            words.append(quote(el.findtext(tag)))
    elif node is None and not is_leaf(el) and el.find("name") is not None:
        words.append(quote(el.findtext("name")))
    return " ".join(words)


def statement_lines(
    el: etree._Element, node: Node | None, parent: Node | None, depth: int
) -> list[str]:
    """Print one statement and its block as Junos ``show configuration``."""
    pad = INDENT * depth
    if el.tag == "data" and parent is not None and parent.kind == "macro":
        value = el.findtext("value")
        tail = f" {quote(value)}" if value is not None else ""
        return [f"{pad}{quote(el.findtext('name'))}{tail};"]
    opening = head(el, node, parent)
    keys = key_tags(node, el)
    body = [c for c in _children(el) if c.tag not in keys]
    if is_leaf(el) and (node is None or node.kind in LEAF_LIKE):
        if el.text is None:
            return [f"{pad}{opening};"]
        return [f"{pad}{opening} {quote(el.text)};"]
    if not body:
        return [f"{pad}{opening};"]
    return [f"{pad}{opening} {{", *block_lines(el, node, depth + 1), f"{pad}}}"]


def block_lines(el: etree._Element, node: Node | None, depth: int) -> list[str]:
    keys = key_tags(node, el)
    lines = []
    body = [c for c in _children(el) if c.tag not in keys]
    grouped = _group_leaf_lists(body, node)
    for child in grouped:
        if isinstance(child, tuple):
            lines.extend(group_lines(child[1], child[0], node, depth))
        elif isinstance(child, list):
            values = " ".join(quote(c.text) for c in child)
            lines.append(f"{INDENT * depth}{child[0].tag} [ {values} ];")
        else:
            lines.extend(
                statement_lines(child, child_node(node, child.tag), node, depth)
            )
    return lines


def group_lines(
    entries: list, list_node: Node, parent: Node | None, depth: int
) -> list[str]:
    """Print the entries of a grouped list in one block."""
    pad = INDENT * depth
    keyword = (parent.keyword_of(list_node.tag) if parent else None) or list_node.tag
    pseudo = group_of(list_node)
    inner = []
    for entry in entries:
        inner.extend(statement_lines(entry, list_node, pseudo, depth + 1))
    return [f"{pad}{keyword} {{", *inner, f"{pad}}}"]


def _group_leaf_lists(body: list, node: Node | None) -> list:
    out: list = []
    seen: dict[str, list] = {}
    for child in body:
        sub = child_node(node, child.tag)
        if sub is not None and sub.grouped and sub is not node.hidden:
            if child.tag in seen:
                seen[child.tag].append(child)
                continue
            seen[child.tag] = [child]
            out.append((sub, seen[child.tag]))
        elif sub is not None and sub.kind == "leaf-list":
            if child.tag in seen:
                seen[child.tag].append(child)
                continue
            seen[child.tag] = [child]
            out.append(seen[child.tag])
        else:
            out.append(child)
    return [
        group[0] if isinstance(group, list) and len(group) == 1 else group
        for group in out
    ]


def to_text(config: etree._Element) -> str:
    """Print a configuration the way ``show configuration`` does."""
    lines = block_lines(config, ROOT, 0)
    return "\n".join(lines) + "\n" if lines else ""


def to_set(config: etree._Element) -> str:
    """Print a configuration as ``set`` commands."""
    out: list[str] = []
    _set_lines(config, ROOT, [], out)
    return "".join(line + "\n" for line in out)


def _set_lines(el, node, prefix, out) -> None:
    keys = key_tags(node, el)
    body = [c for c in _children(el) if c.tag not in keys]
    if not body and prefix:
        out.append("set " + " ".join(prefix))
        return
    for child in body:
        sub = child_node(node, child.tag)
        if child.tag == "data" and node is not None and node.kind == "macro":
            words = [quote(child.findtext("name"))]
            if child.findtext("value") is not None:
                words.append(quote(child.findtext("value")))
            out.append("set " + " ".join(prefix + words))
        elif is_leaf(child) and (sub is None or sub.kind in LEAF_LIKE):
            value = [] if child.text is None else [quote(child.text)]
            out.append("set " + " ".join(prefix + [child.tag] + value))
        else:
            _set_lines(child, sub, prefix + [head(child, sub, node)], out)


# -- compare -----------------------------------------------------------------


def compare(old: etree._Element, new: etree._Element) -> str:
    """The ``show | compare`` text between two configurations.

    An empty comparison is a single newline, as Junos returns it.
    """
    blocks: list[tuple[str, list[str]]] = []
    _compare(old, new, ROOT, [], blocks)
    out = ["\n"]
    for header, lines in blocks:
        out.append(f"[edit{(' ' + header) if header else ''}]\n")
        out.extend(line + "\n" for line in lines)
    return "".join(out)


def _emit(blocks: list, header: str, lines: list[str]) -> None:
    if not lines:
        return
    if blocks and blocks[-1][0] == header:
        blocks[-1][1].extend(lines)
    else:
        blocks.append((header, list(lines)))


def _marked(mark: str, lines: Iterable[str]) -> list[str]:
    return [mark + line[1:] if line.startswith(" ") else mark + line for line in lines]


_GROUP = "\x00group"


def _compare(old, new, node, words, blocks) -> None:
    keys = set(key_tags(node, new)) | set(key_tags(node, old))
    befores, afters = _statements_of(old, node, keys), _statements_of(new, node, keys)
    for ident in _merged_order(list(befores), list(afters)):
        if ident[0] == _GROUP:
            sub = befores.get(ident) or afters.get(ident)
            _compare_group(old, new, sub, node, words, blocks)
            continue
        before, after = befores.get(ident), afters.get(ident)
        el = after if after is not None else before
        _compare_one(child_node(node, el.tag), before, after, node, words, blocks)


def _statements_of(el, node, keys) -> dict[tuple, object]:
    """Children by identity; a grouped list counts once, as its group."""
    out: dict[tuple, object] = {}
    for child in _children(el):
        if child.tag in keys:
            continue
        sub = child_node(node, child.tag)
        if sub is not None and sub.grouped and sub is not node.hidden:
            out.setdefault((_GROUP, sub.tag), sub)
        else:
            out.setdefault(identity(child, sub), child)
    return out


def _merged_order(old: list, new: list) -> list:
    """New statements in order, removed ones after their old predecessor."""
    kept = set(new)
    head: list = []
    following: dict = {}
    last = None
    for ident in old:
        if ident in kept:
            last = ident
        elif last is None:
            head.append(ident)
        else:
            following.setdefault(last, []).append(ident)
    order = list(head)
    for ident in new:
        order.append(ident)
        order.extend(following.get(ident, ()))
    return order


def _compare_one(sub, before, after, node, words, blocks) -> None:
    header = " ".join(words)
    if before is None:
        _emit(blocks, header, _marked("+", statement_lines(after, sub, node, 1)))
    elif after is None:
        _emit(blocks, header, _marked("-", statement_lines(before, sub, node, 1)))
    elif is_leaf(after) or is_leaf(before):
        if (
            is_leaf(after)
            and is_leaf(before)
            and (before.text or "") == (after.text or "")
        ):
            return
        lines = _marked("-", statement_lines(before, sub, node, 1))
        lines += _marked("+", statement_lines(after, sub, node, 1))
        _emit(blocks, header, lines)
    elif etree.tostring(before) != etree.tostring(after):
        # the same text is the same statement; a different one is walked
        _compare(before, after, sub, words + [head(after, sub, node)], blocks)


def _is_value(el: etree._Element) -> bool:
    return is_leaf(el) and bool((el.text or "").strip())


def _compare_group(old, new, sub, node, words, blocks) -> None:
    befores = [c for c in old if c.tag == sub.tag]
    afters = [c for c in new if c.tag == sub.tag]
    header = " ".join(words)
    if not befores:
        _emit(blocks, header, _marked("+", group_lines(afters, sub, node, 1)))
    elif not afters:
        _emit(blocks, header, _marked("-", group_lines(befores, sub, node, 1)))
    else:
        keyword = (node.keyword_of(sub.tag) if node else None) or sub.tag
        old_group, new_group = etree.Element("group"), etree.Element("group")
        old_group.extend(deepcopy(c) for c in befores)
        new_group.extend(deepcopy(c) for c in afters)
        _compare(old_group, new_group, group_of(sub), words + [keyword], blocks)


# -- filtering ---------------------------------------------------------------


def filter_config(config: etree._Element, wanted: etree._Element) -> etree._Element:
    """Keep the parts of ``config`` named by a subtree filter."""
    out = etree.Element("configuration")
    _filter(config, wanted, ROOT, out)
    return out


def _filter(source, wanted, node, out) -> None:
    for want in _children(wanted):
        tag = _local(want.tag)
        sub = child_node(node, tag)
        selectors, inner = [], []
        for part in _children(want):
            text = (part.text or "").strip()
            if is_leaf(part) and text:
                selectors.append((_local(part.tag), text))
            else:
                inner.append(part)
        for el in _children(source):
            if el.tag != tag:
                continue
            if any((el.findtext(t) or "").strip() != v for t, v in selectors):
                continue
            if not inner:
                out.append(deepcopy(el))
                continue
            keys = key_tags(sub, el)
            holder = etree.SubElement(out, tag)
            for key in keys:
                etree.SubElement(holder, key).text = el.findtext(key)
            wrapper = etree.Element("wanted")
            wrapper.extend(deepcopy(part) for part in inner)
            _filter(el, wrapper, sub, holder)
            if len(holder) == len(keys):
                out.remove(holder)
