"""What the administrator does to devices, each attempt recorded.

Every function here contacts devices through :mod:`deviceio.sync`, then
stores what it learnt: the audit entry (always), the host key trusted on
first contact, the facts, the last synced state, a commit whose outcome is
not yet known. Errors shown or stored are scrubbed of the passwords used.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from sqlite_utils import Database

import store
from deviceio import readback
from deviceio import sync as devsync
from deviceio.errors import DeviceError
from deviceio.hostkeys import same_key
from deviceio.render import Binding
from deviceio.sync import DeviceResult, DeviceTarget, Outcome, StepEvent, SyncOptions
from store import audit
from store import devices as inventory
from store.audit import AuditStep
from store.credentials import CredentialStore, scrub
from store.devices import KnownFacts, SecurityBinding, StoredDevice, SyncState
from store.policies import now

from .targets import (
    TargetError,
    build_target,
    from_binding,
    revision_label,
    to_binding,
)

log = logging.getLogger(__name__)

IN_SYNC = (Outcome.SYNCED, Outcome.NO_CHANGE)
NEVER_SYNCED = (
    "IMAP Desk has not synced this device yet, so there is nothing to compare it with."
)
HOSTKEY_OUTCOMES = (Outcome.HOSTKEY_UNKNOWN, Outcome.HOSTKEY_CHANGED)

EventCallback = Callable[[StepEvent], None]


class HostKeyRefused(Exception):
    """A key that differs from the pinned one, offered without confirmation."""


@dataclass(frozen=True)
class Context:
    """Where an attempt comes from, for the audit log."""

    source: str = ""
    job_id: str = ""


@dataclass(frozen=True)
class ImportedVersion:
    """The outcome of importing a device's version of its policy."""

    device: str
    policy: store.StoredPolicy
    changed: bool
    bindings_changed: bool
    unknown_fields: frozenset[str]
    warnings: tuple[str, ...]


# -- syncs ------------------------------------------------------------------------


def sync_devices(
    db: Database,
    devices: list[StoredDevice],
    options: SyncOptions,
    creds: CredentialStore,
    *,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    context: Context = Context(),
) -> list[DeviceResult]:
    """Preview or sync the devices' assigned policies; record each result.

    :raises TargetError: (or MissingPasswords) before any device is contacted.
    """
    # the revisions being sent, read with the targets as one state of the
    # store, so a policy saved meanwhile changes neither
    with store.read_snapshot(db):
        targets = [build_target(db, d, creds) for d in devices]
        revisions = [
            store.get_policy(db, d.device.policy_id).revision_id for d in devices
        ]
    started = now()
    results = devsync.run_sync(targets, options, on_event, cancel)
    action = "preview" if options.preview_only else "sync"
    for stored, target, revision, result in zip(
        devices, targets, revisions, results, strict=True
    ):
        _clean(result, creds, stored)
        _pin_first_key(db, stored, result, options.accept_new_host_key, context)
        if not options.preview_only:
            record = partial(_remember_sync, db, stored, target, result, revision)
            _guarded(result, record)
        _audit(db, action, stored, target, result, started, context, revision)
    return results


def _guarded(result: DeviceResult, record: Callable[[], object]) -> None:
    """Run ``record``; should it fail, say so in the result and go on, so the
    other devices' results and every audit entry are still recorded."""
    try:
        record()
    except Exception:
        log.exception("%s: recording the result failed", result.device)
        note = "IMAP Desk could not record this result; the details are in the log."
        result.error = f"{result.error} {note}" if result.error else note


