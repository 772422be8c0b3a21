"""deviceio.render: the XML of policies, bindings and loads, checked by yanglint."""

from __future__ import annotations

import pytest
from lxml import etree

from deviceio import (
    Binding,
    export,
    junostext,
    read_config,
    render_binding,
    render_binding_deletion,
    render_load,
    render_policy,
    render_policy_deletion,
    yang,
)
from deviceio.render import binding_element, policy_element
from store.model import Policy
from tests.conftest_deviceio import (
    HOSTILE,
    assert_valid,
    hostile_policy,
    limits_policy,
    models_or_skip,
    sample_bindings,
)

AAMW = "services/advanced-anti-malware"


def tags(element: etree._Element) -> list[str]:
    return [child.tag for child in element]


def test_default_policy_statements_in_model_order():
    element = policy_element(Policy())
    assert tags(element) == [
        "name",
        "apply-macro",
        "imap",
        "verdict-threshold",
        "fallback-options",
        "default-notification",
    ]
    assert element.findtext("name") == "imap-policy"
    assert element.findtext("imap/inspection-profile") == "default_profile"
    assert element.find("imap/notification/log") is not None
    assert element.findtext("verdict-threshold") == "recommended"
    assert element.findtext("fallback-options/action") == "permit"
    assert element.find("fallback-options/notification/log") is not None
    assert element.find("default-notification/log") is not None


def test_logging_switched_off_leaves_out_log_statements():
    policy = Policy(log_notifications=False, fallback_log=False)
    element = policy_element(policy)
    assert element.find("imap/notification") is None
    assert element.find("default-notification") is None
    assert element.find("fallback-options/notification") is None
    assert element.findtext("fallback-options/action") == "permit"


def test_macro_holds_format_and_settings():
    element = policy_element(Policy())
    macro = element.find("apply-macro")
    assert macro.findtext("name") == "imapdesk"
    data = {d.findtext("name"): d.findtext("value") for d in macro.findall("data")}
    assert data["format"] == "1"
    assert data["action"] == "block"
    assert data["server-scope"] == "all"
    assert data["learn-more-url"] is None
    assert data["subject"] == "Malware Detected"


def test_render_policy_marks_replace_only_on_the_policy():
    configuration = render_policy(Policy(name="p1"))
    (policy,) = configuration.findall(f"{AAMW}/policy")
    assert policy.get("replace") == "replace"
    marked = [e for e in configuration.iter() if e.attrib]
    assert marked == [policy]


def test_binding_renders_match_and_application_services():
    binding = Binding("trust", "untrust", "imap-scan", "p1", "imaps-proxy")
    element = binding_element(binding)
    assert tags(element) == ["name", "match", "then"]
    match = element.find("match")
    assert [e.tag for e in match] == [
        "source-address",
        "destination-address",
        "application",
        "application",
    ]
    assert [e.text for e in match.findall("application")] == [
        "junos-imap",
        "junos-imaps",
    ]
    services = element.find("then/permit/application-services")
    assert tags(services) == ["ssl-proxy", "advanced-anti-malware-policy"]
    assert services.findtext("ssl-proxy/profile-name") == "imaps-proxy"
    assert services.findtext("advanced-anti-malware-policy") == "p1"


def test_binding_without_ssl_proxy():
    element = binding_element(Binding("trust", "untrust", "imap-scan", "p1"))
    assert element.find("then/permit/application-services/ssl-proxy") is None


def test_render_binding_groups_by_zone_pair():
    configuration = render_binding(Binding("a", "b", "p", "x"))
    context = configuration.find("security/policies/policy")
    assert context.findtext("from-zone-name") == "a"
    assert context.findtext("to-zone-name") == "b"
    assert context.find("policy").get("replace") == "replace"
    assert context.get("replace") is None


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("from_zone", "", "source zone is empty"),
        ("to_zone", "bad zone", "destination zone 'bad zone'"),
        ("policy_name", "x" * 64, "security policy name"),
        ("aamw_policy", '"; delete', "anti-malware policy name"),
        ("ssl_proxy_profile", "a;b", "SSL proxy profile name"),
    ],
)
def test_binding_refuses_bad_names(field, value, words):
    values = {
        "from_zone": "trust",
        "to_zone": "untrust",
        "policy_name": "imap",
        "aamw_policy": "p1",
        "ssl_proxy_profile": None,
    }
    values[field] = value
    with pytest.raises(ValueError, match=words):
        Binding(**values)


def test_binding_refuses_bad_match_lists():
    with pytest.raises(ValueError, match="at least one application"):
        Binding("a", "b", "p", "x", applications=())
    with pytest.raises(ValueError, match="not one string"):
        Binding("a", "b", "p", "x", applications="junos-imap")
    with pytest.raises(ValueError, match="listed twice"):
        Binding("a", "b", "p", "x", source_addresses=("any", "any"))
    with pytest.raises(ValueError, match="not a valid destination address"):
        Binding("a", "b", "p", "x", destination_addresses=("a b",))


def test_binding_lists_become_tuples():
    binding = Binding("a", "b", "p", "x", applications=["junos-imap"])
    assert binding.applications == ("junos-imap",)


