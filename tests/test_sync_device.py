"""One device, the whole workflow, over real SSH to the simulated SRX."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from deviceio import managed, sync
from deviceio.sync import Outcome, Step, SyncOptions
from tests.sync_support import (
    a_binding,
    a_policy,
    assert_clean,
    assert_exact,
    assert_unchanged,
    holds_intended,
    make_target,
    synced,
)


def test_import_does_not_load_the_device_stack():
    code = (
        "import sys, deviceio.sync, deviceio.workflow, deviceio.driver;"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('jnpr.junos', 'ncclient', 'paramiko'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_sync_puts_exactly_the_intended_configuration(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    target = make_target(srx)
    events = []

    [result] = sync.run_sync([target], SyncOptions(), on_event=events.append)

    assert result.outcome == Outcome.SYNCED, result.error
    assert result.error is None
    assert "policy imap-policy" in result.diff
    assert_exact(srx, target, before)
    assert_clean(srx)
    assert not srx.confirm_pending
    history = srx.commit_history
    assert history[0]["log"].endswith("(confirmation)")
    assert history[1]["log"] == result.commit_comment
    assert "imap-policy r1" in result.commit_comment
    assert "rollback in 5mins" in history[1]["comment"]
    steps = [e.step for e in events if e.status == "ok"]
    for step in (
        Step.CONNECT,
        Step.LOCK,
        Step.LOAD,
        Step.DIFF,
        Step.CHECK,
        Step.COMMIT,
        Step.VERIFY,
        Step.CONFIRM,
        Step.UNLOCK,
    ):
        assert step in steps
    assert Step.DISCARD not in steps
    assert result.rpc_count == 9
    assert set(managed.extract(result.managed_config)) == {
        ("aamw", "imap-policy"),
        ("security-policy", "trust", "untrust", "imap-scan"),
    }


def test_second_sync_changes_nothing(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = make_target(srx)
    [first] = sync.run_sync([target])
    commits = len(srx.commit_history)

    [second] = sync.run_sync([synced(target, first.managed_config)])

    assert second.outcome == Outcome.NO_CHANGE
    assert second.diff == ""
    assert len(srx.commit_history) == commits
    assert (
        managed.differing(
            managed.extract(second.managed_config),
            managed.extract(first.managed_config),
        )
        == []
    )
    assert_clean(srx)


def test_preview_commits_nothing(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    commits = len(srx.commit_history)

    [result] = sync.run_sync([make_target(srx)], SyncOptions(preview_only=True))

    assert result.outcome == Outcome.PREVIEWED
    assert "imap-policy" in result.diff
    assert len(srx.commit_history) == commits
    assert_unchanged(srx, before)
    assert_clean(srx)


def test_approved_diff_must_match_the_fresh_one(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = make_target(srx)
    [preview] = sync.run_sync([target], SyncOptions(preview_only=True))
    before = srx.running_config()

    stale = {target.name: preview.diff.replace("block", "permit")}
    [refused] = sync.run_sync([target], SyncOptions(approved_diffs=stale))
    assert refused.outcome == Outcome.PREVIEWED
    assert "not the one that was approved" in refused.error
    assert_unchanged(srx, before)
    assert_clean(srx)

    approved = {target.name: preview.diff}
    [result] = sync.run_sync([target], SyncOptions(approved_diffs=approved))
    assert result.outcome == Outcome.SYNCED
    assert_exact(srx, target, before)


def test_changed_and_removed_policies(fakesrx):  # noqa: F811
    srx = fakesrx()
    first_target = make_target(
        srx,
        policies=(a_policy("imap-a"), a_policy("imap-b")),
        bindings=(a_binding("scan-a", "imap-a"), a_binding("scan-b", "imap-b")),
    )
    [first] = sync.run_sync([first_target])
    assert first.outcome == Outcome.SYNCED
    before = srx.running_config()

    second_target = replace(
        synced(first_target, first.managed_config),
        policies=(a_policy("imap-a", action="permit", verdict_threshold="7"),),
        bindings=(a_binding("scan-a", "imap-a"),),
        removed_policies=("imap-b",),
        removed_bindings=(a_binding("scan-b", "imap-b"),),
        revision_label="imap-a r2",
    )
    [second] = sync.run_sync([second_target])

    assert second.outcome == Outcome.SYNCED, second.error
    assert "verdict-threshold 7" in second.diff
    assert_exact(srx, second_target, before)
    held = managed.extract(srx.running_config())
    assert ("aamw", "imap-b") not in held
    assert ("security-policy", "trust", "untrust", "scan-b") not in held
    assert set(managed.extract(second.managed_config)) == {
        ("aamw", "imap-a"),
        ("security-policy", "trust", "untrust", "scan-a"),
    }


def test_test_connection_reports_facts(fakesrx):  # noqa: F811
    srx = fakesrx(version="21.2R3-S4.8", model="srx1500")
    result = sync.test_connection(make_target(srx))
    assert result.outcome == Outcome.NO_CHANGE
    assert result.facts.model == "srx1500"
    assert result.facts.version == "21.2R3-S4.8"
    assert result.facts.serial
    assert result.facts.supports_imap()
    assert_clean(srx)


def test_release_without_imap_is_explained(fakesrx):  # noqa: F811
    srx = fakesrx(version="15.1X49-D170")
    result = sync.test_connection(make_target(srx))
    assert result.outcome == Outcome.FAILED
    assert "15.1X49-D170" in result.error and "18.1R1" in result.error


def test_fetch_managed_and_history(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = make_target(srx)
    assert managed.extract(sync.fetch_managed(target)) == {}
    [result] = sync.run_sync([target])

    fetched = managed.extract(sync.fetch_managed(target))
    assert not managed.differing(fetched, managed.extract(result.managed_config))
    history = sync.get_commit_history(target)
    assert history[0].sequence == 0
    assert history[1].log == result.commit_comment
    assert history[0].user == "admin"
    assert_clean(srx)


def test_rollback_previews_then_commits(fakesrx):  # noqa: F811
    srx = fakesrx()
    original = srx.running_config()
    target = make_target(srx)
    [result] = sync.run_sync([target])
    assert holds_intended(srx, target)
    target = synced(target, result.managed_config)

    # rollback 2: before the confirmed commit and its confirmation
    preview = sync.rollback_device(target, 2, preview_only=True)
    assert preview.outcome == Outcome.PREVIEWED
    assert "-           policy imap-policy" in preview.diff
    assert holds_intended(srx, target)
    assert_clean(srx)

    done = sync.rollback_device(
        target,
        2,
        preview_only=False,
        options=SyncOptions(approved_diffs={target.name: preview.diff}),
    )
    assert done.outcome == Outcome.SYNCED, done.error
    assert_unchanged(srx, original)
    assert managed.extract(done.managed_config) == {}
    assert_clean(srx)


def test_rollback_number_is_checked(fakesrx):  # noqa: F811
    srx = fakesrx()
    result = sync.rollback_device(make_target(srx), 0, preview_only=True)
    assert result.outcome == Outcome.FAILED
    assert "between 1 and 49" in result.error


def test_drift_is_detected_and_can_be_overwritten(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = make_target(srx)
    [first] = sync.run_sync([target])
    target = synced(target, first.managed_config)
    srx.commit_external_change(
        "set services advanced-anti-malware policy imap-policy verdict-threshold 9"
    )
    changed = srx.running_config()

    drift = sync.check_drift(target)
    assert drift.outcome == Outcome.DRIFTED
    assert "verdict-threshold 9" in drift.diff
    assert "changed outside IMAP Desk" in drift.error

    [blocked] = sync.run_sync([target])
    assert blocked.outcome == Outcome.DRIFTED
    assert "verdict-threshold 9" in blocked.diff
    assert_unchanged(srx, changed)
    assert_clean(srx)

    [forced] = sync.run_sync([target], SyncOptions(overwrite_drift=True))
    assert forced.outcome == Outcome.SYNCED, forced.error
    assert holds_intended(srx, target)
    assert sync.check_drift(synced(target, forced.managed_config)).outcome == (
        Outcome.NO_CHANGE
    )


def test_drift_elsewhere_is_ignored(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = make_target(srx)
    [first] = sync.run_sync([target])
    srx.commit_external_change("set system host-name renamed")
    result = sync.check_drift(synced(target, first.managed_config))
    assert result.outcome == Outcome.NO_CHANGE


def test_sync_over_base_10_framing(fakesrx):  # noqa: F811
    srx = fakesrx(netconf_11=False)
    before = srx.running_config()
    target = make_target(srx)
    [result] = sync.run_sync([target])
    assert result.outcome == Outcome.SYNCED, result.error
    assert_exact(srx, target, before)
    assert_clean(srx)


def test_removing_what_the_device_does_not_hold(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    target = make_target(
        srx,
        removed_policies=("retired",),
        removed_bindings=(a_binding("retired-scan", "retired"),),
    )
    [result] = sync.run_sync([target])
    assert result.outcome == Outcome.SYNCED, result.error
    assert "retired" not in result.diff
    assert_exact(srx, target, before)
    assert ("aamw", "retired") not in managed.extract(srx.running_config())
