"""A sync whose outcome is unknown is remembered and resolved later."""

from __future__ import annotations

import dataclasses
import time

import pytest
from keyring.backends import fail

import store
from deviceio.sync import Outcome, Step, SyncOptions
from fleet import actions
from store import audit
from store import devices as inv
from store.credentials import CredentialStore

PASSWORD = "fake-srx-password"


@pytest.fixture
def creds() -> CredentialStore:
    creds = CredentialStore(fail.Keyring())
    creds.remember("srx-1", PASSWORD)
    return creds


def _device(db, srx) -> inv.StoredDevice:
    store.ensure_default_policy(db)
    stored = inv.create_device(
        db,
        inv.Device.from_dict(
            {
                "name": "srx-1",
                "host": srx.host,
                "port": srx.port,
                "user": "admin",
                "policy_id": 1,
            }
        ),
    )
    key = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"
    inv.trust_host_key(db, stored.id, key, srx.fingerprint)
    return inv.get_device(db, stored.id)


def _lose_connection_at_confirm(srx):
    def on_event(event):
        if event.step == Step.CONFIRM and event.status == "started":
            srx.faults.drop_at_rpc = "commit-configuration"

    return on_event


def _unknown_sync(db, srx, creds, minutes: int) -> inv.StoredDevice:
    stored = _device(db, srx)
    options = SyncOptions(confirm_minutes=minutes, timeout=2, connect_timeout=5)
    [result] = actions.sync_devices(
        db, [stored], options, creds, on_event=_lose_connection_at_confirm(srx)
    )
    assert result.outcome is Outcome.UNKNOWN, result.error
    stored = inv.get_device(db, stored.id)
    assert stored.pending.comment == result.commit_comment
    srx.faults.clear()
    return stored


def test_a_later_sync_confirms_the_earlier_commit(db, fakesrx, creds):
    srx = fakesrx(minute_seconds=2)
    stored = _unknown_sync(db, srx, creds, minutes=5)

    [result] = actions.sync_devices(db, [stored], SyncOptions(), creds)

    assert result.outcome is Outcome.SYNCED, result.error
    again = inv.get_device(db, stored.id)
    assert again.pending is None
    assert again.sync_state is not None


def test_checking_after_the_device_rolled_back(db, fakesrx, creds):
    srx = fakesrx(minute_seconds=0.25)
    stored = _unknown_sync(db, srx, creds, minutes=4)
    deadline = time.monotonic() + 20
    while srx.confirm_pending:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    result = actions.resolve_pending(db, stored, creds)

    assert result.outcome is Outcome.ROLLED_BACK
    assert inv.get_device(db, stored.id).pending is None
    assert (
        audit.list_entries(db, audit.AuditFilter(action="check-pending"))[0].outcome
        == "rolled-back"
    )


def test_a_later_check_records_the_revision_that_was_pending(db, fakesrx, creds):
    srx = fakesrx(minute_seconds=2)
    stored = _device(db, srx)
    sent = store.get_policy(db, 1)

    def confirm_then_drop(event):
        # the confirmation reaches the device; its answer never comes back
        if event.step == Step.CONFIRM and event.status == "started":
            srx.faults.drop_after_apply = True
            srx.faults.drop_at_rpc = "commit-configuration"

    options = SyncOptions(timeout=2, connect_timeout=5)
    [unknown] = actions.sync_devices(
        db, [stored], options, creds, on_event=confirm_then_drop
    )
    srx.faults.clear()
    stored = inv.get_device(db, stored.id)
    newer = dataclasses.replace(sent.policy, subject="Quarantined")
    store.save_policy(db, sent.id, newer, "saved while the sync was unknown")

    result = actions.resolve_pending(db, stored, creds)

    assert unknown.outcome is Outcome.UNKNOWN, unknown.error
    assert stored.pending.revision_id == sent.revision_id
    assert result.outcome is Outcome.SYNCED, result.error
    (entry,) = audit.list_entries(db, audit.AuditFilter(action="check-pending"))
    assert (entry.revision_id, entry.revision_label) == (
        sent.revision_id,
        "imap-policy r1",
    )
    (sync,) = audit.list_entries(db, audit.AuditFilter(action="sync"))
    assert sync.revision_id == sent.revision_id
    again = inv.get_device(db, stored.id)
    assert again.pending is None
    assert again.sync_state.revision_id == sent.revision_id
    assert again.sync_state.revision_label == "imap-policy r1"


