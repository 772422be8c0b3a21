"""deviceio.merge: applying loads as Junos does, unrelated statements untouched."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from deviceio import Binding, apply_load, read_config, render_load
from store.model import Policy
from tests.conftest_deviceio import assert_valid, hostile_policy

RUNNING = b"""<configuration>
  <version>24.4R1.11</version>
  <system><host-name>fw1</host-name>
    <services><netconf><ssh/></netconf></services></system>
  <interfaces><interface><name>ge-0/0/0</name>
    <unit><name>0</name><family><inet><address><name>192.0.2.1/24</name></address>
    </inet></family></unit></interface></interfaces>
  <services><advanced-anti-malware>
    <connection><url>https://amer.sky.junipersecurity.net</url></connection>
    <policy><name>not-ours</name>
      <http><inspection-profile>default_profile</inspection-profile>
        <action>block</action></http>
      <verdict-threshold>recommended</verdict-threshold>
    </policy>
    <policy><name>managed</name>
      <imap><inspection-profile>old</inspection-profile>
        <notification><log/></notification></imap>
      <verdict-threshold>3</verdict-threshold>
      <fallback-options><action>block</action></fallback-options>
      <whitelist-notification><log/></whitelist-notification>
    </policy>
    <policy><name>retired</name><imap/></policy>
  </advanced-anti-malware></services>
  <security><policies>
    <policy>
      <from-zone-name>trust</from-zone-name><to-zone-name>untrust</to-zone-name>
      <policy><name>allow-web</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>junos-http</application></match>
        <then><permit/></then></policy>
      <policy><name>imap-scan</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>junos-imap</application></match>
        <then><permit><application-services>
          <advanced-anti-malware-policy>managed</advanced-anti-malware-policy>
        </application-services></permit><log><session-close/></log></then></policy>
      <policy><name>imap-retired</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>junos-imap</application></match>
        <then><permit><application-services>
          <advanced-anti-malware-policy>retired</advanced-anti-malware-policy>
        </application-services></permit></then></policy>
      <policy><name>deny-rest</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>any</application></match>
        <then><deny/></then></policy>
    </policy>
    <policy>
      <from-zone-name>untrust</from-zone-name><to-zone-name>trust</to-zone-name>
      <policy><name>deny-all</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>any</application></match>
        <then><deny/></then></policy>
    </policy>
  </policies></security>
