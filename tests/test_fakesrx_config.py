"""The simulator's Junos configuration handling, without any network."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.fakesrx import config as conf
from tests.fakesrx.validate import edit_words

BASE = """
system { host-name srx-a; services { ssh; netconf { ssh; } } }
interfaces { ge-0/0/0 { unit 0 { family { inet { address 10.0.0.1/24; } } } } }
security {
    zones {
        security-zone trust {
            host-inbound-traffic { system-services { ping; ssh; } }
            interfaces { ge-0/0/1.0; }
        }
    }
    policies {
        from-zone trust to-zone untrust {
            policy out {
                match { source-address any; destination-address any;
                        application [ junos-http junos-https ]; }
                then { permit; }
            }
        }
    }
}
"""


@pytest.fixture
def base():
    return conf.parse_text(BASE)


def test_text_and_set_round_trip(base):
    assert conf.same(conf.parse_text(conf.to_text(base)), base)
    rebuilt, warnings = conf.load_set(etree.Element("configuration"), conf.to_set(base))
    assert warnings == []
    assert conf.same(rebuilt, base)


def test_set_lines_follow_junos_hierarchy(base):
    sets = conf.to_set(base)
    assert "set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24\n" in sets
    assert (
        "set security policies from-zone trust to-zone untrust policy out "
        "match application junos-https\n"
    ) in sets
    assert "set security zones security-zone trust interfaces ge-0/0/1.0\n" in sets
    policy = base.find("security/policies/policy")
    assert policy.findtext("from-zone-name") == "trust"
    assert policy.findtext("to-zone-name") == "untrust"


def test_grouped_lists_print_in_one_block(base):
    text = conf.to_text(base)
    assert "system-services {\n                    ping;\n" in text
    assert "application [ junos-http junos-https ];" in text


def test_apply_macro(base):
    path = "services advanced-anti-malware policy p1"
    new, _ = conf.load_set(base, f'set {path} apply-macro imapdesk note "two words"\n')
    data = new.find("services/advanced-anti-malware/policy/apply-macro/data")
    assert (data.findtext("name"), data.findtext("value")) == ("note", "two words")
    assert 'apply-macro imapdesk {\n                note "two words";' in conf.to_text(
        new
    )
    assert conf.same(conf.parse_text(conf.to_text(new)), new)


def test_compare_uses_junos_headers_and_markers(base):
    new, _ = conf.load_set(
        base,
        "set system host-name srx-b\n"
        "set security zones security-zone trust interfaces ge-0/0/2.0\n"
        "delete interfaces ge-0/0/0\n",
    )
    assert conf.compare(base, new) == (
        "\n[edit system]\n"
        "-   host-name srx-a;\n"
        "+   host-name srx-b;\n"
        "[edit]\n"
        "-   interfaces {\n"
        "-       ge-0/0/0 {\n"
        "-           unit 0 {\n"
        "-               family {\n"
        "-                   inet {\n"
        "-                       address 10.0.0.1/24;\n"
        "-                   }\n"
        "-               }\n"
        "-           }\n"
        "-       }\n"
        "-   }\n"
        "[edit security zones security-zone trust interfaces]\n"
        "+   ge-0/0/2.0;\n"
    )
    assert conf.compare(base, base) == "\n"


def test_xml_merge_replace_and_delete_attributes(base):
    change = etree.XML(
        "<configuration><system><host-name>srx-c</host-name>"
        '<services replace="replace"><ssh/></services></system>'
        "<interfaces><interface><name>ge-0/0/0</name>"
        '<unit operation="delete"><name>0</name></unit></interface></interfaces>'
        "</configuration>"
    )
    new, warnings = conf.load_xml(base, change, "merge")
    assert warnings == []
    assert new.findtext("system/host-name") == "srx-c"
    assert new.find("system/services/netconf") is None
    assert new.find("interfaces/interface/unit") is None
    assert new.findtext("interfaces/interface/name") == "ge-0/0/0"


@pytest.mark.parametrize(
    "change",
    [
        # under a policy the configuration does not hold
        "<services><advanced-anti-malware><policy><name>p9</name>"
        '<imap delete="delete"/></policy></advanced-anti-malware></services>',
        '<services><advanced-anti-malware><policy delete="delete">'
        "<name>p9</name></policy></advanced-anti-malware></services>",
        # under statements it does hold
        '<system><domain-name delete="delete"/></system>',
        "<security><policies><policy><from-zone-name>trust</from-zone-name>"
        "<to-zone-name>untrust</to-zone-name>"
        '<policy operation="delete"><name>gone</name></policy>'
        "</policy></policies></security>",
        "<security><policies><policy><from-zone-name>trust</from-zone-name>"
        "<to-zone-name>untrust</to-zone-name><policy><name>out</name>"
        '<match><application delete="delete">junos-ftp</application></match>'
        "</policy></policy></policies></security>",
    ],
    ids=["under-new-policy", "new-policy", "leaf", "list-entry", "leaf-list-value"],
)
def test_xml_delete_of_a_statement_not_held_changes_nothing(base, change):
    loaded = etree.XML(f"<configuration>{change}</configuration>")
    new, warnings = conf.load_xml(base, loaded, "merge")
    assert warnings == ["statement not found"]
    assert conf.compare(base, new) == "\n"


def test_xml_delete_not_held_beside_other_changes(base):
    change = etree.XML(
        "<configuration><services><advanced-anti-malware><policy><name>p9</name>"
        '<imap delete="delete"/><verdict-threshold>5</verdict-threshold>'
        "</policy></advanced-anti-malware></services>"
        '<system><domain-name delete="delete"/><host-name>srx-b</host-name>'
        "</system></configuration>"
    )
    new, warnings = conf.load_xml(base, change, "merge")
    assert warnings == ["statement not found", "statement not found"]
    policy = new.find("services/advanced-anti-malware/policy")
    assert [c.tag for c in policy] == ["name", "verdict-threshold"]
    assert new.findtext("system/host-name") == "srx-b"


def test_set_delete_of_a_statement_not_held_changes_nothing(base):
    lines = (
        "delete services advanced-anti-malware policy p9 imap\n"
        "delete security policies from-zone trust to-zone untrust policy gone\n"
        "delete security zones security-zone trust interfaces ge-0/0/9.0\n"
    )
    new, warnings = conf.load_set(base, lines)
    assert warnings == ["statement not found"] * 3
    assert conf.compare(base, new) == "\n"


def test_text_delete_and_replace_tags(base):
    text = (
        "system { delete: domain-name; replace: services { ssh; } }\n"
        "services { advanced-anti-malware { delete: policy p9; } }\n"
        "security { policies { from-zone trust to-zone untrust {\n"
        "    policy out { match { delete: application junos-http; } }\n"
        "} } }\n"
    )
    new, warnings = conf.load_xml(base, conf.parse_text(text), "merge")
    assert warnings == ["statement not found", "statement not found"]
    assert new.find("system/services/netconf") is None
    assert new.find("system/services/ssh") is not None
    assert new.find("services") is None
    assert new.xpath("//match/application/text()") == ["junos-https"]


def test_filter_keeps_ancestors_and_selected_entries(base):
    wanted = etree.XML(
        "<configuration><security><zones><security-zone><name>trust</name>"
        "</security-zone></zones></security></configuration>"
    )
    out = conf.filter_config(base, wanted)
    assert [c.tag for c in out] == ["security"]
    assert out.findtext("security/zones/security-zone/name") == "trust"
    missing = etree.XML(
        "<configuration><system><domain-name/></system></configuration>"
    )
    assert len(conf.filter_config(base, missing)) == 0


def test_bad_input_raises_load_error(base):
    with pytest.raises(conf.LoadError):
        conf.load_set(base, "frobnicate system host-name x")
    with pytest.raises(conf.LoadError):
        conf.parse_text("system { host-name x; ")
    with pytest.raises(conf.LoadError):
        conf.load_set(base, "set security policies from-zone trust policy x")


def test_yang_paths_become_edit_paths():
    words, bad = edit_words(
        "/configuration/security/policies/policy[from-zone-name='trust']"
        "[to-zone-name='untrust']/policy[name='a']/then/permit"
    )
    assert words == [
        "security",
        "policies",
        "from-zone trust to-zone untrust",
        "policy a",
        "then",
    ]
    assert bad == "permit"


def test_quoted_values_and_comments():
    text = (
        "/* written by hand */\n"
        "system {\n"
        '    root-authentication { encrypted-password "$6$abc"; ## SECRET-DATA\n'
        "    }\n"
        '    login { message "two\\nlines with \\"quotes\\""; }\n'
        "}\n"
    )
    tree = conf.parse_text(text)
    assert tree.findtext("system/root-authentication/encrypted-password") == "$6$abc"
    message = tree.findtext("system/login/message")
    assert message == 'two\\nlines with "quotes"'
    assert conf.same(conf.parse_text(conf.to_text(tree)), tree)
    rebuilt, _ = conf.load_set(etree.Element("configuration"), conf.to_set(tree))
    assert conf.same(rebuilt, tree)


def test_xml_merge_cleans_namespaces_attributes_and_comments(base):
    change = etree.XML(
        '<configuration xmlns:junos="http://xml.juniper.net/junos/*/junos">'
        '<system>\n  <host-name junos:changed="changed">\n  srx-n  </host-name>'
        "<!-- a remark --></system>"
        '<security xmlns="urn:example"><zones><security-zone>'
        "<name> dmz </name><interfaces><name>ge-0/0/5.0</name></interfaces>"
        "</security-zone></zones></security>"
        "</configuration>"
    )
    new, warnings = conf.load_xml(base, change, "merge")
    assert warnings == []
    assert new.findtext("system/host-name") == "srx-n"
    zone = new.find("security/zones/security-zone[name='dmz']")
    assert zone is not None
    assert zone.findtext("interfaces/name") == "ge-0/0/5.0"
    for element in new.iter():
        assert isinstance(element.tag, str), "comments are not loaded"
        assert not element.attrib
        assert not element.tag.startswith("{")
    assert "[edit security zones]\n+   security-zone dmz {" in conf.compare(base, new)


def _zone_pair_with(policies: str) -> etree._Element:
    return etree.XML(
        "<configuration><security><policies><policy>"
        "<from-zone-name>trust</from-zone-name><to-zone-name>untrust</to-zone-name>"
        f"{policies}</policy></policies></security></configuration>"
    )


def _order(config: etree._Element) -> list[str]:
    return [
        p.findtext("name") for p in config.findall("security/policies/policy/policy")
    ]


IMAP = (
    "<match><source-address>any</source-address>"
    "<destination-address>any</destination-address>"
    "<application>junos-imap</application></match><then><permit/></then>"
)


@pytest.mark.parametrize(
    ("attributes", "order"),
    [
        ("", ["out", "imap"]),
        ('insert="before" name="out"', ["imap", "out"]),
        ('insert="after" name="out"', ["out", "imap"]),
        ('insert="first"', ["imap", "out"]),
    ],
)
def test_xml_insert_places_a_new_statement(base, attributes, order):
    change = _zone_pair_with(f"<policy {attributes}><name>imap</name>{IMAP}</policy>")
    new, warnings = conf.load_xml(base, change, "merge")
    assert warnings == []
    assert _order(new) == order


def test_xml_insert_moves_a_statement_held(base):
    first, _ = conf.load_xml(
        base, _zone_pair_with(f"<policy><name>imap</name>{IMAP}</policy>"), "merge"
    )
    change = _zone_pair_with(
        f'<policy replace="replace" insert="before" name="out"><name>imap</name>'
        f"{IMAP}</policy>"
    )
    new, _ = conf.load_xml(first, change, "merge")
    assert _order(new) == ["imap", "out"]


def test_xml_insert_before_a_statement_not_held_is_refused(base):
    change = _zone_pair_with(
        f'<policy insert="before" name="deny-all"><name>imap</name>{IMAP}</policy>'
    )
    with pytest.raises(conf.LoadError, match="statement not found"):
        conf.load_xml(base, change, "merge")
