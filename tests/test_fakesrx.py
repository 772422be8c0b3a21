"""The simulated SRX seen through PyEZ over real SSH, as a device would be."""

from __future__ import annotations

import logging
import time
import warnings

import pytest
from jnpr.junos import Device
from jnpr.junos.exception import (
    CommitError,
    ConfigLoadError,
    LockError,
    RpcError,
)
from jnpr.junos.utils.config import Config
from lxml import etree
from ncclient.transport.session import NetconfBase

AAMW = "services advanced-anti-malware policy"

POLICY_XML = """
<configuration>
  <services>
    <advanced-anti-malware>
      <policy>
        <name>imap-p1</name>
        <imap>
          <inspection-profile>default_profile</inspection-profile>
          <notification><log/></notification>
        </imap>
        <verdict-threshold>7</verdict-threshold>
        <fallback-options><action>permit</action></fallback-options>
      </policy>
    </advanced-anti-malware>
  </services>
</configuration>
"""


def open_device(fakesrx, srx, **extra) -> Device:
    return Device(**fakesrx.pyez_args(srx, **extra)).open()


def threshold(srx, policy: str = "imap-p1") -> str | None:
    path = f"services/advanced-anti-malware/policy[name='{policy}']/verdict-threshold"
    return srx.running_config().findtext(path)


@pytest.mark.parametrize("netconf_11", [True, False], ids=["chunked", "eom"])
def test_facts_over_both_framings(fakesrx, netconf_11):
    srx = fakesrx(hostname="branch-7", model="srx345", netconf_11=netconf_11)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dev = open_device(fakesrx, srx, gather_facts=True)

    assert dev.facts["hostname"] == "branch-7"
    assert dev.facts["model"] == "SRX345"
    assert dev.facts["version"] == "23.4R1.9"
    assert dev.facts["serialnumber"] == srx.device.serial
    assert dev.facts["personality"] == "SRX_BRANCH"
    framing = NetconfBase.BASE_11 if netconf_11 else NetconfBase.BASE_10
    assert dev._conn._session._base == framing
    dev.close()
    assert _eventually(lambda: srx.sessions == 0)


def test_load_xml_diff_check_commit(fakesrx):
    srx = fakesrx()
    with open_device(fakesrx, srx) as dev, Config(dev, mode="exclusive") as cu:
        cu.load(POLICY_XML, format="xml", merge=True)
        diff = cu.diff()
        assert diff.startswith("\n[edit]\n+   services {\n")
        assert "+               verdict-threshold 7;\n" in diff
        assert cu.commit_check() is True
        assert cu.commit(comment="imap policy") is True
        assert cu.diff() is None

        cu.load(f"set {AAMW} imap-p1 verdict-threshold 9", format="set")
        assert cu.diff() == (
            f"\n[edit {AAMW} imap-p1]\n"
            "-   verdict-threshold 7;\n"
            "+   verdict-threshold 9;\n"
        )
        cu.commit()

    assert threshold(srx) == "9"
    assert srx.commit_history[1]["log"] == "imap policy"
    assert srx.commit_history[0]["user"] == "admin"


def test_text_and_set_formats(fakesrx):
    srx = fakesrx()
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(
            "services { advanced-anti-malware { policy p2 { verdict-threshold 4; } } }",
            format="text",
        )
        cu.commit()
        text = dev.rpc.get_config(
            filter_xml="services", options={"format": "text"}
        ).text
        sets = dev.rpc.get_config(filter_xml="services", options={"format": "set"})
    assert "policy p2 {\n            verdict-threshold 4;" in text
    assert f"set {AAMW} p2 verdict-threshold 4" in sets.text


def test_replace_override_and_delete(fakesrx):
    srx = fakesrx()
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(POLICY_XML, format="xml", merge=True)
        cu.load(
            "<configuration><services><advanced-anti-malware>"
            '<policy replace="replace"><name>imap-p1</name>'
            "<verdict-threshold>3</verdict-threshold></policy>"
            "</advanced-anti-malware></services></configuration>",
            format="xml",
        )
        candidate = dev.rpc.get_config(filter_xml="services")
        assert candidate.findtext(".//verdict-threshold") == "3"
        assert candidate.find(".//imap") is None

        cu.load(
            "<configuration><services><advanced-anti-malware>"
            '<policy delete="delete"><name>imap-p1</name></policy>'
            "</advanced-anti-malware></services></configuration>",
            format="xml",
        )
        assert cu.diff() is None

        with pytest.raises(ConfigLoadError, match="statement not found"):
            cu.load(f"delete {AAMW} no-such-policy", format="set")

        running = etree.tostring(srx.running_config()).decode()
        cu.load(running, format="xml", overwrite=True)
        assert cu.diff() is None


NOT_HELD = (
    "<configuration><services><advanced-anti-malware>"
    '<policy><name>absent</name><imap delete="delete"/></policy>'
    "<policy><name>p2</name><verdict-threshold>4</verdict-threshold></policy>"
    "</advanced-anti-malware></services></configuration>"
)


