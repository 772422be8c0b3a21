"""Junos configuration as text: ``set`` commands and curly-brace statements.

:func:`to_set` and :func:`to_text` work on any configuration XML, the
rendered load documents as well as what a device returns, for display, copy
and export. :func:`parse_text` and :func:`parse_set` read the two text forms
back into XML for the part IMAP Desk manages (``services
advanced-anti-malware`` and ``security policies``); other statements are
skipped.

Quoting: a value made only of letters, digits and ``_ . : / @ , + = * ~ -``
is written bare; any other value is written in double quotes, inside which
``\\`` and ``"`` are escaped with a backslash, a line feed is ``\\n``, a
carriage return ``\\r``, a tab ``\\t``, and any other control or line
separating character ``\\xHH``, ``\\uHHHH`` or ``\\UHHHHHHHH``. So a value
never spans lines and never ends a statement or opens a new one; the parsers
here undo exactly this escaping and read ``\\c`` as ``c`` for any other
character. The escapes other than ``\\"`` and ``\\\\`` are IMAP Desk's own,
for display; values sent to a device never need them, since the apply-macro
values are percent-encoded (see :mod:`deviceio.macro`).

Load operations show as Junos does in text: ``replace:``, ``delete:`` and
``inactive:`` before a statement. In ``set`` form a replaced statement is a
``delete`` of its path followed by its ``set`` commands, a deleted one a
``delete`` and an inactive one a ``deactivate``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from .tree import LEAF_LISTS, children, find_configuration, local_name, operation

logger = logging.getLogger(__name__)

INDENT = "    "
_BARE_RE = re.compile(r"[A-Za-z0-9_.:/@,+=*~-]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_HEX_LENGTHS = {"x": 2, "u": 4, "U": 8}
_PREFIXES = ("replace:", "delete:", "inactive:", "protect:", "active:")
_ZONE_KEYS = ("from-zone-name", "to-zone-name")

# statements whose single word after the keyword names a child statement
# (``then permit``), never an identifier
CONTAINERS = frozenset(
    {
        "services",
        "advanced-anti-malware",
        "security",
        "policies",
        "global",
        "imap",
        "smtp",
        "http",
        "smb",
        "notification",
        "fallback-options",
        "default-notification",
        "whitelist-notification",
        "blacklist-notification",
        "match",
        "then",
        "permit",
        "deny",
        "reject",
        "application-services",
        "ssl-proxy",
        "log",
        "count",
        "default-policy",
    }
)
# statements that are lists keyed by name even when nothing follows the name
LISTS = frozenset({"policy", "apply-macro", "policy-set", "profile"})
# the hierarchies the parsers keep
KEPT = (("services", "advanced-anti-malware"), ("security", "policies"))


class ConfigSyntaxError(ValueError):
    """Text that is not Junos configuration syntax; ``line`` counts from 1."""

    def __init__(self, message: str, line: int):
        self.line = line
        super().__init__(f"Line {line}: {message}")


def quote(value: str) -> str:
    """``value`` as one Junos token: bare when safe, else quoted and escaped."""
    if _BARE_RE.fullmatch(value):
        return value
    return '"' + "".join(_escape_char(ch) for ch in value) + '"'


def _escape_char(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") or ch == "\x85":
        code = ord(ch)
        if code <= 0xFF:
            return f"\\x{code:02x}"
        if code <= 0xFFFF:
            return f"\\u{code:04x}"
        return f"\\U{code:08x}"
    return ch


# -- XML to text ---------------------------------------------------------


@dataclass
class _Node:
    """One statement of the XML tree: its words and its child elements."""

    words: list[str]
    body: list[etree._Element]
    leaf: bool


def _node(element: etree._Element, parent: etree._Element | None) -> _Node:
    tag = local_name(element)
    kids = children(element)
    if parent is not None and local_name(parent) == "apply-macro" and tag == "data":
        words = [element.findtext("name") or ""]
        value = _child_value(element, "value")
        return _Node(words + ([value] if value is not None else []), [], True)
    names = [local_name(k) for k in kids]
    if tag == "policy" and all(k in names for k in _ZONE_KEYS):
        zones = [_child_value(element, k) or "" for k in _ZONE_KEYS]
        body = [k for k in kids if local_name(k) not in _ZONE_KEYS]
        return _Node(["from-zone", zones[0], "to-zone", zones[1]], body, False)
    if kids and names[0] == "name" and not children(kids[0]):
        return _Node([tag, kids[0].text or ""], kids[1:], False)
    if not kids:
        text = element.text
        return _Node([tag] if text is None else [tag, text], [], True)
    return _Node([tag], kids, False)


def _child_value(element: etree._Element, name: str) -> str | None:
    found = [k for k in children(element) if local_name(k) == name]
    if not found:
        return None
    return found[0].text or ""


def _words_text(words: list[str]) -> str:
    return " ".join(quote(w) for w in words)


def _prefix(element: etree._Element) -> str:
    op = operation(element)
    if op is not None:
        return f"{op}: "
    if element.get("inactive") == "inactive":
        return "inactive: "
    return ""


def to_text(configuration: etree._Element | bytes | str) -> str:
    """Curly-brace Junos text of a configuration (or of an rpc-reply)."""
    root = find_configuration(configuration)
    lines: list[str] = []
    _text_lines(children(root), root, 0, lines)
    return "\n".join(lines) + ("\n" if lines else "")


def _text_lines(
    elements: list[etree._Element],
    parent: etree._Element,
    depth: int,
    lines: list[str],
) -> None:
    pad = INDENT * depth
    for group in _groups(elements, parent):
        first = group[0]
        node = _node(first, parent)
        head = pad + _prefix(first)
        if len(group) > 1:
            values = " ".join(quote(_node(e, parent).words[1]) for e in group)
            lines.append(f"{head}{node.words[0]} [ {values} ];")
        elif not node.body:
            lines.append(f"{head}{_words_text(node.words)};")
        else:
            lines.append(f"{head}{_words_text(node.words)} {{")
            _text_lines(node.body, first, depth + 1, lines)
            lines.append(pad + "}")


def _groups(
    elements: list[etree._Element], parent: etree._Element
) -> Iterator[list[etree._Element]]:
    """Group repeated plain values of one leaf-list into one bracket list."""
    group: list[etree._Element] = []
    for element in elements:
        if group and _joins(group[-1], element, parent):
            group.append(element)
            continue
        if group:
            yield group
        group = [element]
    if group:
        yield group


def _joins(
    previous: etree._Element, element: etree._Element, parent: etree._Element
) -> bool:
    def plain_value(e: etree._Element) -> bool:
        node = _node(e, parent)
        return node.leaf and len(node.words) == 2 and not e.attrib

    return (
        local_name(previous) == local_name(element)
        and local_name(parent) != "apply-macro"
        and plain_value(previous)
        and plain_value(element)
    )


def to_set(configuration: etree._Element | bytes | str) -> str:
    """Junos ``set`` (and ``delete``/``deactivate``) commands, one a line."""
    root = find_configuration(configuration)
    lines: list[str] = []
    for element in children(root):
        _set_lines(element, root, [], lines)
    return "\n".join(lines) + ("\n" if lines else "")


def _set_lines(
    element: etree._Element,
    parent: etree._Element,
    path: list[str],
    lines: list[str],
) -> None:
    node = _node(element, parent)
    op = operation(element)
    if op == "delete":
        lines.append(_command("delete", path + node.words))
        return
    here = path + node.words
    if op == "replace":
        lines.append(_command("delete", path + node.words[: 1 if node.leaf else None]))
    if element.get("inactive") == "inactive":
        lines.append(_command("deactivate", here))
    if not node.body:
        lines.append(_command("set", here))
        return
    for kid in node.body:
        _set_lines(kid, element, here, lines)


def _command(verb: str, words: list[str]) -> str:
    return " ".join([verb, *(quote(w) for w in words)])


# -- text to XML ---------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # word, {, }, ;, [, ], newline
    value: str
    line: int
    quoted: bool = False


_PUNCTUATION = "{};[]"
_XML_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
PLACEHOLDER = "unparsed-statement"


def tokens(text: str) -> Iterator[_Token]:
    """Split Junos text into tokens, dropping comments; newlines are kept."""
    i, line, size = 0, 1, len(text)
    while i < size:
        ch = text[i]
        if ch == "\n":
            yield _Token("newline", ch, line)
            line += 1
            i += 1
        elif ch in " \t\r\f\v":
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = size if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ConfigSyntaxError("A comment is never closed.", line)
            line += text.count("\n", i, end)
            i = end + 2
        elif ch in _PUNCTUATION:
            yield _Token(ch, ch, line)
            i += 1
        elif ch == '"':
            value, i, lines = _quoted(text, i + 1, line)
            yield _Token("word", value, line, quoted=True)
            line += lines
        else:
            start = i
            while i < size and not text[i].isspace() and text[i] not in '{};[]"':
                i += 1
            yield _Token("word", text[start:i], line)


def _quoted(text: str, i: int, line: int) -> tuple[str, int, int]:
    """Read a quoted string body from ``i``; return value, next index, lines."""
    out: list[str] = []
    lines = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1, lines
        if ch == "\\" and i + 1 < len(text):
            value, i = _unescape(text, i + 1, line + lines)
            out.append(value)
            continue
        if ch == "\n":
            lines += 1
        out.append(ch)
        i += 1
    raise ConfigSyntaxError("A quoted value is never closed.", line)


def _unescape(text: str, i: int, line: int) -> tuple[str, int]:
    ch = text[i]
    if ch in _UNESCAPES:
        return _UNESCAPES[ch], i + 1
    width = _HEX_LENGTHS.get(ch)
    if width is None:
        return ch, i + 1
    digits = text[i + 1 : i + 1 + width]
    if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise ConfigSyntaxError(f"A \\{ch} escape needs {width} hex digits.", line)
    return chr(int(digits, 16)), i + 1 + width


@dataclass
class _Statement:
    words: list[str]
    values: list[str] | None  # a bracket list after the words
    prefix: str | None
    end: str  # ; or { or newline
    line: int


def _statement(toks: list[_Token], i: int, *, set_form: bool) -> tuple[_Statement, int]:
    """Read one statement starting at ``toks[i]``; return it and the next index."""
    line = toks[i].line
    words: list[str] = []
    values: list[str] | None = None
    prefix = None
    ends = ("newline",) if set_form else (";", "{")
    while i < len(toks):
        tok = toks[i]
        if tok.kind in ends:
            return _Statement(words, values, prefix, tok.kind, line), i + 1
        if tok.kind == "word":
            if not words and not tok.quoted and tok.value in _PREFIXES and not set_form:
                prefix = tok.value[:-1]
            elif values is not None:
                raise ConfigSyntaxError("Nothing may follow a [ ] list.", tok.line)
            else:
                words.append(tok.value)
        elif tok.kind == "[":
            values, i = _bracket(toks, i + 1)
            continue
        elif tok.kind == "newline":
            pass
        else:
            raise ConfigSyntaxError(f"Unexpected {tok.value!r}.", tok.line)
        i += 1
    if set_form:
        return _Statement(words, values, prefix, "newline", line), i
    raise ConfigSyntaxError("The last statement has no ending ';'.", line)


def _bracket(toks: list[_Token], i: int) -> tuple[list[str], int]:
    values = []
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "]":
            return values, i + 1
        if tok.kind == "word":
            values.append(tok.value)
        elif tok.kind != "newline":
            raise ConfigSyntaxError(f"Unexpected {tok.value!r} in a list.", tok.line)
        i += 1
    raise ConfigSyntaxError("A [ list is never closed.", toks[-1].line)


def parse_text(text: str) -> etree._Element:
    """Read curly-brace Junos text into a ``configuration`` element.

    Only ``services advanced-anti-malware`` and ``security policies`` are
    kept; everything else is read for its syntax and left out.

    :raises ConfigSyntaxError: for text Junos would not load.
    """
    toks = [t for t in tokens(text) if t.kind != "newline"]
    root = etree.Element("configuration")
    i = _parse_block(toks, 0, root)
    if i < len(toks):
        raise ConfigSyntaxError("There is a '}' too many.", toks[i].line)
    return _prune(root)


def _parse_block(toks: list[_Token], i: int, parent: etree._Element) -> int:
    """Read statements into ``parent`` until a closing brace or the end."""
    while i < len(toks):
        if toks[i].kind == "}":
            return i if parent.getparent() is None else i + 1
        statement, i = _statement(toks, i, set_form=False)
        if not statement.words:
            raise ConfigSyntaxError("A statement has no keyword.", statement.line)
        element = _place(parent, statement.words, statement.values, statement.end)
        _mark(element, statement.prefix)
        if statement.end == "{":
            i = _parse_block(toks, i, element)
    if parent.getparent() is not None:
        raise ConfigSyntaxError("A '{' is never closed.", toks[-1].line)
    return i


def parse_set(text: str) -> etree._Element:
    """Read ``set``/``delete``/``deactivate`` commands into a ``configuration``.

    A ``delete`` followed by ``set`` commands under the same path reads as a
    replacement (``replace="replace"``). Only the parts IMAP Desk manages are
    kept, as with :func:`parse_text`.

    :raises ConfigSyntaxError: for a line that is not such a command.
    """
    toks = list(tokens(text))
    root = etree.Element("configuration")
    i = 0
    while i < len(toks):
        statement, i = _statement(toks, i, set_form=True)
        if not statement.words:
            continue
        verb, words = statement.words[0], statement.words[1:]
        if verb not in ("set", "delete", "deactivate", "activate") or not words:
            raise ConfigSyntaxError(
                f"Expected a set, delete or deactivate command, not {verb!r}.",
                statement.line,
            )
        element = _place(root, words, statement.values, "newline")
        _apply_verb(element, verb)
    return _prune(root)


def _apply_verb(element: etree._Element, verb: str) -> None:
    if verb == "delete":
        element.attrib.pop("replace", None)
        element.set("delete", "delete")
    elif verb == "deactivate":
        element.set("inactive", "inactive")
    elif verb == "activate":
        element.attrib.pop("inactive", None)
    else:
        node: etree._Element | None = element
        while node is not None:
            if node.attrib.pop("delete", None) is not None:
                node.set("replace", "replace")
            node = node.getparent()


def _mark(element: etree._Element, prefix: str | None) -> None:
    if prefix in ("replace", "delete", "inactive"):
        element.set(prefix, prefix)


def _place(
    parent: etree._Element, words: list[str], values: list[str] | None, end: str
) -> etree._Element:
    """Put the statement ``words`` under ``parent``; return its element."""
    ptag = local_name(parent)
    if ptag == "apply-macro" and words:
        return _macro_data(parent, words)
    first = words[0]
    rest = words[1:]
    if ptag == "policies" and first == "from-zone" and _is_zone_pair(rest):
        keys = (("from-zone-name", rest[0]), ("to-zone-name", rest[2]))
        context = _find_or_add(parent, "policy", keys)
        return _place(context, rest[3:], values, end) if rest[3:] else context
    if not rest:
        if values is not None:
            for value in values:
                _leaf(parent, first, value, repeat=True)
            return parent
        return _find_or_add(parent, first, ())
    if first in CONTAINERS:
        return _place(_find_or_add(parent, first, ()), rest, values, end)
    if len(rest) == 1 and end != "{" and values is None and first not in LISTS:
        return _leaf(parent, first, rest[0], repeat=first in LEAF_LISTS)
    entry = _find_or_add(parent, first, (("name", rest[0]),))
    return _place(entry, rest[1:], values, end) if rest[1:] else entry


def _is_zone_pair(words: list[str]) -> bool:
    return len(words) >= 3 and words[1] == "to-zone"


def _macro_data(parent: etree._Element, words: list[str]) -> etree._Element:
    data = _find_or_add(parent, "data", (("name", words[0]),))
    for old in children(data, "value"):
        data.remove(old)
    if len(words) > 1:
        etree.SubElement(data, "value").text = " ".join(words[1:])
    return data


def _tag(word: str) -> str:
    return word if _XML_NAME_RE.fullmatch(word) else PLACEHOLDER


def _find_or_add(
    parent: etree._Element, tag: str, keys: tuple[tuple[str, str], ...]
) -> etree._Element:
    tag = _tag(tag)
    for kid in children(parent, tag):
        if all(_child_value(kid, k) == v for k, v in keys):
            return kid
    element = etree.SubElement(parent, tag)
    for key, value in keys:
        etree.SubElement(element, key).text = value
    return element


def _leaf(
    parent: etree._Element, tag: str, value: str, *, repeat: bool
) -> etree._Element:
    tag = _tag(tag)
    for kid in children(parent, tag):
        if not repeat or kid.text == value:
            kid.text = value
            return kid
    element = etree.SubElement(parent, tag)
    element.text = value
    return element


def _prune(root: etree._Element) -> etree._Element:
    """Keep only the hierarchies in :data:`KEPT`."""
    kept = dict(KEPT)
    for top in children(root):
        inner = kept.get(local_name(top))
        if inner is None:
            root.remove(top)
            continue
        for kid in children(top):
            if local_name(kid) != inner:
                top.remove(kid)
        if not children(top):
            root.remove(top)
    return root