def test_deletions_touch_only_their_element():
    configuration = render_policy_deletion("old")
    (policy,) = configuration.findall(f"{AAMW}/policy")
    assert policy.get("delete") == "delete"
    assert tags(policy) == ["name"]
    configuration = render_binding_deletion(Binding("a", "b", "p", "x"))
    context = configuration.find("security/policies/policy")
    assert context.get("delete") is None
    inner = context.find("policy")
    assert inner.get("delete") == "delete"
    assert tags(inner) == ["name"]
    assert configuration.find("services") is None


def test_render_load_combines_everything():
    bindings = sample_bindings("p1")
    configuration = render_load(
        [Policy(name="p1"), Policy(name="p2")],
        bindings,
        removed_policies=["p3"],
        removed_bindings=[Binding("trust", "untrust", "old-imap", "p3")],
    )
    policies = configuration.findall(f"{AAMW}/policy")
    assert [(p.findtext("name"), dict(p.attrib)) for p in policies] == [
        ("p1", {"replace": "replace"}),
        ("p2", {"replace": "replace"}),
        ("p3", {"delete": "delete"}),
    ]
    contexts = configuration.findall("security/policies/policy")
    pairs = [
        (c.findtext("from-zone-name"), c.findtext("to-zone-name")) for c in contexts
    ]
    assert pairs == [("trust", "untrust"), ("trust", "dmz"), ("untrust", "dmz")]
    trust_untrust = contexts[0].findall("policy")
    assert [p.findtext("name") for p in trust_untrust] == ["imap-out", "old-imap"]


def test_render_load_refuses_duplicates_and_dangling_removal():
    with pytest.raises(ValueError, match="appears twice"):
        render_load([Policy(name="p1"), Policy(name="p1")], [])
    with pytest.raises(ValueError, match="appears twice"):
        render_load([Policy(name="p1")], [], removed_policies=["p1"])
    binding = Binding("a", "b", "p", "p1")
    with pytest.raises(ValueError, match="appears twice"):
        render_load([], [binding], removed_bindings=[binding])
    with pytest.raises(ValueError, match="still applies"):
        render_load([], [binding], removed_policies=["p1"])
    with pytest.raises(ValueError, match="not a valid"):
        render_load([], [], removed_policies=["bad name"])


def test_render_load_empty_is_an_empty_configuration():
    configuration = render_load([], [])
    assert configuration.tag == "configuration"
    assert len(configuration) == 0


@pytest.mark.parametrize("fmt", ["xml", "set", "text"])
def test_export_forms_read_back(fmt):
    policy = hostile_policy(1)
    bindings = sample_bindings(policy.name)
    output = export(policy, bindings, fmt)
    assert isinstance(output, str)
    if fmt == "xml":
        configuration = etree.fromstring(output.encode())
    elif fmt == "set":
        configuration = junostext.parse_set(output)
    else:
        configuration = junostext.parse_text(output)
    result = read_config(configuration)
    assert result.policy(policy.name).policy == policy
    assert result.bindings == tuple(bindings)


def test_export_unknown_format():
    with pytest.raises(ValueError, match="json"):
        export(Policy(), [], "json")


# -- yanglint: every rendered configuration the tests use ---------------------


def test_yang_default_policy_and_binding():
    assert_valid(
        render_load([Policy()], [Binding("trust", "untrust", "imap", "imap-policy")])
    )


def test_yang_every_field_at_its_limit():
    policy = limits_policy()
    configuration = render_load([policy], sample_bindings(policy.name))
    assert_valid(configuration)
    assert read_config(configuration).policy(policy.name).policy == policy


def test_yang_hostile_values_in_many_policies():
    hostile = [hostile_policy(i) for i in range(len(HOSTILE))]
    plain = [Policy(name=f"plain-{n}", verdict_threshold=str(n)) for n in range(1, 11)]
    policies = hostile + plain
    bindings = [
        Binding("trust", "untrust", f"imap-{i}", p.name, "imaps" if i % 2 else None)
        for i, p in enumerate(policies)
    ]
    configuration = render_load(policies, bindings)
    assert_valid(configuration)
    result = read_config(configuration)
    assert [r.policy for r in result.policies] == policies
    assert result.bindings == tuple(bindings)


def test_yang_deletions_and_mixed_load():
    configuration = render_load(
        [hostile_policy(0)],
        sample_bindings("hostile-0"),
        removed_policies=["gone"],
        removed_bindings=[Binding("trust", "untrust", "gone-imap", "gone")],
    )
    assert_valid(configuration)


def test_yang_text_and_set_forms_parse_to_valid_xml():
    policy = limits_policy()
    configuration = render_load([policy], sample_bindings(policy.name))
    from_text = junostext.parse_text(junostext.to_text(configuration))
    from_set = junostext.parse_set(junostext.to_set(configuration))
    canonical = etree.tostring(configuration)
    assert etree.tostring(from_text) == canonical
    assert etree.tostring(from_set) == canonical


def _module_order(document: etree._Element, module: str) -> list[str]:
    (top,) = [e for e in document if etree.QName(e).localname == module]
    return [etree.QName(e).localname for e in top.iter()]


@pytest.mark.parametrize("release", yang.RELEASES)
def test_statements_follow_the_models_order(release):
    models_or_skip(release)
    policy = hostile_policy(0, log_notifications=True, fallback_log=True)
    configuration = render_load([policy], sample_bindings(policy.name))
    ours = yang.namespaced_copy(configuration)
    printed = yang.schema_order(configuration, release)
    for module in ("services", "security"):
        assert _module_order(ours, module) == _module_order(printed, module)