def test_deleting_what_the_device_does_not_hold_warns(fakesrx):
    srx = fakesrx()
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        with pytest.raises(ConfigLoadError) as caught:
            cu.load(NOT_HELD, format="xml")
        error = caught.value.rpc_error
        assert error["severity"] == "warning"
        assert error["message"] == "statement not found"
        assert error["bad_element"] is None
        # the load went through: the warning only says the deletion found nothing
        diff = cu.diff()
        assert "policy p2 {" in diff
        assert "absent" not in diff
        cu.rollback()

        reply = cu.load(NOT_HELD, format="xml", ignore_warning="statement not found")
        assert reply.find("load-success") is not None
        assert "absent" not in cu.diff()


def test_commit_confirmed_is_kept_when_confirmed(fakesrx):
    srx = fakesrx(minute_seconds=0.3)
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(POLICY_XML, format="xml", merge=True)
        cu.commit(confirm=1, comment="try it")
        assert srx.confirm_pending
        cu.commit(comment="confirm")
        assert not srx.confirm_pending
    time.sleep(0.6)
    assert threshold(srx) == "7"
    assert srx.commit_history[0]["log"] == "confirm"


def test_commit_confirmed_rolls_back_when_not_confirmed(fakesrx):
    srx = fakesrx(minute_seconds=0.3)
    before = len(srx.commit_history)
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(POLICY_XML, format="xml", merge=True)
        cu.commit(confirm=1)
        assert threshold(srx) == "7"

    assert _eventually(lambda: not srx.confirm_pending, timeout=3)
    assert threshold(srx) is None
    history = srx.commit_history
    assert len(history) == before + 2
    assert (history[0]["user"], history[0]["client"]) == ("root", "other")
    assert history[1]["comment"] == "commit confirmed, rollback in 1mins"


def test_rollback_one_and_fifty_deep_history(fakesrx):
    srx = fakesrx()
    for number in range(1, 55):
        srx.commit_external_change(f"set system host-name srx-{number}")
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev, mode="exclusive")
        with cu:
            cu.load("set system host-name srx-55", format="set")
            cu.commit()
            cu.rollback(1)
            assert "+   host-name srx-54;" in cu.diff()
            cu.commit(comment="back to 54")
            cu.rollback(49)
            assert "+   host-name srx-7;" in cu.diff()
            with pytest.raises(RpcError):
                dev.rpc.load_configuration({"rollback": "50"})

    assert len(srx.commit_history) == 50
    assert srx.running_config().findtext("system/host-name") == "srx-54"
    assert srx.rollback_config(1).findtext("system/host-name") == "srx-55"


def test_lock_conflicts_between_two_sessions(fakesrx):
    srx = fakesrx()
    first = open_device(fakesrx, srx)
    second = open_device(fakesrx, srx)

    Config(first).lock()
    assert srx.lock_owner == "admin"
    with pytest.raises(LockError) as caught:
        Config(second).lock()
    assert "configuration database locked by" in caught.value.rpc_error["message"]
    with pytest.raises(ConfigLoadError, match="locked by"):
        Config(second).load(f"set {AAMW} x verdict-threshold 2", format="set")

    Config(first).load(f"set {AAMW} x verdict-threshold 2", format="set")
    Config(first).unlock()
    assert srx.lock_owner is None
    assert not srx.candidate_changed(), "unlock discards uncommitted changes"

    Config(second).load(f"set {AAMW} x verdict-threshold 2", format="set")
    with pytest.raises(LockError) as caught:
        Config(first).lock()
    assert caught.value.rpc_error["message"] == "configuration database modified"
    second.close()
    assert srx.candidate_changed(), "the shared candidate outlives the session"
    first.close()


def test_lock_released_when_session_ends(fakesrx):
    srx = fakesrx()
    dev = open_device(fakesrx, srx)
    cu = Config(dev)
    cu.lock()
    cu.load(f"set {AAMW} x verdict-threshold 2", format="set")
    dev.close()
    assert _eventually(lambda: srx.lock_owner is None)
    assert not srx.candidate_changed()


def test_private_sessions_are_isolated(fakesrx):
    srx = fakesrx()
    one = open_device(fakesrx, srx)
    two = open_device(fakesrx, srx)
    with Config(one, mode="private") as cu1, Config(two, mode="private") as cu2:
        cu1.load(f"set {AAMW} one verdict-threshold 1", format="set")
        cu2.load(f"set {AAMW} two verdict-threshold 2", format="set")
        assert "policy two" not in cu1.diff()
        assert not srx.candidate_changed()
        cu1.commit()
        cu2.commit()
    one.close()
    two.close()
    running = srx.running_config()
    names = running.xpath("services/advanced-anti-malware/policy/name/text()")
    assert sorted(names) == ["one", "two"]


def test_public_key_authentication(fakesrx, tmp_path):
    import paramiko

    key = paramiko.ECDSAKey.generate()
    key_file = tmp_path / "id_ecdsa"
    key.write_private_key_file(str(key_file))
    srx = fakesrx(user="keyuser", password=None, public_key=key)
    args = fakesrx.pyez_args(
        srx, user="keyuser", password=None, ssh_private_key_file=str(key_file)
    )
    with Device(**args) as dev:
        assert dev.rpc.get_software_information().findtext("host-name")