def check_drift_all(
    db: Database,
    devices: list[StoredDevice],
    creds: CredentialStore,
    *,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    context: Context = Context(),
    max_workers: int = 10,
    accept_new_host_key: bool = False,
) -> list[DeviceResult]:
    """Compare each device with what was last synced to it; record each check.

    A device never synced is reported ``NO_CHANGE`` with an error saying so,
    unless a sync of unknown outcome is pending: the device is then asked
    what became of it, and that is recorded (see :func:`_settle_pending`).
    With ``accept_new_host_key`` a device without a pinned key has the key
    it presents pinned; a key other than the pinned one is still refused.
    """
    targets = [build_target(db, d, creds, need_policy=False) for d in devices]
    started = now()

    def check(target: DeviceTarget) -> DeviceResult:
        if cancel is not None and cancel.is_set():
            return DeviceResult(target.name, Outcome.CANCELLED)
        if target.last_synced is None and not target.pending_comment:
            return DeviceResult(target.name, Outcome.NO_CHANGE, error=NEVER_SYNCED)
        _emit(on_event, target.name, devsync.Step.DRIFT, "started")
        try:
            result = devsync.check_drift(
                target, accept_new_host_key=accept_new_host_key
            )
        except DeviceError as exc:
            result = DeviceResult(target.name, Outcome.FAILED, error=str(exc))
        settled = result.pending_outcome is Outcome.SYNCED
        if target.last_synced is None and not settled and not result.error:
            # the earlier sync left nothing: still nothing to compare with
            result.error = NEVER_SYNCED
        _emit(on_event, target.name, devsync.Step.DRIFT, _drift_status(result))
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(targets)))) as pool:
        results = list(pool.map(check, targets))
    for stored, target, result in zip(devices, targets, results, strict=True):
        _clean(result, creds, stored)
        _pin_first_key(db, stored, result, accept_new_host_key, context)
        target, revision, policy = _as_pending_sent(stored, target)
        if stored.pending is not None:
            _guarded(result, partial(_settle_pending, db, stored, target, result))
        if result.outcome is not Outcome.CANCELLED:
            _audit(
                db,
                "check-drift",
                stored,
                target,
                result,
                started,
                context,
                revision,
                policy_name=policy,
            )
    return results


def rollback(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    n: int,
    *,
    preview: bool,
    approved_diff: str | None = None,
    confirm_minutes: int = 5,
    on_event: EventCallback | None = None,
    context: Context = Context(),
) -> DeviceResult:
    """Preview or commit ``rollback n`` on one device; record it."""
    target = build_target(db, stored, creds, need_policy=False)
    approved = None if approved_diff is None else {stored.name: approved_diff}
    options = SyncOptions(confirm_minutes=confirm_minutes, approved_diffs=approved)
    started = now()
    result = devsync.rollback_device(target, n, preview, options, on_event)
    _clean(result, creds, stored)
    target = dataclasses.replace(target, revision_label=f"rollback {n}")
    action = "rollback-preview" if preview else "rollback"
    state = stored.sync_state
    done = not preview and result.outcome is Outcome.SYNCED
    if done and state is not None and result.managed_config is not None:
        # the device now holds the rolled-back version: measure drift from it
        inventory.record_sync_state(
            db,
            stored.id,
            dataclasses.replace(
                state,
                revision_label=f"rollback {n}",
                managed_config=result.managed_config,
                synced_at=now(),
            ),
        )
    _audit(
        db, action, stored, target, result, started, context, comment=f"rollback {n}"
    )
    return result


# -- single devices ---------------------------------------------------------------


def test_device(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    *,
    context: Context = Context(),
) -> DeviceResult:
    """Connect, check the host key and the release; keep the facts."""
    target = build_target(db, stored, creds, need_policy=False)
    started = now()
    result = devsync.test_connection(target)
    _clean(result, creds, stored)
    if result.facts is not None:
        facts = result.facts
        inventory.record_facts(
            db,
            stored.id,
            KnownFacts(
                hostname=facts.hostname,
                model=facts.model,
                version=facts.version,
                serial=facts.serial,
                supports_imap=facts.supports_imap(),
                checked_at=now(),
            ),
        )
    _audit(db, "test-connection", stored, target, result, started, context)
    return result


def resolve_pending(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    *,
    context: Context = Context(),
) -> DeviceResult:
    """Find out what became of a sync whose outcome was unknown.

    ``SYNCED`` (the device confirmed it), ``ROLLED_BACK``, ``FAILED`` (never
    committed) or ``UNKNOWN`` while the device still waits for confirmation.
    """
    # the device's policy may have been changed or deleted since
    target = build_target(db, stored, creds, need_policy=False)
    started = now()
    result = devsync.check_pending(target)
    _clean(result, creds, stored)
    target, revision, policy = _as_pending_sent(stored, target)
    _guarded(result, partial(_settle_pending, db, stored, target, result))
    _audit(
        db,
        "check-pending",
        stored,
        target,
        result,
        started,
        context,
        revision,
        policy_name=policy,
    )
    return result


def _as_pending_sent(
    stored: StoredDevice, target: DeviceTarget
) -> tuple[DeviceTarget, int | None, str | None]:
    """The target labelled with the revision of the device's pending sync,
    which may not be the newest one now, that revision's id and its policy's
    name (None when not known)."""
    pending = stored.pending
    if pending is None:
        return target, None, None
    if pending.revision_label:
        target = dataclasses.replace(target, revision_label=pending.revision_label)
    return target, pending.revision_id, pending.policy_name or None