def _synced_then_edited(db, srx, creds, subject: str) -> inv.StoredDevice:
    """A device synced once, its policy saved again since."""
    stored = _device(db, srx)
    [first] = actions.sync_devices(db, [stored], SyncOptions(), creds)
    assert first.outcome is Outcome.SYNCED, first.error
    policy = store.get_policy(db, 1)
    edited = dataclasses.replace(policy.policy, subject=subject)
    store.save_policy(db, policy.id, edited, "edited after the first sync")
    return inv.get_device(db, stored.id)


def _confirmed_but_unanswered(db, srx, creds, stored=None) -> inv.StoredDevice:
    """A sync whose confirmation reached the device, its answer never back."""
    stored = stored or _device(db, srx)

    def confirm_then_drop(event):
        if event.step == Step.CONFIRM and event.status == "started":
            srx.faults.drop_after_apply = True
            srx.faults.drop_at_rpc = "commit-configuration"

    options = SyncOptions(timeout=2, connect_timeout=5)
    [unknown] = actions.sync_devices(
        db, [stored], options, creds, on_event=confirm_then_drop
    )
    assert unknown.outcome is Outcome.UNKNOWN, unknown.error
    srx.faults.clear()
    return inv.get_device(db, stored.id)


def test_a_drift_check_settles_a_confirmed_earlier_sync(db, fakesrx, creds):
    srx = fakesrx(minute_seconds=2)
    stored = _confirmed_but_unanswered(db, srx, creds)
    sent = store.get_policy(db, 1)

    [result] = actions.check_drift_all(db, [stored], creds)

    assert result.outcome is Outcome.NO_CHANGE, result.error
    assert result.pending_outcome is Outcome.SYNCED
    again = inv.get_device(db, stored.id)
    assert again.pending is None
    assert again.sync_state.revision_id == sent.revision_id
    (entry,) = audit.list_entries(db, audit.AuditFilter(action="check-drift"))
    assert entry.revision_id == sent.revision_id
    # the settled state is the baseline of the next check
    [later] = actions.check_drift_all(db, [again], creds)
    assert (later.outcome, later.pending_outcome) == (Outcome.NO_CHANGE, None)


def test_a_drift_check_waits_for_an_unconfirmed_earlier_sync(db, fakesrx, creds):
    srx = fakesrx(minute_seconds=2)
    stored = _unknown_sync(db, srx, creds, minutes=5)
    events = []

    [result] = actions.check_drift_all(db, [stored], creds, on_event=events.append)

    assert result.outcome is Outcome.UNKNOWN
    assert "not confirmed yet" in result.error
    assert [(e.step, e.status) for e in events][-1] == (Step.DRIFT, "skipped")
    assert inv.get_device(db, stored.id).pending == stored.pending


def test_a_drift_check_after_a_roll_back_compares_with_the_last_sync(
    db, fakesrx, creds
):
    srx = fakesrx(minute_seconds=0.25)
    stored = _synced_then_edited(db, srx, creds, "Held")
    options = SyncOptions(confirm_minutes=4, timeout=2, connect_timeout=5)
    [unknown] = actions.sync_devices(
        db, [stored], options, creds, on_event=_lose_connection_at_confirm(srx)
    )
    assert unknown.outcome is Outcome.UNKNOWN, unknown.error
    srx.faults.clear()
    deadline = time.monotonic() + 20
    while srx.confirm_pending:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stored = inv.get_device(db, stored.id)

    [result] = actions.check_drift_all(db, [stored], creds)

    assert result.pending_outcome is Outcome.ROLLED_BACK
    assert result.outcome is Outcome.NO_CHANGE, result.error
    again = inv.get_device(db, stored.id)
    assert again.pending is None
    assert again.sync_state.revision_label == "imap-policy r1"


