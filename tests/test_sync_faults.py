"""Every fault the simulator offers, at every step of a sync.

Whatever happens, afterwards the device holds either exactly the intended
configuration or exactly what it held before (once a pending ``commit
confirmed`` has run out), no lock and no uncommitted change remain, and the
result says what happened.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from deviceio import sync
from deviceio.sync import Outcome, Step, SyncOptions
from tests.sync_support import (
    assert_clean,
    assert_exact,
    assert_unchanged,
    holds_intended,
    make_target,
    wait_for,
)

# the RPC each step sends
STEP_RPCS = {
    Step.LOCK: "lock-configuration",
    Step.DRIFT: "get-configuration",
    Step.LOAD: "load-configuration",
    Step.DIFF: "get-configuration",
    Step.CHECK: "commit-configuration",
    Step.COMMIT: "commit-configuration",
    Step.VERIFY: "get-configuration",
    Step.CONFIRM: "commit-configuration",
    Step.UNLOCK: "unlock-configuration",
}
BEFORE_COMMIT = (Step.LOCK, Step.DRIFT, Step.LOAD, Step.DIFF, Step.CHECK)
MINUTE = 0.25  # seconds in a simulated Junos minute
CONFIRM_MINUTES = 8  # two seconds: longer than an RPC timeout
FAST = SyncOptions(confirm_minutes=CONFIRM_MINUTES, timeout=1, connect_timeout=5)


def _armed(srx, step: Step, arm):
    """An event callback that switches a fault on as ``step`` starts."""

    def on_event(event):
        if event.step == step and event.status == "started":
            arm(srx.faults)

    return on_event


def _settle(srx) -> None:
    """Let a pending commit confirmed run out, and sessions end."""
    srx.faults.clear()
    wait_for(lambda: not srx.confirm_pending, CONFIRM_MINUTES * MINUTE * 8 + 5)


def _target(srx):
    # an empty last_synced: the drift step runs and finds nothing changed
    return make_target(srx, last_synced="<configuration/>")


def _check_either_state(srx, target, before, result) -> None:
    if holds_intended(srx, target):
        assert_exact(srx, target, before)
        assert result.outcome in (Outcome.SYNCED, Outcome.UNKNOWN)
    else:
        assert_unchanged(srx, before)
        assert result.outcome != Outcome.SYNCED
        assert result.error
    assert_clean(srx)


def _drop(after: bool, silent: bool = False):
    """Arm the drop fault: the device closes the connection before or after
    applying the RPC, or with ``silent`` stops answering, as a cut link."""

    def arm(faults, rpc):
        faults.drop_after_apply = after
        faults.silent_drop = silent
        faults.drop_at_rpc = rpc

    return arm


@pytest.mark.parametrize("how", ["before", "after", "silent"])
@pytest.mark.parametrize("step", list(STEP_RPCS), ids=lambda s: s.value)
def test_connection_dropped_at_each_step(fakesrx, step, how):  # noqa: F811
    srx = fakesrx(minute_seconds=MINUTE)
    before = srx.running_config()
    target = _target(srx)
    rpc = STEP_RPCS[step]
    after_apply = how == "after"
    arm = _drop(after_apply, silent=how == "silent")
    on_event = _armed(srx, step, lambda faults: arm(faults, rpc))

    [result] = sync.run_sync([target], FAST, on_event=on_event)
    _settle(srx)

    _check_either_state(srx, target, before, result)
    failed = [e for e in result.steps if e.status == "failed"]
    if step in BEFORE_COMMIT:
        assert result.outcome == Outcome.FAILED
        assert "Nothing was committed" in result.error
        assert failed and failed[0].step == step
    elif step == Step.COMMIT:
        # the commit history tells whether the commit happened
        assert any(e.step == Step.HISTORY for e in result.steps)
        expected = Outcome.SYNCED if after_apply else Outcome.FAILED
        assert result.outcome == expected, result.error
    elif step in (Step.VERIFY, Step.CONFIRM):
        assert result.outcome == Outcome.UNKNOWN
        assert "rolls the change back by itself" in result.error
        assert "next contact" in result.error
    else:
        assert result.outcome == Outcome.SYNCED


@pytest.mark.parametrize(
    "step",
    [s for s in STEP_RPCS if s is not Step.COMMIT],
    ids=lambda s: s.value,
)
def test_rpc_timeout_at_each_step(fakesrx, step):  # noqa: F811
    srx = fakesrx(minute_seconds=MINUTE)
    before = srx.running_config()
    target = _target(srx)

    def arm(faults):
        faults.latency = 1.6

    [result] = sync.run_sync([target], FAST, on_event=_armed(srx, step, arm))
    srx.faults.latency = 0
    _settle(srx)

    _check_either_state(srx, target, before, result)
    if step in BEFORE_COMMIT:
        assert result.outcome == Outcome.FAILED
        assert "did not answer" in result.error
    elif step in (Step.VERIFY, Step.CONFIRM):
        assert result.outcome == Outcome.UNKNOWN
    else:
        assert result.outcome == Outcome.SYNCED


def test_commit_timeout_is_checked_against_history(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    target = make_target(srx)

    def on_event(event):
        if event.status == "started":
            # only the commit confirmed is slow
            srx.faults.commit_delay = 1.5 if event.step == Step.COMMIT else 0

    options = SyncOptions(timeout=1, connect_timeout=5)
    [result] = sync.run_sync([target], options, on_event=on_event)
    srx.faults.clear()

    assert result.outcome == Outcome.SYNCED, result.error
    history_steps = [e for e in result.steps if e.step == Step.HISTORY]
    assert any("shows the commit" in e.message for e in history_steps)
    assert_exact(srx, target, before)
    assert_clean(srx)
    assert not srx.confirm_pending


def test_commit_error_leaves_the_device_as_before(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    srx.faults.commit_error = "mgd: daemon rejected the configuration"

    [result] = sync.run_sync([make_target(srx)])

    assert result.outcome == Outcome.FAILED
    assert "daemon rejected the configuration" in result.error
    assert "Nothing was committed" in result.error
    assert [e.step for e in result.steps if e.status == "failed"] == [Step.COMMIT]
    assert any(e.step == Step.DISCARD and e.status == "ok" for e in result.steps)
    assert_unchanged(srx, before)
    assert_clean(srx)


def test_commit_check_error_is_reported(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    target = make_target(srx, policies=())  # the binding names a missing policy

    [result] = sync.run_sync([target])

    assert result.outcome == Outcome.FAILED
    assert "commit check" in result.error or "refused" in result.error
    assert_unchanged(srx, before)
    assert_clean(srx)


def test_lock_held_by_another_user_names_them(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    srx.faults.lock_held_by = "jsmith"

    [result] = sync.run_sync([make_target(srx)])

    assert result.outcome == Outcome.FAILED
    assert "locked by jsmith" in result.error
    assert "request system logout user jsmith" in result.error
    srx.faults.clear()
    assert_unchanged(srx, before)
    assert_clean(srx)


def test_uncommitted_changes_of_someone_else_block_the_lock(fakesrx):  # noqa: F811
    srx = fakesrx()
    from tests.fakesrx import config as fakeconf

    srx.device.edit(
        None, lambda tree: fakeconf.load_set(tree, "set system host-name pending")
    )
    result = sync.run_sync([make_target(srx)])[0]
    assert result.outcome == Outcome.FAILED
    assert "uncommitted changes" in result.error


def test_refused_connection(fakesrx):  # noqa: F811
    srx = fakesrx()
    srx.faults.refuse_connections = True
    result = sync.test_connection(make_target(srx))
    assert result.outcome == Outcome.FAILED
    assert f"refused a connection on port {srx.port}" in result.error
    assert "set system services netconf ssh" in result.error


def test_unknown_host_name():
    target = sync.DeviceTarget(
        name="ghost",
        host="no-such-device.invalid",
        user="admin",
        credentials=sync.Credentials(password="x"),
        pinned_host_key=(
            "ssh-ed25519 "
            "AAAAC3NzaC1lZDI1NTE5AAAAIGh1bW1pbmdiaXJkZmVhdGhlcnNhcmVmaW5lIQ=="
        ),
    )
    result = sync.test_connection(target, timeout=5)
    assert result.outcome == Outcome.FAILED
    assert "cannot be resolved" in result.error


def test_rejected_credentials(fakesrx):  # noqa: F811
    srx = fakesrx()
    srx.faults.reject_credentials = True
    result = sync.test_connection(make_target(srx))
    assert result.outcome == Outcome.FAILED
    assert "refused the login of admin" in result.error


def test_wrong_password(fakesrx):  # noqa: F811
    srx = fakesrx()
    [result] = sync.run_sync([make_target(srx, password="not-the-password")])
    assert result.outcome == Outcome.FAILED
    assert "refused the login" in result.error


def test_netconf_not_enabled(fakesrx):  # noqa: F811
    srx = fakesrx()
    srx.faults.netconf_disabled = True
    result = sync.test_connection(make_target(srx))
    assert result.outcome == Outcome.FAILED
    assert "NETCONF is not enabled" in result.error
    assert "set system services netconf ssh" in result.error


def test_slow_device_still_syncs(fakesrx):  # noqa: F811
    srx = fakesrx()
    srx.faults.latency = 0.05
    before = srx.running_config()
    target = make_target(srx)
    [result] = sync.run_sync([target])
    assert result.outcome == Outcome.SYNCED
    assert_exact(srx, target, before)


def test_lost_connection_after_commit_rolls_back_and_is_reported(fakesrx):  # noqa: F811
    srx = fakesrx(minute_seconds=MINUTE)
    before = srx.running_config()
    target = make_target(srx)
    on_event = _armed(
        srx, Step.CONFIRM, lambda f: _drop(False)(f, STEP_RPCS[Step.CONFIRM])
    )

    [result] = sync.run_sync([target], FAST, on_event=on_event)

    assert result.outcome == Outcome.UNKNOWN
    assert result.managed_config is None
    assert srx.confirm_pending
    _settle(srx)
    assert_unchanged(srx, before)
    history = srx.commit_history
    assert history[0]["user"] == "root" and history[0]["client"] == "other"

    pending = replace(target, pending_comment=result.commit_comment)
    report = sync.check_pending(pending)
    assert report.outcome == Outcome.ROLLED_BACK
    assert "rolled it back by itself" in report.error

    [again] = sync.run_sync([pending])
    assert again.pending_outcome == Outcome.ROLLED_BACK
    assert again.outcome == Outcome.SYNCED
    assert_exact(srx, target, before)


def test_confirmation_that_arrived_is_recognised(fakesrx):  # noqa: F811
    srx = fakesrx(minute_seconds=MINUTE)
    target = make_target(srx)
    on_event = _armed(
        srx, Step.CONFIRM, lambda f: _drop(True)(f, STEP_RPCS[Step.CONFIRM])
    )
    [result] = sync.run_sync([target], FAST, on_event=on_event)
    assert result.outcome == Outcome.UNKNOWN
    _settle(srx)
    assert holds_intended(srx, target)

    report = sync.check_pending(replace(target, pending_comment=result.commit_comment))
    assert report.outcome == Outcome.SYNCED
    assert report.error is None


def test_unconfirmed_earlier_sync_is_confirmed_by_the_next(fakesrx):  # noqa: F811
    srx = fakesrx()  # a real minute: the commit stays pending
    before = srx.running_config()
    target = make_target(srx)
    arm = _armed(srx, Step.VERIFY, lambda f: _drop(False)(f, "get-configuration"))
    [result] = sync.run_sync([target], SyncOptions(timeout=5), on_event=arm)
    assert result.outcome == Outcome.UNKNOWN
    assert srx.confirm_pending

    pending = replace(target, pending_comment=result.commit_comment)
    assert sync.check_pending(pending).outcome == Outcome.UNKNOWN
    [again] = sync.run_sync([pending])
    # the device already held the change: this sync confirmed it
    assert any("not confirmed yet" in e.message for e in again.steps)
    assert again.pending_outcome == Outcome.SYNCED
    assert again.outcome == Outcome.SYNCED
    assert not srx.confirm_pending
    assert_exact(srx, target, before)
    assert_clean(srx)


def test_verification_mismatch_rolls_back(fakesrx, monkeypatch):  # noqa: F811
    from deviceio import driver as driver_module

    srx = fakesrx()
    before = srx.running_config()
    real = driver_module.JunosDriver.get_managed

    def lying(self, keys, database="committed"):
        found = real(self, keys, database)
        return {} if database == "committed" else found

    monkeypatch.setattr(driver_module.JunosDriver, "get_managed", lying)
    [result] = sync.run_sync([make_target(srx)])

    assert result.outcome == Outcome.ROLLED_BACK
    assert "does not hold the intended configuration" in result.error
    assert_unchanged(srx, before)
    assert_clean(srx)
    assert not srx.confirm_pending