def _settle_pending(
    db: Database, stored: StoredDevice, target: DeviceTarget, result: DeviceResult
) -> None:
    """Record what became of the device's earlier sync of unknown outcome.

    Confirmed: it is remembered as the device's last sync, with the policy,
    revision, security policies and configuration it sent (an earlier sync
    kept without them is remembered with the configuration read now, or not
    at all when its policy is not known). Rolled back or never committed: the
    device no longer waits for it. Still unconfirmed, or confirmed but not
    read: it stays pending. Nothing changes when another job settled it, or
    left a newer one, meanwhile.
    """
    pending = stored.pending
    if pending is None:
        return
    outcome = result.pending_outcome
    if outcome in (Outcome.ROLLED_BACK, Outcome.FAILED):
        inventory.settle_pending_sync(db, stored.id, pending.comment)
        return
    if outcome is not Outcome.SYNCED:
        return
    left = pending.expected if pending.expected is not None else result.managed_config
    if left is None:
        return
    state = None
    if pending.policy_name:
        bindings = pending.bindings
        state = _sync_state(
            pending.policy_name,
            pending.revision_id,
            target.revision_label,
            bindings if bindings is not None else stored.device.bindings,
            left,
        )
    inventory.settle_pending_sync(db, stored.id, pending.comment, state)


def _sync_state(
    policy_name: str,
    revision_id: int | None,
    revision_label: str,
    bindings: tuple[SecurityBinding, ...],
    managed_config: str,
) -> SyncState:
    return SyncState(
        policy_name=policy_name,
        revision_id=revision_id,
        revision_label=revision_label,
        bindings=bindings,
        managed_config=managed_config,
        synced_at=now(),
    )


def read_host_key(stored: StoredDevice) -> tuple[str, str]:
    """The key the device presents now, and its fingerprint.

    :raises DeviceError: with a sentence when the device cannot be reached.
    """
    pinned = stored.host_key.key_line if stored.host_key else None
    key_line = devsync.fetch_host_key(
        stored.device.host, stored.device.port, prefer=pinned, device=stored.name
    )
    return key_line, devsync.fingerprint(key_line)


def trust_host_key(
    db: Database,
    stored: StoredDevice,
    key_line: str,
    *,
    replace_changed: bool = False,
    context: Context = Context(),
) -> str:
    """Pin the key the administrator saw; returns its fingerprint.

    :raises HostKeyRefused: when another key is pinned and replacing it was
        not confirmed.
    :raises ValueError: when ``key_line`` is not a public key.
    """
    fp = devsync.fingerprint(key_line)
    old = stored.host_key
    if old is not None and not same_key(old.key_line, key_line) and not replace_changed:
        raise HostKeyRefused(
            f"{stored.name} already has a trusted key ({old.fingerprint}); "
            "replacing it needs your explicit confirmation."
        )
    inventory.trust_host_key(db, stored.id, key_line, fp)
    comment = f"Trusted {fp}" + (f" in place of {old.fingerprint}" if old else "")
    stamp = now()
    audit.record(
        db,
        action="trust-host-key",
        device_name=stored.name,
        device_id=stored.id,
        host=stored.device.host,
        outcome="trusted",
        comment=comment,
        started_at=stamp,
        finished_at=stamp,
        source=context.source,
        job_id=context.job_id,
    )
    return fp


def commit_history(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    *,
    accept_new_host_key: bool = False,
    context: Context = Context(),
) -> list[devsync.CommitEntry]:
    """The device's commit history, newest first.

    With ``accept_new_host_key`` a device without a pinned key has the key it
    presents pinned once the history was read over a session verified with
    that key; a key other than the pinned one is still refused.

    :raises DeviceError:
    """
    target = build_target(db, stored, creds, need_policy=False)
    first_key = None
    if accept_new_host_key and stored.host_key is None:
        first_key = devsync.fetch_host_key(
            stored.device.host, stored.device.port, device=stored.name
        )
        target = dataclasses.replace(target, pinned_host_key=first_key)
    history = devsync.get_commit_history(target)
    if first_key is not None:
        trust_host_key(db, stored, first_key, context=context)
    return history


