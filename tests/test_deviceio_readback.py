"""deviceio.readback: policies and bindings read back from configurations."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from deviceio import (
    Binding,
    junostext,
    read_config,
    read_saved,
    render_load,
    to_set,
    to_text,
)
from deviceio.macro import MACRO_FIELDS
from store.model import Policy
from tests.conftest_deviceio import (
    assert_valid,
    hostile_policy,
    policies,
    sample_bindings,
    security_bindings,
)

HAND_WRITTEN = b"""<rpc-reply xmlns:junos="http://xml.juniper.net/junos/24.4R1/junos">
<configuration junos:commit-seconds="1764700000" junos:commit-user="admin">
  <version>24.4R1.11</version>
  <system><host-name>fw1</host-name></system>
  <services><advanced-anti-malware>
    <connection><url>https://amer.sky.junipersecurity.net</url></connection>
    <policy>
      <name>policy1</name>
      <imap>
        <inspection-profile>profile2</inspection-profile>
        <notification><log/></notification>
      </imap>
      <verdict-threshold>8</verdict-threshold>
      <fallback-options>
        <action>block</action>
        <notification><log/></notification>
      </fallback-options>
      <default-notification><log/></default-notification>
    </policy>
    <policy junos:changed-seconds="1764700000">
      <name>web-only</name>
      <http><inspection-profile>default_profile</inspection-profile>
        <action>block</action></http>
      <verdict-threshold>recommended</verdict-threshold>
    </policy>
  </advanced-anti-malware></services>
  <security><policies>
    <policy>
      <from-zone-name>trust</from-zone-name><to-zone-name>untrust</to-zone-name>
      <policy><name>allow-web</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>junos-http</application></match>
        <then><permit/></then>
      </policy>
      <policy><name>imap-scan</name>
        <match><source-address>any</source-address>
          <destination-address>any</destination-address>
          <application>junos-imap</application>
          <application>junos-imaps</application></match>
        <then><permit><application-services>
          <ssl-proxy><profile-name>ssl-inspect</profile-name></ssl-proxy>
          <advanced-anti-malware-policy>policy1</advanced-anti-malware-policy>
        </application-services></permit>
        <log><session-close/></log></then>
      </policy>
    </policy>
    <global><policy><name>g1</name>
      <then><permit><application-services>
        <advanced-anti-malware-policy>policy1</advanced-anti-malware-policy>
      </application-services></permit></then></policy></global>
  </policies></security>
</configuration></rpc-reply>"""


def test_rendered_configuration_reads_back_equal():
    policy = hostile_policy(2)
    bindings = sample_bindings(policy.name)
    result = read_config(render_load([policy], bindings))
    (read,) = result.policies
    assert read.policy == policy
    assert read.managed
    assert read.unknown_fields == frozenset()
    assert read.warnings == ()
    assert result.bindings == tuple(bindings)
    assert result.warnings == ()


def test_hand_written_policy_imports_srx_side():
    result = read_config(HAND_WRITTEN)
    read = result.policy("policy1")
    assert read is not None
    assert not read.managed
    assert read.unknown_fields == frozenset(MACRO_FIELDS)
    assert read.policy.inspection_profile == "profile2"
    assert read.policy.verdict_threshold == "8"
    assert read.policy.fallback_action == "block"
    assert read.policy.log_notifications is True
    assert read.policy.fallback_log is True
    assert read.policy.subject == Policy().subject
    assert read.warnings == ()


def test_policy_without_imap_is_reported():
    read = read_config(HAND_WRITTEN).policy("web-only")
    text = " ".join(read.warnings)
    assert "no imap statement" in text
    assert "http" in text


def test_hand_written_binding_and_its_extra_statements():
    result = read_config(HAND_WRITTEN)
    assert result.bindings == (
        Binding(
            "trust",
            "untrust",
            "imap-scan",
            "policy1",
            "ssl-inspect",
            applications=("junos-imap", "junos-imaps"),
        ),
    )
    text = " ".join(result.warnings)
    assert "then/log" in text
    assert "global security policy g1" in text


def test_binding_missing_match_reads_as_any():
    doc = b"""<configuration><security><policies><policy>
      <from-zone-name>a</from-zone-name><to-zone-name>b</to-zone-name>
      <policy><name>p</name><then><permit><application-services>
      <advanced-anti-malware-policy>x</advanced-anti-malware-policy>
      </application-services></permit></then></policy>
    </policy></policies></security></configuration>"""
    result = read_config(doc)
    assert result.bindings == (
        Binding("a", "b", "p", "x", None, ("any",), ("any",), ("any",)),
    )
    assert len(result.warnings) == 3


def test_unreadable_names_are_skipped_with_a_warning():
    doc = b"""<configuration>
      <services><advanced-anti-malware><policy><name>9lives</name>
        <imap/></policy></advanced-anti-malware></services>
      <security><policies><policy>
        <from-zone-name>a</from-zone-name><to-zone-name>b b</to-zone-name>
        <policy><name>p</name><then><permit><application-services>
        <advanced-anti-malware-policy>x</advanced-anti-malware-policy>
        </application-services></permit></then></policy>
      </policy></policies></security></configuration>"""
    result = read_config(doc)
    assert result.policies == ()
    assert result.bindings == ()
    text = " ".join(result.warnings)
    assert "'9lives' cannot be read" in text
    assert "cannot be read" in text


def test_damaged_macro_value_keeps_the_rest():
    configuration = render_load([hostile_policy(0)], [])
    for data in configuration.iter("data"):
        if data.findtext("name") == "subject":
            data.find("value").text = "%E2%28"
    read = read_config(configuration).policy("hostile-0")
    assert read.unknown_fields == frozenset({"subject"})
    assert read.policy.subject == Policy().subject
    assert read.policy.custom_message == hostile_policy(0).custom_message


def test_invalid_device_value_falls_back_to_default():
    configuration = render_load([Policy(name="p1")], [])
    configuration.find(".//imap/inspection-profile").text = "bad profile!"
    read = read_config(configuration).policy("p1")
    assert read.policy.inspection_profile == "default_profile"
    assert "inspection_profile" in read.unknown_fields
    assert any("inspection_profile" in w for w in read.warnings)


def test_mismatched_default_notification_is_reported():
    configuration = render_load([Policy(name="p1")], [])
    policy = configuration.find(".//advanced-anti-malware/policy")
    policy.remove(policy.find("default-notification"))
    read = read_config(configuration).policy("p1")
    assert read.policy.log_notifications is True
    assert any("not default" in w for w in read.warnings)


def test_read_saved_recognises_the_three_forms():
    policy = hostile_policy(4)
    configuration = render_load([policy], sample_bindings(policy.name))
    forms = [
        etree.tostring(configuration),
        "\ufeff" + to_text(configuration),
        "# saved by hand\n" + to_set(configuration),
    ]
    for saved in forms:
        result = read_saved(saved.encode() if isinstance(saved, str) else saved)
        assert result.policy(policy.name).policy == policy


def test_read_saved_show_configuration_text():
    text = """## Last commit: 2026-12-01 10:00:00 UTC by admin