def test_a_policy_deleted_during_an_unknown_sync_loses_nothing(
    db, data_dir, fakesrx, creds
):
    srx = fakesrx(minute_seconds=2)
    stored = _device(db, srx)
    elsewhere = store.connect(data_dir / store.DB_FILENAME)

    def delete_then_drop(event):
        if event.step == Step.CONFIRM and event.status == "started":
            store.delete_policy(elsewhere, 1)
            srx.faults.drop_after_apply = True
            srx.faults.drop_at_rpc = "commit-configuration"

    options = SyncOptions(timeout=2, connect_timeout=5)
    try:
        [result] = actions.sync_devices(
            db, [stored], options, creds, on_event=delete_then_drop
        )
    finally:
        elsewhere.close()

    assert result.outcome is Outcome.UNKNOWN, result.error
    again = inv.get_device(db, stored.id)
    assert again.pending.comment == result.commit_comment
    assert again.pending.revision_id is None, "the revision is gone"
    assert again.pending.revision_label == "imap-policy r1"
    (entry,) = audit.list_entries(db, audit.AuditFilter(action="sync"))
    assert entry.outcome == "unknown"


def test_settling_remembers_what_the_pending_sync_sent(db, fakesrx, creds):
    srx = fakesrx(minute_seconds=2)
    stored = _device(db, srx)
    sent = (inv.SecurityBinding("trust", "untrust", "imap-scan"),)
    stored = inv.update_device(
        db, stored.id, dataclasses.replace(stored.device, bindings=sent)
    )
    stored = _confirmed_but_unanswered(db, srx, creds, stored)
    later = (inv.SecurityBinding("trust", "dmz", "imap-dmz"),)
    inv.update_device(db, stored.id, dataclasses.replace(stored.device, bindings=later))
    stored = inv.get_device(db, stored.id)

    [result] = actions.check_drift_all(db, [stored], creds)

    assert result.pending_outcome is Outcome.SYNCED, result.error
    state = inv.get_device(db, stored.id).sync_state
    assert state.bindings == sent
    assert state.policy_name == "imap-policy"
    assert "imap-scan" in state.managed_config
    # IMAP Desk's own change is not taken for a change made outside it
    [later] = actions.check_drift_all(db, [inv.get_device(db, stored.id)], creds)
    assert later.outcome is Outcome.NO_CHANGE, later.error


def test_a_confirmed_sync_is_settled_with_what_it_sent_without_a_read(
    db, fakesrx, creds
):
    srx = fakesrx(minute_seconds=2)
    stored = _confirmed_but_unanswered(db, srx, creds)
    srx.faults.drop_at_rpc = "get-configuration"

    [result] = actions.check_drift_all(db, [stored], creds)

    assert (result.outcome, result.pending_outcome) == (
        Outcome.FAILED,
        Outcome.SYNCED,
    )
    again = inv.get_device(db, stored.id)
    assert again.pending is None
    assert again.sync_state.managed_config == stored.pending.expected
    assert "imap-policy" in again.sync_state.managed_config