def history_for_rollback(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    n: int | None,
    *,
    preview: bool,
    accept_new_host_key: bool = False,
    context: Context = Context(),
) -> list[devsync.CommitEntry]:
    """The commit history read before ``rollback n``, as :func:`commit_history`.

    A failed read is that rollback's audit entry, failed at the history step;
    ``n`` is None when the history is read to choose which rollback to make,
    and a failed read is then a ``read-history`` entry.

    :raises DeviceError: of the class the read raised, its message scrubbed
        of the passwords used.
    """
    rollback_label = "" if n is None else f"rollback {n}"
    started = now()
    clock = time.monotonic()
    try:
        return commit_history(
            db,
            stored,
            creds,
            accept_new_host_key=accept_new_host_key,
            context=context,
        )
    except DeviceError as exc:
        error = scrub(str(exc), _secrets(stored, creds))
        step = AuditStep(
            devsync.Step.HISTORY.value, "failed", error, time.monotonic() - clock
        )
        if n is None:
            action = "read-history"
        else:
            action = "rollback-preview" if preview else "rollback"
        audit.record(
            db,
            action=action,
            device_name=stored.name,
            device_id=stored.id,
            host=stored.device.host,
            revision_label=rollback_label,
            outcome=Outcome.FAILED.value,
            comment=rollback_label or "commit history",
            error=error,
            steps=(step,),
            started_at=started,
            finished_at=now(),
            source=context.source,
            job_id=context.job_id,
        )
        raise exc.reworded(error) from exc


def import_device_version(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    *,
    context: Context = Context(),
) -> ImportedVersion:
    """Make the device's version of its policy a new revision of that policy.

    The bindings found on the device for the policy replace the inventory's,
    and what the device holds becomes the baseline for the next drift check.

    :raises TargetError: when the device holds no such policy.
    :raises DeviceError:
    """
    target = build_target(db, stored, creds)
    current = store.get_policy(db, stored.device.policy_id)
    device_name = (
        stored.sync_state.policy_name if stored.sync_state else current.policy.name
    )
    started = now()
    try:
        managed = devsync.fetch_managed(target)
    except DeviceError as exc:
        failed = DeviceResult(stored.name, Outcome.FAILED, error=str(exc))
        _clean(failed, creds, stored)
        _audit(db, "import-device", stored, target, failed, started, context)
        raise
    found = readback.read_config(managed)
    read = found.policy(device_name)
    if read is None:
        raise TargetError(
            f"{stored.name} holds no anti-malware policy named {device_name}; "
            "there is nothing to import."
        )
    policy = dataclasses.replace(read.policy, name=current.policy.name)
    note = f"Imported from device {stored.name} on {started[:16].replace('T', ' ')}."
    placed = {b.key: b.place_before for b in stored.device.bindings}
    bindings = tuple(
        from_binding(b, placed.get(b.key, ""))
        for b in found.bindings
        if b.aamw_policy == device_name
    )
    bindings_changed = _rendered(bindings, device_name) != _rendered(
        stored.device.bindings, device_name
    )
    # the revision, the bindings, the drift baseline and the audit entry are
    # one change: a failure part-way keeps none of them
    with store.write_transaction(db):
        saved, changed = store.save_policy(db, current.id, policy, note)
        if bindings_changed:
            inventory.update_device(
                db,
                stored.id,
                dataclasses.replace(stored.device, bindings=bindings),
            )
        state = _sync_state(
            device_name,
            saved.revision_id,
            revision_label(saved),
            bindings,
            managed,
        )
        inventory.record_sync_state(db, stored.id, state)
        audit.record(
            db,
            action="import-device",
            device_name=stored.name,
            device_id=stored.id,
            host=stored.device.host,
            policy_name=saved.policy.name,
            revision_label=revision_label(saved),
            outcome="imported" if changed or bindings_changed else "no-change",
            comment=note,
            started_at=started,
            finished_at=now(),
            source=context.source,
            job_id=context.job_id,
        )
    return ImportedVersion(
        device=stored.name,
        policy=saved,
        changed=changed,
        bindings_changed=bindings_changed,
        unknown_fields=read.unknown_fields,
        warnings=tuple(found.warnings) + tuple(read.warnings),
    )


def _rendered(bindings: Iterable[SecurityBinding], aamw_policy: str) -> list[Binding]:
    # two inventories that put the same security policies on a device
    return [to_binding(b, aamw_policy) for b in bindings]


# -- recording --------------------------------------------------------------------


