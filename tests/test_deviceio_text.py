"""deviceio.junostext: set and curly-brace forms, quoting and parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from deviceio import junostext, parse_set, parse_text, quote, to_set, to_text
from deviceio.junostext import ConfigSyntaxError, tokens
from tests.conftest_deviceio import HOSTILE, MULTILINE_HOSTILE

VALUES = (*HOSTILE, *MULTILINE_HOSTILE, "", "plain", "tab\there", "nel\x85ls\u2028")


def hand_config(values: tuple[str, ...]) -> etree._Element:
    """A configuration with raw values in a description and a foreign macro."""
    root = etree.Element("configuration")
    context = etree.SubElement(
        etree.SubElement(etree.SubElement(root, "security"), "policies"), "policy"
    )
    etree.SubElement(context, "from-zone-name").text = "trust"
    etree.SubElement(context, "to-zone-name").text = "untrust"
    for i, value in enumerate(values):
        policy = etree.SubElement(context, "policy")
        etree.SubElement(policy, "name").text = f"p{i}"
        etree.SubElement(policy, "description").text = value
        macro = etree.SubElement(policy, "apply-macro")
        etree.SubElement(macro, "name").text = "other-tool"
        data = etree.SubElement(macro, "data")
        etree.SubElement(data, "name").text = "note"
        etree.SubElement(data, "value").text = value
    return root


def descriptions(root: etree._Element) -> list[str]:
    return [e.text or "" for e in root.iter("description")]


def macro_values(root: etree._Element) -> list[str]:
    return [e.text or "" for e in root.iter("value")]


@pytest.mark.parametrize("value", VALUES)
def test_quote_keeps_a_value_one_token_on_one_line(value):
    quoted = quote(value)
    assert "\n" not in quoted and "\r" not in quoted
    assert len(quoted.splitlines()) <= 1
    toks = [t for t in tokens(f"x {quoted};") if t.kind != "newline"]
    assert [t.kind for t in toks] == ["word", "word", ";"]
    assert toks[1].value == value


def test_bare_values_stay_bare():
    assert quote("junos-imap") == "junos-imap"
    assert quote("10.0.0.0/8") == "10.0.0.0/8"
    assert quote("a@example.com") == "a@example.com"
    assert quote("") == '""'
    assert quote("a b") == '"a b"'
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_set_lines_cannot_be_broken_by_values():
    root = hand_config(VALUES)
    commands = to_set(root)
    lines = commands.splitlines()
    assert len(lines) == 2 * len(VALUES)
    assert all(line.startswith("set security policies ") for line in lines)
    for line, value in zip(lines[::2], VALUES, strict=True):
        toks = [t for t in tokens(line) if t.kind != "newline"]
        assert all(t.kind == "word" for t in toks)
        assert toks[-1].value == value
        assert toks[-2].value == "description"
    back = parse_set(commands)
    assert descriptions(back) == list(VALUES)
    assert macro_values(back) == list(VALUES)


def test_text_statements_cannot_be_broken_by_values():
    root = hand_config(VALUES)
    text = to_text(root)
    statements = [t for t in tokens(text) if t.kind == ";"]
    assert len(statements) == 2 * len(VALUES)
    back = parse_text(text)
    assert descriptions(back) == list(VALUES)
    assert macro_values(back) == list(VALUES)
    assert etree.tostring(back) == etree.tostring(root)


@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
@settings(max_examples=80, deadline=None)
def test_any_value_survives_set_and_text(values):
    values = tuple(
        v.encode("utf-8", "surrogatepass")
        .decode("utf-8", "replace")
        .replace("\x00", "")
        for v in values
    )
    values = tuple("".join(c for c in v if _xml_char(c)) for v in values)
    root = hand_config(values)
    assert descriptions(parse_text(to_text(root))) == list(values)
    assert descriptions(parse_set(to_set(root))) == list(values)


def _xml_char(ch: str) -> bool:
    code = ord(ch)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    )


def test_text_layout():
    root = etree.fromstring(
        b"<configuration><services><advanced-anti-malware>"
        b"<policy><name>p1</name><imap><notification><log/></notification></imap>"
        b"<verdict-threshold>8</verdict-threshold></policy>"
        b"</advanced-anti-malware></services></configuration>"
    )
    assert to_text(root) == (
        "services {\n"
        "    advanced-anti-malware {\n"
        "        policy p1 {\n"
        "            imap {\n"
        "                notification {\n"
        "                    log;\n"
        "                }\n"
        "            }\n"
        "            verdict-threshold 8;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    assert to_set(root) == (
        "set services advanced-anti-malware policy p1 imap notification log\n"
        "set services advanced-anti-malware policy p1 verdict-threshold 8\n"
    )


def test_operations_in_text_and_set():
    root = etree.fromstring(
        b"<configuration><services><advanced-anti-malware>"
        b'<policy replace="replace"><name>p1</name>'
        b"<verdict-threshold>8</verdict-threshold></policy>"
        b'<policy delete="delete"><name>p2</name></policy>'
        b'<policy inactive="inactive"><name>p3</name>'
        b"<verdict-threshold>2</verdict-threshold></policy>"
        b"</advanced-anti-malware></services></configuration>"
    )
    text = to_text(root)
    assert "replace: policy p1 {" in text
    assert "delete: policy p2;" in text
    assert "inactive: policy p3 {" in text
    assert to_set(root).splitlines() == [
        "delete services advanced-anti-malware policy p1",
        "set services advanced-anti-malware policy p1 verdict-threshold 8",
        "delete services advanced-anti-malware policy p2",
        "deactivate services advanced-anti-malware policy p3",
        "set services advanced-anti-malware policy p3 verdict-threshold 2",
    ]
    canonical = etree.tostring(root)
    assert etree.tostring(parse_text(text)) == canonical
    assert etree.tostring(parse_set(to_set(root))) == canonical


def test_rpc_reply_and_junos_attributes_are_accepted():
    reply = (
        b'<rpc-reply xmlns:junos="http://xml.juniper.net/junos/*/junos">'
        b'<configuration junos:changed-seconds="1">'
        b'<services><advanced-anti-malware><policy junos:changed-seconds="1">'
        b"<name>p1</name></policy></advanced-anti-malware></services>"
        b"</configuration></rpc-reply>"
    )
    assert to_set(reply) == "set services advanced-anti-malware policy p1\n"


def test_parse_text_skips_other_hierarchies_and_comments():
    text = """
    /* top comment */
    system { host-name "fw 1"; services { ssh; } }   # trailing comment
    services {
        ssh;
        advanced-anti-malware {
            policy p1 { verdict-threshold 8; }  /* inline */
        }
    }
    """
    root = parse_text(text)
    assert etree.tostring(root) == (
        b"<configuration><services><advanced-anti-malware><policy><name>p1</name>"
        b"<verdict-threshold>8</verdict-threshold></policy></advanced-anti-malware>"
        b"</services></configuration>"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services {", "never closed"),
        ("services { }}", "too many"),
        ('services { x "open; }', "never closed"),
        ("services { x }", "Unexpected"),
        ("services { /* x", "never closed"),
        ("services { a [ b ; }", "in a list"),
        ("services { a [ b ] c; }", "Nothing may follow"),
        ('services { a "\\x4"; }', "hex digits"),
        ("services ;", None),
        ("services", "no ending"),
    ],
)
def test_parse_text_syntax_errors(text, message):
    if message is None:
        assert len(parse_text(text)) == 0
        return
    with pytest.raises(ConfigSyntaxError, match=message):
        parse_text(text)


def test_parse_set_refuses_other_commands():
    with pytest.raises(ConfigSyntaxError, match="Line 2"):
        parse_set("set services advanced-anti-malware policy p1\nrequest system halt\n")
    with pytest.raises(ConfigSyntaxError):
        parse_set("set services advanced-anti-malware policy p1; delete security\n")


def test_parse_set_leaf_lists_and_brackets():
    root = parse_set(
        "set security policies from-zone a to-zone b policy p match application "
        "[ junos-imap junos-imaps ]\n"
        "set security policies from-zone a to-zone b policy p match application "
        "junos-imap\n"
        "set security policies from-zone a to-zone b policy p match source-address x\n"
        "set security policies from-zone a to-zone b policy p match source-address y\n"
    )
    match = root.find("security/policies/policy/policy/match")
    assert [e.text for e in match.findall("application")] == [
        "junos-imap",
        "junos-imaps",
    ]
    assert [e.text for e in match.findall("source-address")] == ["x", "y"]


def test_containers_with_one_word_are_not_names():
    root = parse_text(
        "security { policies { from-zone a to-zone b { policy p { "
        "then permit application-services advanced-anti-malware-policy x; } } } }"
    )
    leaf = root.find(
        "security/policies/policy/policy/then/permit/application-services/"
        "advanced-anti-malware-policy"
    )
    assert leaf is not None and leaf.text == "x"


def test_unknown_keywords_outside_kept_parts_do_not_break_parsing():
    root = junostext.parse_text(
        "interfaces { ge-0/0/0 { unit 0 { family inet { address 192.0.2.1/24; } } } }"
    )
    assert len(root) == 0