def test_state_survives_restart(fakesrx):
    state = fakesrx.state_dir("branch")
    srx = fakesrx(state_dir=state)
    fingerprint = srx.fingerprint
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(POLICY_XML, format="xml", merge=True)
        cu.commit(comment="kept")
        cu.load(f"set {AAMW} pending verdict-threshold 3", format="set")
    srx.stop()

    again = fakesrx(state_dir=state)
    assert again.fingerprint == fingerprint
    assert threshold(again) == "7"
    assert again.commit_history[0]["log"] == "kept"
    assert again.candidate_changed()
    with Device(**fakesrx.pyez_args(again, verify_host_key=True)) as dev:
        assert "policy pending" in Config(dev).diff()


def test_invalid_candidate_fails_commit_check_like_junos(fakesrx):
    srx = fakesrx()
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(f"set {AAMW} bad verdict-threshold 12", format="set")
        with pytest.raises(CommitError) as caught:
            cu.commit_check()
        error = caught.value.errs[0]
        assert error["edit_path"] == f"[edit {AAMW} bad]"
        assert error["bad_element"] == "verdict-threshold"
        assert "12" in error["message"]
        assert caught.value.errs[-1]["message"] == "configuration check-out failed"
        with pytest.raises(CommitError):
            cu.commit()
    assert threshold(srx, "bad") is None


def test_unknown_security_policy_reference_fails_commit(fakesrx):
    srx = fakesrx()
    zones = "security policies from-zone trust to-zone untrust policy allow-outbound"
    line = f"set {zones} then permit application-services "
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(line + "advanced-anti-malware-policy missing", format="set")
        with pytest.raises(CommitError, match="missing"):
            cu.commit()


def _eventually(check, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_kill_session_frees_the_lock(fakesrx):
    srx = fakesrx()
    holder = open_device(fakesrx, srx)
    Config(holder).lock()
    with open_device(fakesrx, srx) as dev:
        with pytest.raises(LockError) as caught:
            Config(dev).lock()
        pid = caught.value.rsp.findtext(".//session-id")
        dev.rpc.kill_session(session_id=pid)
        assert _eventually(lambda: srx.lock_owner is None)
        assert Config(dev).lock()


def test_pending_confirmed_commit_survives_restart(fakesrx):
    state = fakesrx.state_dir("confirm")
    srx = fakesrx(state_dir=state, minute_seconds=0.5)
    with open_device(fakesrx, srx) as dev:
        cu = Config(dev)
        cu.load(POLICY_XML, format="xml", merge=True)
        cu.commit(confirm=1)
    srx.stop()

    again = fakesrx(state_dir=state, minute_seconds=0.5)
    assert again.confirm_pending
    assert _eventually(lambda: not again.confirm_pending, timeout=3)
    assert threshold(again) is None


def test_standard_netconf_edit_config_and_validate(fakesrx):
    srx = fakesrx()
    with open_device(fakesrx, srx) as dev:
        manager = dev._conn
        manager.edit_config(target="candidate", config=f"<config>{POLICY_XML}</config>")
        manager.validate(source="candidate")
        manager.commit()
    assert threshold(srx) == "7"


def _netconf_message(channel) -> bytes:
    data = b""
    while b"]]>]]>" not in data:
        chunk = channel.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_close_session_ends_the_connection_quietly(fakesrx, caplog):
    import socket

    import paramiko

    srx = fakesrx()
    hello = (
        '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
        "<capability>urn:ietf:params:netconf:base:1.0</capability>"
        "</capabilities></hello>]]>]]>"
    )
    close = (
        '<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1">'
        "<close-session/></rpc>]]>]]>"
    )
    login = fakesrx.pyez_args(srx)
    caplog.set_level(logging.WARNING, logger="paramiko")
    for _ in range(5):
        client = paramiko.Transport(socket.create_connection((srx.host, srx.port)))
        client.connect(username=login["user"], password=login["passwd"])
        channel = client.open_session()
        channel.invoke_subsystem("netconf")
        _netconf_message(channel)
        channel.sendall(hello.encode() + close.encode())
        assert b"<ok/>" in _netconf_message(channel)
        # like ncclient, close the socket as soon as the reply is in
        client.close()
    assert _eventually(lambda: srx.sessions == 0)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == []


def test_a_candidate_edited_back_to_the_committed_one_is_unchanged(fakesrx):
    srx = fakesrx()
    dev = open_device(fakesrx, srx)
    cu = Config(dev)
    cu.load(f"set {AAMW} x verdict-threshold 2", format="set")
    assert srx.candidate_changed()
    cu.load(f"delete {AAMW} x", format="set")
    assert not srx.candidate_changed()
    assert cu.diff() is None
    cu.lock()
    cu.load(f"set {AAMW} x verdict-threshold 3", format="set")
    cu.commit()
    assert not srx.candidate_changed()
    assert threshold(srx, "x") == "3"
    cu.unlock()
    dev.close()