</configuration>"""


def parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.fromstring(data, parser)


def xml(element: etree._Element | None) -> bytes:
    assert element is not None
    return etree.tostring(element)


def by_name(parent: etree._Element, name: str) -> etree._Element | None:
    for element in parent.findall("policy"):
        if element.findtext("name") == name:
            return element
    return None


def test_managed_sync_leaves_everything_else_untouched():
    running = parse(RUNNING)
    before = copy.deepcopy(running)
    policy = hostile_policy(0, name="managed")
    bindings = [Binding("trust", "untrust", "imap-scan", "managed", "imaps")]
    load = render_load(
        [policy],
        bindings,
        removed_policies=["retired"],
        removed_bindings=[Binding("trust", "untrust", "imap-retired", "retired")],
    )
    result = apply_load(running, load)
    assert xml(running) == xml(before)
    for path in ("version", "system", "interfaces"):
        assert xml(result.find(path)) == xml(before.find(path))
    aamw = result.find("services/advanced-anti-malware")
    old_aamw = before.find("services/advanced-anti-malware")
    assert xml(aamw.find("connection")) == xml(old_aamw.find("connection"))
    assert xml(by_name(aamw, "not-ours")) == xml(by_name(old_aamw, "not-ours"))
    assert by_name(aamw, "retired") is None
    assert [p.findtext("name") for p in aamw.findall("policy")] == [
        "not-ours",
        "managed",
    ]
    contexts = result.findall("security/policies/policy")
    old_contexts = before.findall("security/policies/policy")
    assert xml(contexts[1]) == xml(old_contexts[1])
    names = [p.findtext("name") for p in contexts[0].findall("policy")]
    assert names == ["allow-web", "imap-scan", "deny-rest"]
    for name in ("allow-web", "deny-rest"):
        assert xml(by_name(contexts[0], name)) == xml(by_name(old_contexts[0], name))
    device = read_config(result)
    read = device.policy("managed")
    assert read.policy == policy
    assert read.warnings == ()
    assert device.bindings == tuple(bindings)
    assert_valid(result)


def test_replaced_policy_loses_statements_it_no_longer_has():
    result = apply_load(parse(RUNNING), render_load([Policy(name="managed")], []))
    managed = by_name(result.find("services/advanced-anti-malware"), "managed")
    assert managed.find("whitelist-notification") is None
    assert managed.findtext("imap/inspection-profile") == "default_profile"


def test_merge_action_ignores_replace():
    result = apply_load(
        parse(RUNNING), render_load([Policy(name="managed")], []), action="merge"
    )
    managed = by_name(result.find("services/advanced-anti-malware"), "managed")
    assert managed.find("whitelist-notification") is not None
    assert managed.findtext("imap/inspection-profile") == "default_profile"
    assert managed.findtext("verdict-threshold") == "recommended"
    assert managed.find("apply-macro") is not None


def test_override_replaces_everything():
    load = render_load([Policy(name="only")], [], removed_policies=["gone"])
    result = apply_load(parse(RUNNING), load, action="override")
    assert [e.tag for e in result] == ["services"]
    names = [p.findtext("name") for p in result.iter("policy")]
    assert names == ["only"]
    assert not any(e.attrib for e in result.iter())


def test_new_statements_are_added_and_leaf_lists_merge():
    load = parse(
        b"<configuration><security><policies><policy>"
        b"<from-zone-name>trust</from-zone-name><to-zone-name>untrust</to-zone-name>"
        b"<policy><name>allow-web</name><match>"
        b"<application>junos-https</application></match></policy>"
        b"</policy><policy><from-zone-name>dmz</from-zone-name>"
        b"<to-zone-name>trust</to-zone-name><policy><name>new</name></policy>"
        b"</policy></policies></security>"
        b"<system><host-name>fw2</host-name></system></configuration>"
    )
    result = apply_load(parse(RUNNING), load, action="merge")
    web = by_name(result.find("security/policies/policy"), "allow-web")
    assert [e.text for e in web.findall("match/application")] == [
        "junos-http",
        "junos-https",
    ]
    assert result.findtext("system/host-name") == "fw2"
    assert result.find("system/services/netconf/ssh") is not None
    contexts = result.findall("security/policies/policy")
    assert contexts[-1].findtext("from-zone-name") == "dmz"


def test_delete_a_leaf_list_value_and_a_leaf():
    load = parse(
        b"<configuration><security><policies><policy>"
        b"<from-zone-name>trust</from-zone-name><to-zone-name>untrust</to-zone-name>"
        b'<policy><name>allow-web</name><match><application delete="delete">'
        b"junos-http</application></match></policy></policy></policies></security>"
        b'<system><host-name delete="delete"/></system>'
        b'<snmp delete="delete"/></configuration>'
    )
    result = apply_load(parse(RUNNING), load)
    web = by_name(result.find("security/policies/policy"), "allow-web")
    assert web.findall("match/application") == []
    assert result.find("system/host-name") is None
    assert result.find("system/services") is not None


def test_netconf_operation_attribute_and_activation():
    load = parse(
        b'<configuration xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">'
        b"<services><advanced-anti-malware>"
        b'<policy nc:operation="remove"><name>retired</name></policy>'
        b'<policy nc:operation="replace"><name>not-ours</name><imap/></policy>'
        b'<policy inactive="inactive"><name>managed</name></policy>'
        b"</advanced-anti-malware></services></configuration>"
    )
    result = apply_load(parse(RUNNING), load)
    aamw = result.find("services/advanced-anti-malware")
    assert by_name(aamw, "retired") is None
    assert xml(by_name(aamw, "not-ours")) == (
        b"<policy><name>not-ours</name><imap/></policy>"
    )
    assert by_name(aamw, "managed").get("inactive") == "inactive"
    again = parse(
        b'<configuration><services><advanced-anti-malware><policy active="active">'
        b"<name>managed</name></policy></advanced-anti-malware></services>"
        b"</configuration>"
    )
    result = apply_load(result, again)
    aamw = result.find("services/advanced-anti-malware")
    assert by_name(aamw, "managed").get("inactive") is None


def test_unknown_action():
    with pytest.raises(ValueError, match="update"):
        apply_load(parse(RUNNING), parse(b"<configuration/>"), action="update")


def test_inputs_in_rpc_reply():
    reply = b"<rpc-reply>" + RUNNING + b"</rpc-reply>"
    result = apply_load(parse(reply), render_load([], []))
    assert result.tag == "configuration"
    assert xml(result) == xml(parse(RUNNING))
