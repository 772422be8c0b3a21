"""Each simulated fault shows PyEZ what a real device in trouble shows it."""

from __future__ import annotations

import time

import pytest
from jnpr.junos import Device
from jnpr.junos.exception import (
    CommitError,
    ConnectAuthError,
    ConnectClosedError,
    ConnectError,
    ConnectRefusedError,
    LockError,
    RpcTimeoutError,
)
from jnpr.junos.utils.config import Config
from ncclient.transport.errors import SSHUnknownHostError

from tests.fakesrx import Faults

SET_POLICY = "set services advanced-anti-malware policy p1 verdict-threshold 6"


def threshold(srx) -> str | None:
    return srx.running_config().findtext(
        "services/advanced-anti-malware/policy[name='p1']/verdict-threshold"
    )


def test_refused_connection_and_reopening(fakesrx):
    srx = fakesrx()
    srx.faults.refuse_connections = True
    with pytest.raises(ConnectRefusedError):
        Device(**fakesrx.pyez_args(srx)).open()

    srx.faults.refuse_connections = False
    with Device(**fakesrx.pyez_args(srx)) as dev:
        assert dev.connected


def test_rejected_credentials(fakesrx):
    srx = fakesrx(faults=Faults(reject_credentials=True))
    with pytest.raises(ConnectAuthError):
        Device(**fakesrx.pyez_args(srx)).open()


def test_wrong_password(fakesrx):
    srx = fakesrx()
    with pytest.raises(ConnectAuthError):
        Device(**fakesrx.pyez_args(srx, password="wrong")).open()


def test_different_host_key_fails_verification(fakesrx):
    srx = fakesrx()
    with Device(**fakesrx.pyez_args(srx, verify_host_key=True)) as dev:
        assert dev.connected

    srx.faults.wrong_host_key = True
    with pytest.raises(ConnectRefusedError) as caught:
        Device(**fakesrx.pyez_args(srx, verify_host_key=True)).open()
    # PyEZ reports a refused connection; the cause is the unknown host key
    assert isinstance(caught.value.__context__, SSHUnknownHostError)


def test_netconf_not_enabled(fakesrx):
    srx = fakesrx(faults=Faults(netconf_disabled=True))
    with pytest.raises(ConnectError) as caught:
        Device(**fakesrx.pyez_args(srx)).open()
    assert "Channel closed" in str(caught.value)


def test_lock_held_by_another_user(fakesrx):
    srx = fakesrx()
    srx.faults.lock_held_by = "otheradmin"
    with Device(**fakesrx.pyez_args(srx)) as dev:
        with pytest.raises(LockError) as caught:
            Config(dev).lock()
        message = caught.value.rpc_error["message"]
        assert message.startswith("configuration database locked by:")
        assert "otheradmin" in message
        assert srx.lock_owner == "otheradmin"

        srx.faults.lock_held_by = None
        assert Config(dev).lock()


def test_latency_is_added_to_every_rpc(fakesrx):
    srx = fakesrx()
    with Device(**fakesrx.pyez_args(srx)) as dev:
        start = time.monotonic()
        dev.rpc.get_software_information()
        quick = time.monotonic() - start
        srx.faults.latency = 0.4
        start = time.monotonic()
        dev.rpc.get_software_information()
        assert time.monotonic() - start >= quick + 0.35


def test_drop_before_commit_leaves_device_unchanged(fakesrx):
    srx = fakesrx()
    with Device(**fakesrx.pyez_args(srx)) as dev:
        cu = Config(dev)
        cu.load(SET_POLICY, format="set")
        srx.faults.drop_at_rpc = "commit-configuration"
        start = time.monotonic()
        with pytest.raises(ConnectClosedError):
            cu.commit()
        assert time.monotonic() - start < 2, "the connection closed at once"
    assert threshold(srx) is None
    assert srx.candidate_changed()
    assert srx.sessions == 0
    assert srx.faults.drop_at_rpc is None, "drop_once clears the fault"


def test_drop_after_commit_applies_it(fakesrx):
    srx = fakesrx()
    srx.faults.drop_at_rpc = "commit-configuration"
    srx.faults.drop_after_apply = True
    with Device(**fakesrx.pyez_args(srx)) as dev:
        cu = Config(dev)
        cu.load(SET_POLICY, format="set")
        with pytest.raises(ConnectClosedError):
            cu.commit(comment="lost reply")
    assert threshold(srx) == "6"
    assert srx.commit_history[0]["log"] == "lost reply"


def test_silent_drop_answers_nothing_and_closes_nothing(fakesrx):
    srx = fakesrx()
    srx.faults.drop_at_rpc = "commit-configuration"
    srx.faults.drop_after_apply = True
    srx.faults.silent_drop = True
    dev = Device(**fakesrx.pyez_args(srx)).open()
    cu = Config(dev)
    cu.load(SET_POLICY, format="set")
    with pytest.raises(RpcTimeoutError):
        cu.commit(timeout=1, comment="never answered")
    assert threshold(srx) == "6", "the commit happened"
    with pytest.raises(RpcTimeoutError):
        dev.rpc.get_software_information(dev_timeout=1)
    assert dev.connected
    assert srx.sessions == 1, "the device still holds the session"


def test_commit_error(fakesrx):
    srx = fakesrx()
    srx.faults.commit_error = "daemon rejected the configuration"
    with Device(**fakesrx.pyez_args(srx)) as dev:
        cu = Config(dev)
        cu.load(SET_POLICY, format="set")
        assert cu.commit_check()
        with pytest.raises(CommitError) as caught:
            cu.commit()
    assert "daemon rejected" in str(caught.value)
    assert threshold(srx) is None


def test_slow_commit_times_out_but_still_applies(fakesrx):
    srx = fakesrx(faults=Faults(commit_delay=2.0))
    with Device(**fakesrx.pyez_args(srx)) as dev:
        cu = Config(dev)
        cu.load(SET_POLICY, format="set")
        with pytest.raises(RpcTimeoutError):
            cu.commit(timeout=1, comment="slow")
    deadline = time.monotonic() + 5
    while threshold(srx) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threshold(srx) == "6"
    assert srx.commit_history[0]["log"] == "slow"


def test_external_change_between_syncs(fakesrx):
    srx = fakesrx()
    with Device(**fakesrx.pyez_args(srx)) as dev:
        cu = Config(dev)
        cu.load(SET_POLICY, format="set")
        cu.commit(comment="sync 1")

        srx.commit_external_change(
            "set services advanced-anti-malware policy p1 verdict-threshold 9",
            user="otheradmin",
        )

        assert cu.diff() is None, "the candidate follows the new configuration"
        history = dev.rpc.get_commit_information()
        assert history.findtext("commit-history/user") == "otheradmin"
        assert history.findtext("commit-history/client") == "cli"
        running = dev.rpc.get_config(options={"database": "committed"})
        assert running.findtext(".//verdict-threshold") == "9"


def test_faults_parse_from_command_line_words():
    faults = Faults.parse(["latency=0.2", "lock-held-by=bob", "netconf_disabled"])
    assert (faults.latency, faults.lock_held_by, faults.netconf_disabled) == (
        0.2,
        "bob",
        True,
    )
    with pytest.raises(ValueError):
        Faults.parse(["no-such-fault"])
