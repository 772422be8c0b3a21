"""Many devices at once: parallel sync, all or nothing, cancellation."""

from __future__ import annotations

import threading
from collections import defaultdict

from deviceio import sync
from deviceio.sync import Outcome, Step, SyncOptions
from tests.sync_support import (
    assert_clean,
    assert_exact,
    assert_unchanged,
    make_target,
)


def _fleet(fakesrx, count):  # noqa: F811
    devices = fakesrx.many(count)
    return devices, [d.running_config() for d in devices]


def test_many_devices_end_exactly_as_intended(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 5)
    targets = [make_target(d) for d in devices]
    events = defaultdict(list)
    lock = threading.Lock()

    def on_event(event):
        with lock:
            events[event.device].append(event)

    results = sync.run_sync(targets, SyncOptions(max_workers=5), on_event=on_event)

    assert [r.device for r in results] == [t.name for t in targets]
    for srx, target, old, result in zip(devices, targets, before, results, strict=True):
        assert result.outcome == Outcome.SYNCED, result.error
        assert_exact(srx, target, old)
        assert_clean(srx)
        ok = [e.step for e in events[target.name] if e.status == "ok"]
        assert ok.index(Step.CHECK) < ok.index(Step.WAIT) < ok.index(Step.COMMIT)
        assert ok.index(Step.VERIFY) < ok.index(Step.CONFIRM)
        assert result.steps == events[target.name]


def test_fewer_workers_than_devices_do_not_deadlock(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 4)
    targets = [make_target(d) for d in devices]
    results = sync.run_sync(targets, SyncOptions(max_workers=2))
    assert [r.outcome for r in results] == [Outcome.SYNCED] * 4
    for srx, target, old in zip(devices, targets, before, strict=True):
        assert_exact(srx, target, old)
        assert_clean(srx)


def test_one_failure_before_commit_stops_all(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 4)
    devices[1].faults.lock_held_by = "jsmith"
    targets = [make_target(d) for d in devices]

    results = sync.run_sync(targets, SyncOptions(all_or_nothing=True))

    assert results[1].outcome == Outcome.FAILED
    assert "jsmith" in results[1].error
    for index in (0, 2, 3):
        assert results[index].outcome == Outcome.FAILED
        assert "Not committed because srx-2" in results[index].error
        assert any(e.step == Step.DISCARD for e in results[index].steps)
    devices[1].faults.clear()
    for srx, old in zip(devices, before, strict=True):
        assert_unchanged(srx, old)
        assert_clean(srx)


def test_an_unknown_host_key_blocks_all(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 3)
    targets = [make_target(d, pinned=(i != 2)) for i, d in enumerate(devices)]
    results = sync.run_sync(targets)
    assert results[2].outcome == Outcome.HOSTKEY_UNKNOWN
    assert {r.outcome for r in results[:2]} == {Outcome.FAILED}
    for srx, old in zip(devices, before, strict=True):
        assert_unchanged(srx, old)
        assert_clean(srx)


def test_one_commit_failure_rolls_back_the_others(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 3)
    devices[2].faults.commit_error = "mgd: commit failed on the backup routing engine"
    targets = [make_target(d) for d in devices]

    results = sync.run_sync(targets)

    assert results[2].outcome == Outcome.FAILED
    assert "backup routing engine" in results[2].error
    for index in (0, 1):
        assert results[index].outcome == Outcome.ROLLED_BACK, results[index].error
        assert "because srx-3 failed to commit" in results[index].error
    devices[2].faults.clear()
    for srx, old in zip(devices, before, strict=True):
        assert_unchanged(srx, old)
        assert_clean(srx)
        assert not srx.confirm_pending


def test_without_all_or_nothing_the_others_go_ahead(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 3)
    devices[0].faults.refuse_connections = True
    targets = [make_target(d) for d in devices]

    results = sync.run_sync(targets, SyncOptions(all_or_nothing=False))

    assert results[0].outcome == Outcome.FAILED
    assert [r.outcome for r in results[1:]] == [Outcome.SYNCED, Outcome.SYNCED]
    for srx, target, old in zip(devices[1:], targets[1:], before[1:], strict=True):
        assert_exact(srx, target, old)
        assert_clean(srx)


def test_cancel_cleans_up_every_device(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 3)
    targets = [make_target(d) for d in devices]
    cancel = threading.Event()

    def on_event(event):
        if event.step == Step.DIFF and event.status == "ok":
            cancel.set()

    results = sync.run_sync(targets, on_event=on_event, cancel=cancel)

    assert {r.outcome for r in results} == {Outcome.CANCELLED}
    for srx, old, result in zip(devices, before, results, strict=True):
        assert "Cancelled" in result.error
        assert_unchanged(srx, old)
        assert_clean(srx)


def test_cancel_without_all_or_nothing(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 2)
    targets = [make_target(d) for d in devices]
    cancel = threading.Event()

    def on_event(event):
        if event.step == Step.LOAD and event.status == "ok":
            cancel.set()

    options = SyncOptions(all_or_nothing=False, max_workers=1)
    results = sync.run_sync(targets, options, on_event=on_event, cancel=cancel)

    assert results[0].outcome == Outcome.CANCELLED
    assert any(e.step == Step.DISCARD for e in results[0].steps)
    assert results[1].outcome == Outcome.CANCELLED
    assert not any(e.step == Step.CONNECT for e in results[1].steps)
    for srx, old in zip(devices, before, strict=True):
        assert_unchanged(srx, old)
        assert_clean(srx)


def test_preview_of_many(fakesrx):  # noqa: F811
    devices, before = _fleet(fakesrx, 3)
    targets = [make_target(d) for d in devices]
    results = sync.run_sync(targets, SyncOptions(preview_only=True))
    assert {r.outcome for r in results} == {Outcome.PREVIEWED}
    assert all("imap-policy" in r.diff for r in results)
    for srx, old in zip(devices, before, strict=True):
        assert_unchanged(srx, old)
        assert_clean(srx)