version 24.4R1.11;
system {
    host-name fw1;
    /* annotation */
    login { user admin { authentication { encrypted-password "$6$x"; ## SECRET-DATA
    } } }
}
interfaces { ge-0/0/0 { unit 0 { family inet { address 192.0.2.1/24; } } } }
services {
    advanced-anti-malware {
        policy policy1 {
            imap {
                inspection-profile profile2;
                notification {
                    log;
                }
            }
            verdict-threshold 8;
            fallback-options {
                action permit;
                notification {
                    log;
                }
            }
            default-notification {
                log;
            }
        }
    }
}
security {
    zones { security-zone trust { interfaces { ge-0/0/0.0; } } }
    policies {
        from-zone trust to-zone untrust {
            inactive: policy imap-scan {
                match {
                    source-address any;
                    destination-address any;
                    application [ junos-imap junos-imaps ];
                }
                then {
                    permit {
                        application-services {
                            advanced-anti-malware-policy policy1;
                        }
                    }
                }
            }
        }
    }
}
"""
    result = read_saved(text)
    read = result.policy("policy1")
    assert read.policy.verdict_threshold == "8"
    assert read.policy.inspection_profile == "profile2"
    assert result.bindings == (Binding("trust", "untrust", "imap-scan", "policy1"),)


# -- round trips with generated policies ------------------------------------

ROUND_TRIP = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@ROUND_TRIP
@given(policies())
def test_generated_policy_round_trips_through_xml(policy):
    xml = etree.tostring(render_load([policy], []))
    assert read_config(xml).policy(policy.name).policy == policy


@ROUND_TRIP
@given(policies())
def test_generated_policy_round_trips_through_text(policy):
    text = to_text(render_load([policy], []))
    assert read_config(junostext.parse_text(text)).policy(policy.name).policy == policy


@ROUND_TRIP
@given(policies())
def test_generated_policy_round_trips_through_set(policy):
    commands = to_set(render_load([policy], []))
    assert read_config(junostext.parse_set(commands)).policy(policy.name).policy == (
        policy
    )


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(policies(), min_size=1, max_size=6, unique_by=lambda p: p.name))
def test_generated_policies_validate_with_yang(sample):
    bindings = [
        Binding("trust", "untrust", f"imap-{i}", p.name) for i, p in enumerate(sample)
    ]
    configuration = render_load(sample, bindings)
    assert_valid(configuration)
    assert [r.policy for r in read_config(configuration).policies] == sample


@ROUND_TRIP
@given(st.lists(security_bindings, max_size=5, unique_by=lambda b: b.key))
def test_generated_bindings_round_trip_in_every_form(sample):
    configuration = render_load([], sample)
    forms = [
        configuration,
        junostext.parse_text(to_text(configuration)),
        junostext.parse_set(to_set(configuration)),
    ]
    for form in forms:
        result = read_config(form)
        assert sorted(result.bindings, key=_order) == sorted(sample, key=_order)
        assert result.warnings == ()


def _order(binding: Binding) -> tuple[str, str, str]:
    return binding.key


def test_namespaced_reply_reads_like_a_plain_one():
    policy = hostile_policy(5)
    plain = etree.tostring(render_load([policy], sample_bindings(policy.name)))
    namespaced = plain.replace(
        b"<configuration>",
        b'<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
        b'<configuration xmlns="http://xml.juniper.net/xnm/1.1/xnm">',
    ).replace(b"</configuration>", b"</configuration></rpc-reply>")
    assert read_config(namespaced) == read_config(plain)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<configuration><oops></configuration>", "not well-formed XML"),
        (b'{"format": "imapdesk-policy"}', "no keyword"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"<rpc-reply/>", "no <configuration>"),
    ],
)
def test_read_saved_refuses_other_content(data, message):
    with pytest.raises(ValueError, match=message):
        read_saved(data)


def test_read_saved_xml_with_declared_encoding():
    policy = hostile_policy(6)
    data = etree.tostring(
        render_load([policy], []), xml_declaration=True, encoding="ISO-8859-1"
    )
    assert read_saved(data).policy(policy.name).policy == policy