def audit_steps(events: Iterable[StepEvent]) -> list[AuditStep]:
    """The steps worth keeping: each step's last event."""
    events = list(events)
    kept = []
    for i, event in enumerate(events):
        later = any(e.step == event.step for e in events[i + 1 :])
        if event.status == "started" and later:
            continue
        kept.append(
            AuditStep(
                step=_value(event.step),
                status=event.status,
                message=event.message,
                elapsed=event.elapsed,
            )
        )
    return kept


def _value(item) -> str:
    return item.value if hasattr(item, "value") else str(item)


def _emit(on_event, device: str, step, status: str) -> None:
    if on_event is not None:
        on_event(StepEvent(device, step, status, "", 0.0))


def _drift_status(result: DeviceResult) -> str:
    """How a drift check's step ends: not compared at all is not "ok"."""
    if result.outcome is Outcome.FAILED or result.outcome in HOSTKEY_OUTCOMES:
        return "failed"
    if result.outcome is Outcome.UNKNOWN:
        return "skipped"
    return "ok"


def _secrets(stored: StoredDevice, creds: CredentialStore) -> list[str]:
    # a key file's passphrase is kept like a password, in the keyring too
    own = stored.device.auth in ("password", "key_file")
    found = [creds.get(stored.name) or ""] if own else []
    return [s for s in found + creds.known_secrets() if s]


def _clean(result: DeviceResult, creds: CredentialStore, stored: StoredDevice) -> None:
    secrets = _secrets(stored, creds)
    if result.error:
        result.error = scrub(result.error, secrets)
    for event in result.steps:
        if event.message:
            event.message = scrub(event.message, secrets)


def _pin_first_key(
    db: Database,
    stored: StoredDevice,
    result: DeviceResult,
    accept_new: bool,
    context: Context,
) -> None:
    if (
        accept_new
        and stored.host_key is None
        and result.host_key
        and result.outcome not in HOSTKEY_OUTCOMES
    ):
        trust_host_key(db, stored, result.host_key, context=context)


def _remember_sync(
    db: Database,
    stored: StoredDevice,
    target: DeviceTarget,
    result: DeviceResult,
    revision_id: int | None,
) -> None:
    """Record what a sync left on the device, or that its outcome is unknown.

    A sync that ended in sync supersedes an earlier one left pending; one
    that did not forgets it only when the device's history showed it rolled
    back or never committed.
    """
    if result.outcome is Outcome.UNKNOWN and result.commit_comment:
        pending = inventory.PendingSync(
            comment=result.commit_comment,
            revision_id=revision_id,
            revision_label=target.revision_label,
            policy_name=target.policies[0].name,
            bindings=stored.device.bindings,
            expected=devsync.expected_config(target),
        )
        inventory.set_pending_sync(db, stored.id, pending)
        return
    earlier = stored.pending
    if result.outcome not in IN_SYNC:
        # what the device holds after a failed sync is no baseline: an earlier
        # sync confirmed since stays pending until the device is read again
        if earlier and result.pending_outcome in (Outcome.ROLLED_BACK, Outcome.FAILED):
            inventory.settle_pending_sync(db, stored.id, earlier.comment)
        return
    state = None
    if result.managed_config is not None:
        state = _sync_state(
            target.policies[0].name,
            revision_id,
            target.revision_label,
            stored.device.bindings,
            result.managed_config,
        )
    # recorded with the earlier sync's settling, or alone when there is none
    settled = earlier is not None and inventory.settle_pending_sync(
        db, stored.id, earlier.comment, state
    )
    if not settled and state is not None:
        inventory.record_sync_state(db, stored.id, state)


def _audit(
    db: Database,
    action: str,
    stored: StoredDevice,
    target: DeviceTarget,
    result: DeviceResult,
    started: str,
    context: Context,
    revision_id: int | None = None,
    comment: str = "",
    policy_name: str | None = None,
) -> None:
    if policy_name is None:
        policy_name = target.policies[0].name if target.policies else ""
    audit.record(
        db,
        action=action,
        device_name=stored.name,
        device_id=stored.id,
        host=stored.device.host,
        policy_name=policy_name,
        revision_label=target.revision_label,
        revision_id=revision_id,
        outcome=_value(result.outcome),
        diff=result.diff or "",
        comment=result.commit_comment or comment,
        error=result.error or "",
        steps=audit_steps(result.steps),
        started_at=started,
        finished_at=now(),
        source=context.source,
        job_id=context.job_id,
    )
