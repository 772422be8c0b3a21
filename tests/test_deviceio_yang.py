"""deviceio.yang: finding the models and checking configurations with yanglint."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from deviceio import yang

SAMPLE = b"""<rpc-reply xmlns:junos="http://xml.juniper.net/junos/*/junos">
<configuration junos:changed-seconds="1700000000">
  <system><host-name>fw1</host-name></system>
  <interfaces><interface inactive="inactive"><name>ge-0/0/0</name>
  </interface></interfaces>
  <services><advanced-anti-malware>
    <policy replace="replace">
      <name>p1</name>
      <imap>
        <inspection-profile>default_profile</inspection-profile>
        <notification><log/></notification>
      </imap>
      <verdict-threshold>8</verdict-threshold>
      <fallback-options>
        <action>permit</action>
        <notification><log/></notification>
      </fallback-options>
      <default-notification><log/></default-notification>
    </policy>
  </advanced-anti-malware></services>
  <security><policies><policy>
    <from-zone-name>trust</from-zone-name><to-zone-name>untrust</to-zone-name>
    <policy><name>imap</name>
      <match><source-address>any</source-address>
        <destination-address>any</destination-address>
        <application>junos-imap</application></match>
      <then><permit><application-services>
        <advanced-anti-malware-policy>p1</advanced-anti-malware-policy>
      </application-services></permit></then>
    </policy>
  </policy></policies></security>
</configuration></rpc-reply>"""


def models_or_skip(release: str) -> Path:
    """Return the models folder, skipping only when the models are absent."""
    folder = yang.find_models(release)
    if folder is None:
        pytest.skip(f"the Junos {release} YANG models are not installed")
    return folder


@pytest.fixture(params=yang.RELEASES)
def release(request: pytest.FixtureRequest) -> str:
    models_or_skip(request.param)
    return request.param


def test_find_models_honours_environment(tmp_path, monkeypatch):
    (tmp_path / "24.4R1").mkdir()
    monkeypatch.setenv(yang.ENV_VAR, str(tmp_path))
    assert yang.find_models("24.4R1") == tmp_path / "24.4R1"
    assert yang.find_models("19.4R1") is None


def test_find_models_beside_repository(monkeypatch):
    monkeypatch.delenv(yang.ENV_VAR, raising=False)
    found = yang.find_models("24.4R1")
    if found is not None:
        assert found.name == "24.4R1"
        assert found.parent.name == "junos-yang"


def test_sample_is_valid(release):
    assert yang.validate(SAMPLE, release) == []


def test_element_input_is_accepted(release):
    root = etree.fromstring(SAMPLE)
    assert yang.validate(root, release) == []


def test_invalid_value_is_reported_with_path(release):
    bad = SAMPLE.replace(b">8<", b">11<")
    errors = yang.validate(bad, release)
    assert len(errors) == 1
    assert errors[0].severity == "error"
    assert errors[0].path == (
        "/configuration/services/advanced-anti-malware/policy[name='p1']"
        "/verdict-threshold"
    )
    assert "11" in errors[0].message


def test_unknown_statement_is_reported(release):
    bad = SAMPLE.replace(b"<imap>", b"<imap><bogus/>")
    errors = yang.validate(bad, release)
    assert [e.severity for e in errors] == ["error"]
    assert "bogus" in errors[0].message


def test_missing_aamw_policy_is_reported(release):
    bad = SAMPLE.replace(
        b"<advanced-anti-malware-policy>p1<", b"<advanced-anti-malware-policy>p2<"
    )
    errors = yang.validate(bad, release)
    assert len(errors) == 1
    assert "'p2'" in errors[0].message
    assert errors[0].path.endswith("/advanced-anti-malware-policy")


def test_deleted_statements_are_left_out(release):
    doc = SAMPLE.replace(
        b"<verdict-threshold>8</verdict-threshold>",
        b'<verdict-threshold delete="delete"/>',
    )
    assert yang.validate(doc, release) == []


def test_deleted_aamw_policy_does_not_count(release):
    doc = SAMPLE.replace(b'<policy replace="replace">', b'<policy delete="delete">')
    errors = yang.validate(doc, release)
    assert [e.message for e in errors] == [
        "Referenced advanced-anti-malware policy 'p1' is not defined"
    ]


def test_configuration_without_managed_statements_is_valid(release):
    doc = b"<configuration><system><host-name>x</host-name></system></configuration>"
    assert yang.validate(doc, release) == []


def test_no_configuration_element():
    with pytest.raises(ValueError):
        yang.validate(b"<rpc-reply/>", "24.4R1")


def test_unknown_release():
    with pytest.raises(ValueError):
        yang.validate(SAMPLE, "12.1X46")


def test_missing_yanglint_raises(monkeypatch):
    monkeypatch.setattr(yang.shutil, "which", lambda name: None)
    with pytest.raises(yang.YangUnavailable):
        yang.validate(SAMPLE, "24.4R1")


def test_missing_models_raise(tmp_path, monkeypatch):
    monkeypatch.setenv(yang.ENV_VAR, str(tmp_path))
    with pytest.raises(yang.YangUnavailable):
        yang.validate(SAMPLE, "24.4R1")


def test_yanglint_installed_where_models_are():
    """CI installs libyang2-tools: models without yanglint is a failure."""
    models_or_skip("24.4R1")
    assert yang.shutil.which("yanglint"), "yanglint (libyang2-tools) is missing"


def test_inactive_security_policy_is_not_cross_checked(release):
    doc = SAMPLE.replace(
        b"<advanced-anti-malware-policy>p1<", b"<advanced-anti-malware-policy>p2<"
    ).replace(
        b"<policy><name>imap</name>", b'<policy inactive="inactive"><name>imap</name>'
    )
    assert b'<policy inactive="inactive"><name>imap</name>' in doc
    assert yang.validate(doc, release) == []
    assert yang.check_references(etree.fromstring(doc).find("configuration")) == []


def test_inactive_aamw_policy_counts_as_undefined():
    doc = SAMPLE.replace(b'<policy replace="replace">', b'<policy inactive="inactive">')
    root = etree.fromstring(doc).find("configuration")
    errors = yang.check_references(root)
    assert [e.message for e in errors] == [
        "Referenced advanced-anti-malware policy 'p1' is not defined"
    ]