def test_a_confirmed_sync_kept_without_what_it_sent_waits_for_a_read(
    db, fakesrx, creds
):
    srx = fakesrx(minute_seconds=2)
    stored = _confirmed_but_unanswered(db, srx, creds)
    # as a sync left pending before its configuration was kept
    db.execute("UPDATE devices SET pending_config = NULL WHERE id = ?", [stored.id])
    stored = inv.get_device(db, stored.id)
    srx.faults.drop_at_rpc = "get-configuration"

    [result] = actions.check_drift_all(db, [stored], creds)

    assert result.outcome is Outcome.FAILED
    assert result.pending_outcome is Outcome.SYNCED
    again = inv.get_device(db, stored.id)
    assert again.pending == stored.pending
    assert again.sync_state is None
    srx.faults.clear()
    [settled] = actions.check_drift_all(db, [again], creds)
    assert settled.outcome is Outcome.NO_CHANGE, settled.error
    assert inv.get_device(db, stored.id).sync_state is not None


def test_a_sync_left_pending_before_its_bindings_were_kept(db):
    store.ensure_default_policy(db)
    stored = inv.create_device(
        db,
        inv.Device.from_dict(
            {"name": "srx-9", "host": "192.0.2.9", "user": "admin", "policy_id": 1}
        ),
    )
    db.execute(
        "UPDATE devices SET pending_comment = 'IMAP Desk: old [abcd1234]' WHERE id = ?",
        [stored.id],
    )

    pending = inv.get_device(db, stored.id).pending

    assert pending.comment == "IMAP Desk: old [abcd1234]"
    assert (pending.bindings, pending.revision_id, pending.policy_name) == (
        None,
        None,
        "",
    )


def test_a_sync_left_pending_before_the_upgrade_is_labelled_with_its_revision(
    data_dir,
):
    path = data_dir / store.DB_FILENAME
    db = store.connect(path)
    try:
        store.db.migrations.apply(db, stop_before="m008_pending_sync")
        store.ensure_default_policy(db)
        sent = store.get_policy(db, 1)
        newer = dataclasses.replace(sent.policy, subject="Quarantined")
        store.save_policy(db, sent.id, newer, "saved while the sync was unknown")
        db.execute(
            "INSERT INTO devices (name, host, user, auth, policy_id, "
            "pending_comment, pending_revision_id, created_at, updated_at) "
            "VALUES ('srx-old', 'fw.example.net', 'admin', 'password', 1, "
            "'IMAP Desk: imap-policy r1 [abcd1234]', ?, '', '')",
            [sent.revision_id],
        )
        store.db.migrations.apply(db)
        pending = inv.get_device_by_name(db, "srx-old").pending
    finally:
        db.close()

    assert pending.revision_id == sent.revision_id
    assert (pending.revision_label, pending.policy_name) == (
        "imap-policy r1",
        "imap-policy",
    )
    assert (pending.bindings, pending.expected) == (None, None)


def test_settling_is_skipped_when_another_job_left_a_newer_pending_sync(
    db, fakesrx, creds
):
    srx = fakesrx(minute_seconds=2)
    stored = _confirmed_but_unanswered(db, srx, creds)
    newer = dataclasses.replace(stored.pending, comment="IMAP Desk: newer [feedf00d]")
    inv.set_pending_sync(db, stored.id, newer)

    [result] = actions.check_drift_all(db, [stored], creds)

    assert result.pending_outcome is Outcome.SYNCED
    again = inv.get_device(db, stored.id)
    assert again.pending == newer, "the newer pending sync is kept"
    assert again.sync_state is None


def test_a_sync_after_a_confirmed_unanswered_one_is_not_taken_for_drift(
    db, fakesrx, creds
):
    srx = fakesrx(minute_seconds=2)
    stored = _synced_then_edited(db, srx, creds, "Second")
    stored = _confirmed_but_unanswered(db, srx, creds, stored)
    policy = store.get_policy(db, 1)
    store.save_policy(
        db, policy.id, dataclasses.replace(policy.policy, subject="Third"), "three"
    )

    [result] = actions.sync_devices(db, [stored], SyncOptions(), creds)

    assert result.pending_outcome is Outcome.SYNCED
    assert result.outcome is Outcome.SYNCED, result.error
    again = inv.get_device(db, stored.id)
    assert again.pending is None
    assert again.sync_state.revision_label == "imap-policy r3"
