"""The sync workflow: one device's steps, and the phases across devices.

:class:`DeviceJob` carries one device through the steps described in
:mod:`deviceio.sync` in three calls — :meth:`~DeviceJob.prepare` (connect to
``commit check``), :meth:`~DeviceJob.commit` (``commit confirmed`` and
verification) and :meth:`~DeviceJob.confirm` — with
:meth:`~DeviceJob.abort` to undo whatever the job has done so far. Between
calls the job holds its session, lock and candidate but no thread, so
:func:`run_sync` can wait for every device at each phase without tying up
its bounded pool.

Every path out of a job goes through :meth:`DeviceJob._finish`, which
discards the candidate (``rollback 0``) if something was loaded and not
committed, releases the lock and closes the session. When the session is
already gone (lost connection, RPC timeout) it is dropped without further
RPCs; Junos then discards the uncommitted changes of an exclusive lock
holder and releases its lock by itself.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TypeVar

from lxml import etree

from . import managed
from .driver import JunosDriver
from .errors import (
    CommitCheckFailed,
    CommitFailed,
    ConnectionLost,
    DeviceError,
    HostKeyChanged,
    HostKeyError,
    LoadFailed,
    RpcTimeout,
)
from .hostkeys import fingerprint
from .sync import (
    IMAP_RELEASE,
    CommitEntry,
    DeviceResult,
    DeviceTarget,
    EventCallback,
    Outcome,
    Step,
    StepEvent,
    StepStatus,
    SyncOptions,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

COMMENT_PREFIX = "IMAP Desk"
CONFIRMATION = "(confirmation)"
_TOKEN_RE = re.compile(r"\[(?P<token>[0-9a-f]{8})\]")


class _Cancelled(Exception):
    """The administrator cancelled; raised between steps."""


class _VerifyMismatch(DeviceError):
    """After the commit, the device holds something other than intended."""


@dataclass
class _Plan:
    """What a job puts into the candidate: a rendered load or a rollback."""

    load: etree._Element | None = None
    rollback: int | None = None
    expected: managed.Elements = field(default_factory=dict)
    removed: set[managed.Key] = field(default_factory=set)
    keys: set[managed.Key] = field(default_factory=set)
    # security policies to create before another one, when the device lacks them
    placements: dict[managed.Key, str] = field(default_factory=dict)

    def copy(self) -> _Plan:
        """A plan for one more job: its own load document (PyEZ moves the
        element into its RPC) and key sets; the expected elements, which no
        job changes, are shared."""
        return _Plan(
            load=None if self.load is None else deepcopy(self.load),
            rollback=self.rollback,
            expected=self.expected,
            removed=set(self.removed),
            keys=set(self.keys),
            placements=self.placements,
        )


class _SharedPlans:
    """Renders each distinct change once for all the devices that get it.

    A fleet usually receives the same policies and bindings everywhere;
    rendering them once spares the client that work for every other device.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rendered: dict[tuple, _Plan] = {}

    def for_target(self, target: DeviceTarget) -> _Plan:
        """The target's plan; raises ValueError as :func:`plan_sync` does."""
        key = (
            target.policies,
            target.bindings,
            target.removed_policies,
            target.removed_bindings,
            target.last_synced,
        )
        with self._lock:
            shared = self._rendered.get(key)
            if shared is None:
                shared = self._rendered[key] = plan_sync(target)
        return shared.copy()


def plan_sync(target: DeviceTarget) -> _Plan:
    """Render the target's policies and bindings.

    :raises ValueError: when the change cannot be rendered, or security
        policies are placed before one another in a circle.
    """
    from .render import render_load

    load = render_load(
        target.policies,
        target.bindings,
        removed_policies=target.removed_policies,
        removed_bindings=target.removed_bindings,
    )
    keys = (
        managed.keys_in(load)
        | managed.keys_in(target.last_synced)
        | managed.keys_in(target.pending_expected)
    )
    placements = {
        managed.binding_key(*b.key): b.place_before
        for b in target.bindings
        if b.place_before is not None
    }
    managed.check_placements(placements)
    return _Plan(
        load=load,
        expected=managed.extract(load),
        removed=managed.deletions(load),
        keys=keys,
        placements=placements,
    )


def plan_rollback(target: DeviceTarget, number: int) -> _Plan:
    """A rollback; what to expect is read from the candidate once loaded."""
    if not 0 < number < 50:
        raise ValueError("A rollback number must be between 1 and 49.")
    keys = managed.keys_in(target.last_synced) | managed.keys_in(
        target.pending_expected
    )
    keys |= {managed.policy_key(p.name) for p in target.policies}
    keys |= {managed.binding_key(*b.key) for b in target.bindings}
    return _Plan(rollback=number, keys=keys)


def _same_diff(a: str, b: str) -> bool:
    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines()]

    return norm(a) == norm(b)


def _few(names: list[str]) -> str:
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:3])} and {len(names) - 3} others"


class DeviceJob:
    """One device's sync or rollback, one phase at a time."""

    def __init__(
        self,
        target: DeviceTarget,
        options: SyncOptions,
        on_event: EventCallback | None = None,
        cancel: threading.Event | None = None,
        plan: _Plan | None = None,
        shared_plans: _SharedPlans | None = None,
    ) -> None:
        self.target = target
        self.name = target.name
        self.options = options
        self.cancel = cancel or threading.Event()
        self._on_event = on_event
        self.plan = plan
        self._shared_plans = shared_plans
        self.token = uuid.uuid4().hex[:8]
        label = target.revision_label or "IMAP policies"
        self.comment = f"{COMMENT_PREFIX}: {label} [{self.token}]"
        self.result = DeviceResult(
            device=self.name, outcome=Outcome.FAILED, commit_comment=self.comment
        )
        self.driver: JunosDriver | None = None
        self.ready = False
        self.loaded = False
        self.committed = False
        self.verified = False
        self.finished = False
        self.pending_unconfirmed = False
        self._started = time.monotonic()

    # -- events --------------------------------------------------------------

    def _emit(self, step: Step, status: StepStatus, message: str) -> None:
        elapsed = round(time.monotonic() - self._started, 3)
        event = StepEvent(self.name, step, status, message, elapsed)
        self.result.steps.append(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                logger.exception("the progress callback failed for %s", self.name)

    def _run(
        self,
        step: Step,
        start: str,
        call: Callable[[], T],
        done: str | Callable[[T], str] = "",
    ) -> T:
        self._emit(step, "started", start)
        try:
            value = call()
        except Exception as exc:
            self._emit(step, "failed", _sentence(exc))
            lost = isinstance(exc, RpcTimeout | ConnectionLost)
            if lost and step != Step.COMMIT and self.driver is not None:
                # replies may still arrive out of turn: drop the session, and
                # Junos discards our uncommitted change and lock with it
                self.driver.abandon()
            raise
        self._emit(step, "ok", done(value) if callable(done) else (done or start))
        return value

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise _Cancelled

    # -- phase 1: up to commit check ------------------------------------------

    def prepare(self) -> None:
        """Connect, lock, check drift, load, diff and ``commit check``.

        Afterwards either :attr:`ready` is True (lock and candidate held,
        waiting for :meth:`commit`) or the job is finished with its outcome.
        """
        try:
            if self.plan is None and self._shared_plans is not None:
                self.plan = self._shared_plans.for_target(self.target)
            elif self.plan is None:
                self.plan = plan_sync(self.target)
            self._prepare()
        except _Cancelled:
            self._finish(
                Outcome.CANCELLED,
                f"Cancelled before anything was committed on {self.name}.",
            )
        except HostKeyError as exc:
            self._emit(Step.HOSTKEY, "failed", str(exc))
            self.result.host_key = exc.presented
            outcome = (
                Outcome.HOSTKEY_CHANGED
                if isinstance(exc, HostKeyChanged)
                else Outcome.HOSTKEY_UNKNOWN
            )
            self._finish(outcome, str(exc))
        except (LoadFailed, CommitCheckFailed) as exc:
            self._finish(Outcome.FAILED, self._explain_refusal(exc))
        except DeviceError as exc:
            self._finish(Outcome.FAILED, self._not_committed(exc))
        except ValueError as exc:
            self._finish(
                Outcome.FAILED, f"The change for {self.name} cannot be made: {exc}"
            )
        except Exception as exc:
            logger.exception("%s: unexpected error before commit", self.name)
            self._finish(
                Outcome.FAILED,
                f"An unexpected error stopped the work on {self.name} before "
                f"anything was committed: {type(exc).__name__}: {exc}",
            )

    def _prepare(self) -> None:
        self._check_cancel()
        self._connect()
        if self.target.pending_comment:
            self._resolve_pending()
        self._check_cancel()
        assert self.driver is not None
        self._run(Step.LOCK, "Locking the configuration", self.driver.lock, "Locked")
        self._check_cancel()
        if not self._load():
            return
        self._check_cancel()
        diff = self._run(
            Step.DIFF,
            "Comparing with the active configuration",
            self.driver.diff,
            lambda d: "Differences found" if d else "No differences",
        )
        self.result.diff = diff
        if not diff:
            self.loaded = False  # nothing to discard
            self._no_change()
            return
        self._check_cancel()
        self._check(diff)

    def _connect(self) -> None:
        target, options = self.target, self.options
        driver = JunosDriver(
            target,
            timeout=options.timeout,
            connect_timeout=options.connect_timeout,
            accept_new_host_key=options.accept_new_host_key,
        )
        self.driver = driver
        self._run(
            Step.CONNECT,
            f"Connecting to {target.host} port {target.port}",
            driver.open,
            "Connected",
        )
        self.result.host_key = driver.host_key
        self._emit(Step.HOSTKEY, "ok", self._host_key_note())

    def _load(self) -> bool:
        """Put the change into the candidate; False when drift stopped it."""
        plan, driver = self.plan, self.driver
        assert plan is not None and driver is not None
        if plan.load is None:
            self._run(
                Step.LOAD,
                f"Loading rollback {plan.rollback}",
                lambda: driver.load_rollback(plan.rollback or 0),
                "Loaded",
            )
            self.loaded = True
            return True
        state = self._read_state()
        if state is not None and not self._drift_allows_sync(state):
            return False
        self._check_cancel()
        absent = {k for k in plan.removed if state is not None and k not in state}
        if absent:
            # Junos answers a deletion of something absent with a warning
            plan.load = managed.drop_deletions(plan.load, absent)
        created = {
            k: name
            for k, name in plan.placements.items()
            if state is not None and k not in state
        }
        if created:
            plan.load = managed.place_new(plan.load, created)
        load = plan.load
        self._run(
            Step.LOAD, "Loading the configuration", lambda: driver.load(load), "Loaded"
        )
        self.loaded = True
        return True

    def _check(self, diff: str) -> None:
        """``commit check``, then stop for a preview or an unapproved diff."""
        plan, driver, options = self.plan, self.driver, self.options
        assert plan is not None and driver is not None
        if plan.rollback is not None:
            plan.expected = driver.get_managed(plan.keys, "candidate")
            plan.removed = plan.keys - set(plan.expected)
        self._run(
            Step.CHECK,
            "Running commit check",
            driver.commit_check,
            "Commit check passed",
        )
        self._check_cancel()
        if options.preview_only:
            self._finish(Outcome.PREVIEWED)
            return
        approved = options.approved_diffs
        if approved is not None and not _same_diff(approved.get(self.name, ""), diff):
            self._finish(
                Outcome.PREVIEWED,
                f"The change for {self.name} is not the one that was approved "
                "(the device or the policies changed since); review the new "
                "diff and approve it again. Nothing was committed.",
            )
            return
        self.ready = True

    def _host_key_note(self) -> str:
        key = self.result.host_key or ""
        if self.target.pinned_host_key is None:
            return f"New host key {fingerprint(key)} accepted; pin it"
        return f"Host key {fingerprint(key)} matches the pinned key"

    def _baseline(self) -> str | None:
        """What the device should hold of the managed subtrees: what an earlier
        sync of unknown outcome left, when the history shows it confirmed or
        still awaiting confirmation, else what was last synced."""
        target = self.target
        earlier = self.result.pending_outcome in (Outcome.SYNCED, Outcome.UNKNOWN)
        if earlier and target.pending_expected is not None:
            return target.pending_expected
        return target.last_synced

    def _wants_drift_check(self) -> bool:
        if self._baseline() is None:
            return False
        return self.pending_unconfirmed or not self.options.overwrite_drift

    def _read_state(self) -> managed.Elements | None:
        """Read the committed managed subtrees when drift is to be checked,
        something is to be deleted or a new security policy to be placed;
        None when none of these."""
        plan, driver = self.plan, self.driver
        assert plan is not None and driver is not None
        if not self._wants_drift_check():
            reason = (
                "Never synced: nothing to compare"
                if self._baseline() is None
                else "Overwriting any change on the device"
            )
            self._emit(Step.DRIFT, "skipped", reason)
            if not plan.removed and not plan.placements:
                return None
        return self._run(
            Step.DRIFT,
            "Reading the managed configuration",
            lambda: driver.get_managed(plan.keys),
            "Read",
        )

    def _drift_allows_sync(self, device: managed.Elements) -> bool:
        """Compare the device with its baseline; False when drifted."""
        plan = self.plan
        assert plan is not None
        if not self._wants_drift_check():
            return True
        baseline = managed.extract(self._baseline())
        intended = {k: v for k, v in baseline.items() if k not in plan.removed}
        intended.update(plan.expected)
        changed = managed.differing(baseline, device, plan.keys)
        if not changed or not managed.differing(intended, device, plan.keys):
            return True
        if self.options.overwrite_drift:
            return True
        self.result.diff = managed.diff_text(baseline, device)
        self.result.managed_config = managed.to_xml_text(device)
        where = "; ".join(managed.describe(k) for k in changed[:3])
        self._finish(
            Outcome.DRIFTED,
            f"{self.name} was changed outside IMAP Desk since the last sync "
            f"({where}). Nothing was written. Review the difference, then "
            "either import the device's version or sync again with overwrite.",
        )
        return False

    def _no_change(self) -> None:
        plan = self.plan
        assert plan is not None and self.driver is not None
        if self.pending_unconfirmed:
            # the earlier sync is in place but unconfirmed: confirm it now
            self._run(
                Step.CONFIRM,
                "Confirming the earlier unconfirmed commit",
                lambda: self.driver.commit(f"{self.comment} {CONFIRMATION}"),
                "Confirmed",
            )
            self.pending_unconfirmed = False
            self.result.pending_outcome = Outcome.SYNCED
            self.result.managed_config = managed.to_xml_text(
                self.driver.get_managed(plan.keys)
            )
            self._finish(Outcome.SYNCED)
            return
        if plan.rollback is None:
            baseline = managed.extract(self.target.last_synced)
            state = {k: v for k, v in baseline.items() if k not in plan.removed}
            state.update(plan.expected)
            self.result.managed_config = managed.to_xml_text(state)
        self._finish(Outcome.NO_CHANGE)

    def _resolve_pending(self) -> None:
        assert self.driver is not None
        history = self._run(
            Step.HISTORY,
            "Reading the commit history for the earlier sync",
            self.driver.commit_history,
            "Read",
        )
        outcome, sentence = pending_state(
            history, self.target.pending_comment or "", self.name
        )
        self.result.pending_outcome = outcome
        self.pending_unconfirmed = outcome == Outcome.UNKNOWN
        self._emit(Step.HISTORY, "ok", sentence)

    def _explain_refusal(self, exc: DeviceError) -> str:
        """When a load or check fails, say so plainly if the release is too
        old for IMAP (one extra RPC, only on this path)."""
        message = self._not_committed(exc)
        driver = self.driver
        if driver is None or not driver.connected:
            return message
        try:
            facts = driver.facts()
        except DeviceError:
            return message
        self.result.facts = facts
        if facts.supports_imap():
            return message
        major, minor = IMAP_RELEASE
        return (
            f"{self.name} runs Junos {facts.version or 'of an unknown release'}, "
            f"which has no IMAP inspection (it arrived in {major}.{minor}R1); "
            "upgrade the device. Nothing was committed."
        )

    def _not_committed(self, exc: Exception) -> str:
        text = _sentence(exc)
        if isinstance(exc, ConnectionLost | RpcTimeout) and self.loaded:
            return (
                f"{text} Nothing was committed; the device discards the "
                "uncommitted change and releases its lock when the session ends."
            )
        return text if self.driver is None else f"{text} Nothing was committed."

    # -- phase 2: commit confirmed and verification ---------------------------

    def commit(self) -> bool:
        """``commit confirmed`` and check the result; True when verified.

        On failure the job is finished: ``FAILED`` when nothing was
        committed, ``ROLLED_BACK`` when the commit was undone, ``UNKNOWN``
        when the connection was lost after it.
        """
        assert self.ready and self.driver is not None and self.plan is not None
        minutes = self.options.confirm_minutes
        try:
            try:
                self._run(
                    Step.COMMIT,
                    f"Committing, confirmed for {minutes} minutes",
                    lambda: self.driver.commit(self.comment, minutes),
                    "Committed; waiting for verification",
                )
            except (RpcTimeout, ConnectionLost):
                if not self._commit_went_through():
                    return False
            self.committed = True
            logger.info(
                "%s: committed %s (confirmed %d min)", self.name, self.comment, minutes
            )
            self._verify()
            self.verified = True
            return True
        except CommitFailed as exc:
            self._finish(Outcome.FAILED, self._not_committed(exc))
        except _VerifyMismatch as exc:
            self.undo(str(exc))
        except DeviceError as exc:
            if self.committed:
                self._lost_after_commit(exc)
            else:
                self._finish(Outcome.FAILED, self._not_committed(exc))
        except Exception as exc:
            logger.exception("%s: unexpected error during commit", self.name)
            if self.committed:
                self._lost_after_commit(exc)
            else:
                self._finish(Outcome.FAILED, self._not_committed(exc))
        return False

    def _verify(self) -> None:
        plan, driver = self.plan, self.driver
        assert plan is not None and driver is not None
        self._emit(Step.VERIFY, "started", "Reading back the managed configuration")
        try:
            device = driver.get_managed(plan.keys)
        except Exception as exc:
            self._emit(Step.VERIFY, "failed", _sentence(exc))
            raise
        wanted = plan.keys & (set(plan.expected) | plan.removed)
        wrong = managed.differing(plan.expected, device, wanted)
        self.result.managed_config = managed.to_xml_text(device)
        if wrong:
            where = "; ".join(managed.describe(k) for k in wrong[:3])
            self._emit(Step.VERIFY, "failed", f"Differs from intended: {where}")
            raise _VerifyMismatch(
                f"After the commit, {self.name} does not hold the intended "
                f"configuration ({where})",
                device=self.name,
            )
        self._emit(Step.VERIFY, "ok", "The device holds the intended configuration")

    def _commit_went_through(self) -> bool:
        """After a commit timed out or lost its connection: read the history
        (on this session, where the request waits behind the commit, else on
        a new one) to learn whether it happened."""
        assert self.driver is not None
        history: list[CommitEntry] | None = None
        try:
            history = self._run(
                Step.HISTORY,
                "The commit got no answer; reading the commit history",
                self.driver.commit_history,
                "Read",
            )
        except DeviceError:
            self.driver.abandon()
            history = self._history_on_new_session()
        if history is None:
            self._finish(
                Outcome.UNKNOWN,
                f"{self.name} did not answer the commit and could not be "
                "asked again. If the commit went through, the device rolls it "
                f"back by itself within {self.options.confirm_minutes} minutes "
                "because it is never confirmed; the next contact checks the "
                "commit history.",
            )
            return False
        if not any(self.token in e.comment + e.log for e in history):
            self._finish(
                Outcome.FAILED,
                f"{self.name} did not answer the commit and its commit "
                "history does not show it: nothing was committed. If the device "
                "finishes it later, it rolls it back by itself within "
                f"{self.options.confirm_minutes} minutes since it is never "
                "confirmed.",
            )
            return False
        self._emit(Step.HISTORY, "ok", "The commit history shows the commit")
        self.committed = True
        if not self.driver.locked:
            self._relock()
        return True

    def _history_on_new_session(self) -> list[CommitEntry] | None:
        target = self.target
        if target.pinned_host_key is None and self.result.host_key:
            target = _with_key(target, self.result.host_key)
        driver = JunosDriver(
            target,
            timeout=self.options.timeout,
            connect_timeout=self.options.connect_timeout,
        )
        self._close_result()
        self.driver = driver
        try:
            self._run(Step.CONNECT, "Reconnecting", driver.open, "Connected")
            return self._run(
                Step.HISTORY,
                "Reading the commit history",
                driver.commit_history,
                "Read",
            )
        except DeviceError:
            driver.abandon()
            return None

    def _relock(self) -> None:
        """Take the lock on a new session, waiting for the old one to go."""
        assert self.driver is not None
        deadline = time.monotonic() + self.options.timeout
        while True:
            try:
                self._run(Step.LOCK, "Locking again", self.driver.lock, "Locked")
                return
            except DeviceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    # -- phase 3: confirmation ----------------------------------------------

    def confirm(self) -> None:
        """Confirm the commit with a plain ``commit``, unlock and close."""
        assert self.committed and self.driver is not None
        driver = self.driver
        try:
            self._run(
                Step.CONFIRM,
                "Confirming the commit",
                lambda: driver.commit(f"{self.comment} {CONFIRMATION}"),
                "Confirmed",
            )
        except CommitFailed as exc:
            # the device answered and refused: take the change back now
            self.undo(str(exc).rstrip("."))
            return
        except Exception as exc:
            self._lost_after_commit(exc, confirming=True)
            return
        logger.info("%s: synced (%s)", self.name, self.comment)
        self.committed = False
        self.loaded = False
        self._finish(Outcome.SYNCED)

    # -- undo ------------------------------------------------------------------

    def abort(self, reason: str, outcome: Outcome = Outcome.FAILED) -> None:
        """Undo what this job did: discard, or roll back a commit."""
        if self.finished:
            return
        if self.committed:
            self.undo(reason)
        else:
            self._finish(outcome, reason)

    def undo(self, reason: str) -> None:
        """Take back our ``commit confirmed`` before it is confirmed.

        The commit history says where our commit stands: when it is the
        newest, ``rollback 1`` (the configuration before it) is loaded and
        committed; when the device already rolled it back by itself there is
        nothing to do; when someone committed after it, nothing is touched
        and the outcome is ``UNKNOWN``.
        """
        driver = self.driver
        assert driver is not None
        self._emit(Step.ROLLBACK, "started", "Rolling back the commit")
        try:
            history = driver.commit_history()
            state, sentence = pending_state(history, self.comment, self.name)
            ours = [e for e in history if self.token in e.comment + " " + e.log]
            if ours and ours[0].sequence == 0 and state == Outcome.UNKNOWN:
                driver.load_rollback(1)
                driver.commit(f"{self.comment} rolled back")
                note = "Rolled back"
            elif state == Outcome.ROLLED_BACK:
                note = "The device had already rolled the commit back by itself"
            else:
                self._emit(Step.ROLLBACK, "failed", sentence)
                self._lost_after_commit(
                    DeviceError(
                        f"{reason}; the change could not be rolled back safely "
                        f"({sentence})",
                        device=self.name,
                    )
                )
                return
        except Exception as exc:
            self._emit(Step.ROLLBACK, "failed", _sentence(exc))
            self._lost_after_commit(exc)
            return
        self._emit(Step.ROLLBACK, "ok", note)
        self.committed = False
        self.loaded = False
        if self.plan is not None:
            try:
                self.result.managed_config = managed.to_xml_text(
                    driver.get_managed(self.plan.keys)
                )
            except DeviceError:
                self.result.managed_config = None
        logger.info("%s: rolled back: %s", self.name, reason)
        self._finish(
            Outcome.ROLLED_BACK,
            f"{reason}. The change was rolled back; {self.name} is as before.",
        )

    def _lost_after_commit(self, exc: BaseException, confirming: bool = False) -> None:
        minutes = self.options.confirm_minutes
        what = "while confirming it" if confirming else "after the commit"
        self.result.managed_config = None
        if self.driver is not None:
            self.driver.abandon()
        logger.warning("%s: %s %s", self.name, _sentence(exc), what)
        self.finished = True
        self.result.outcome = Outcome.UNKNOWN
        self.result.error = (
            f"{_sentence(exc)} The change was committed with commit confirmed "
            f"{minutes} {what}; unless the confirmation reached the device, it "
            f"rolls the change back by itself within {minutes} minutes. The "
            "next contact checks the commit history and reports what happened."
        )
        self._close_result()

    # -- the end -------------------------------------------------------------

    def _finish(self, outcome: Outcome, error: str | None = None) -> None:
        """Discard anything uncommitted, unlock, close; record the outcome."""
        if self.finished:
            return
        self.finished = True
        self.ready = False
        driver = self.driver
        if driver is not None and driver.connected:
            if self.loaded and not self.committed:
                self._tidy(
                    Step.DISCARD,
                    "Discarding the candidate (rollback 0)",
                    lambda: driver.load_rollback(0),
                )
            if driver.connected and driver.locked:
                self._tidy(Step.UNLOCK, "Unlocking the configuration", driver.unlock)
            driver.close()
        elif driver is not None:
            driver.abandon()
        self.result.outcome = outcome
        self.result.error = error
        self._close_result()
        logger.info("%s: %s%s", self.name, outcome.value, f": {error}" if error else "")

    def _tidy(self, step: Step, start: str, call: Callable[[], object]) -> None:
        """One clean-up step: a failure is reported and never raised."""
        try:
            self._run(step, start, call, "Done")
        except DeviceError:
            pass  # a lost session is dropped by _run; Junos cleans up after it
        except Exception:
            logger.exception("%s: %s failed", self.name, step.value)
            if self.driver is not None:
                self.driver.abandon()

    def _close_result(self) -> None:
        if self.driver is not None:
            self.result.rpc_count += self.driver.rpc_count
            self.driver.rpc_count = 0

    def run(self) -> DeviceResult:
        """All phases for this device alone."""
        self.prepare()
        if self.ready and self.commit():
            self.confirm()
        return self.result


def pending_state(
    history: list[CommitEntry], comment: str, device: str
) -> tuple[Outcome, str]:
    """What became of the sync whose commit carried ``comment``."""
    match = _TOKEN_RE.search(comment)
    token = match.group("token") if match else comment
    mine = [e for e in history if token and token in e.comment + " " + e.log]
    if not mine:
        return Outcome.FAILED, (
            f"The earlier sync to {device} was never committed; nothing changed."
        )
    if any(CONFIRMATION in e.comment + " " + e.log for e in mine):
        return (
            Outcome.SYNCED,
            f"The earlier sync to {device} was committed and confirmed.",
        )
    newest = min(e.sequence for e in mine)
    newer = sorted(
        (e for e in history if e.sequence < newest), key=lambda e: -e.sequence
    )
    if not newer:
        return Outcome.UNKNOWN, (
            f"The earlier sync to {device} is committed but not confirmed yet; "
            "the device rolls it back unless it is confirmed."
        )
    after = newer[0]
    text = (after.comment + " " + after.log).lower()
    if after.client == "other" or "rollback" in text or "rolled back" in text:
        return Outcome.ROLLED_BACK, (
            f"The earlier sync to {device} was not confirmed in time and the "
            "device rolled it back by itself."
        )
    return Outcome.SYNCED, (
        f"The earlier sync to {device} was confirmed by a later commit of "
        f"{after.user or 'another user'}."
    )


def _with_key(target: DeviceTarget, key: str) -> DeviceTarget:
    from dataclasses import replace

    return replace(target, pinned_host_key=key)


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, DeviceError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# -- many devices --------------------------------------------------------------


def run_sync(
    targets: list[DeviceTarget],
    options: SyncOptions,
    on_event: EventCallback | None,
    cancel: threading.Event | None,
) -> list[DeviceResult]:
    """See :func:`deviceio.sync.run_sync`."""
    cancel = cancel or threading.Event()
    emit = _serialised(on_event)
    plans = _SharedPlans()
    jobs = [
        DeviceJob(target, options, emit, cancel, shared_plans=plans)
        for target in targets
    ]
    if not jobs:
        return []
    workers = max(1, min(options.max_workers, len(jobs)))
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="imapdesk-sync") as pool:
            if options.preview_only or not options.all_or_nothing:
                list(pool.map(DeviceJob.run, jobs))
            else:
                _two_phase(jobs, pool, cancel)
    finally:
        for job in jobs:
            if not job.finished:  # never leave a session, lock or candidate
                job.abort(f"The work on {job.name} stopped unexpectedly")
    return [job.result for job in jobs]


def _two_phase(
    jobs: list[DeviceJob], pool: ThreadPoolExecutor, cancel: threading.Event
) -> None:
    list(pool.map(DeviceJob.prepare, jobs))
    ready = [job for job in jobs if job.ready]
    blockers = [
        job
        for job in jobs
        if not job.ready
        and job.result.outcome != Outcome.NO_CHANGE
        and job.result.outcome != Outcome.SYNCED
    ]
    if cancel.is_set():
        _abort_all(ready, "Cancelled before anything was committed", Outcome.CANCELLED)
        return
    if blockers:
        names = _few([job.name for job in blockers])
        _abort_all(
            ready,
            f"Not committed because {names} did not pass every check "
            "(all or nothing); the candidate was discarded",
        )
        return
    for job in ready:
        job._emit(Step.WAIT, "ok", "Every device passed commit check")
    list(pool.map(DeviceJob.commit, ready))
    failed = [job for job in ready if not job.verified]
    verified = [job for job in ready if job.verified]
    if failed:
        names = _few([job.name for job in failed])
        _abort_all(verified, f"Rolled back because {names} failed to commit")
        return
    list(pool.map(DeviceJob.confirm, verified))


def _abort_all(
    jobs: list[DeviceJob], reason: str, outcome: Outcome = Outcome.FAILED
) -> None:
    if not jobs:
        return
    with ThreadPoolExecutor(min(len(jobs), 10)) as pool:
        list(pool.map(lambda job: job.abort(reason, outcome), jobs))


def _serialised(on_event: EventCallback | None) -> EventCallback | None:
    if on_event is None:
        return None
    lock = threading.Lock()

    def emit(event: StepEvent) -> None:
        with lock:
            on_event(event)

    return emit


# -- single-device operations ------------------------------------------------------


def rollback_device(
    target: DeviceTarget,
    n: int,
    preview_only: bool,
    options: SyncOptions,
    on_event: EventCallback | None,
) -> DeviceResult:
    """See :func:`deviceio.sync.rollback_device`."""
    from dataclasses import replace

    opts = replace(options, preview_only=preview_only)
    try:
        plan = plan_rollback(target, n)
    except ValueError as exc:
        return DeviceResult(device=target.name, outcome=Outcome.FAILED, error=str(exc))
    job = DeviceJob(target, opts, on_event, plan=plan)
    label = f"rollback {n}" + (
        f" ({target.revision_label})" if target.revision_label else ""
    )
    job.comment = f"{COMMENT_PREFIX}: {label} [{job.token}]"
    job.result.commit_comment = job.comment
    return job.run()


class _Contact:
    """A short read-only session: open, do something, close."""

    def __init__(self, target: DeviceTarget, timeout: float, accept: bool) -> None:
        self.job = DeviceJob(
            target,
            SyncOptions(
                timeout=timeout,
                connect_timeout=min(timeout, 15),
                accept_new_host_key=accept,
            ),
        )
        self.job.comment = ""
        self.job.result.commit_comment = ""
        self.job.result.outcome = Outcome.NO_CHANGE

    def __enter__(self) -> DeviceJob:
        job = self.job
        driver = JunosDriver(
            job.target,
            timeout=job.options.timeout,
            connect_timeout=job.options.connect_timeout,
            accept_new_host_key=job.options.accept_new_host_key,
        )
        job.driver = driver
        job._run(
            Step.CONNECT, f"Connecting to {job.target.host}", driver.open, "Connected"
        )
        job.result.host_key = driver.host_key
        job._emit(Step.HOSTKEY, "ok", job._host_key_note())
        return job

    def __exit__(self, *exc_info: object) -> None:
        job = self.job
        if job.driver is not None:
            job.driver.close()
            job._close_result()


def _contact_result(
    target: DeviceTarget,
    timeout: float,
    accept: bool,
    body: Callable[[DeviceJob], None],
) -> DeviceResult:
    contact = _Contact(target, timeout, accept)
    job = contact.job
    try:
        with contact:
            body(job)
    except HostKeyError as exc:
        job._emit(Step.HOSTKEY, "failed", str(exc))
        job.result.host_key = exc.presented
        job.result.outcome = (
            Outcome.HOSTKEY_CHANGED
            if isinstance(exc, HostKeyChanged)
            else Outcome.HOSTKEY_UNKNOWN
        )
        job.result.error = str(exc)
    except DeviceError as exc:
        job.result.outcome = Outcome.FAILED
        job.result.error = str(exc)
    return job.result


def test_connection(
    target: DeviceTarget, timeout: float, accept_new_host_key: bool
) -> DeviceResult:
    """See :func:`deviceio.sync.test_connection`."""

    def body(job: DeviceJob) -> None:
        assert job.driver is not None
        facts = job._run(
            Step.FACTS,
            "Reading the software release",
            lambda: job.driver.facts(serial=True),
            lambda f: f"{f.model} running Junos {f.version}",
        )
        job.result.facts = facts
        if not facts.supports_imap():
            major, minor = IMAP_RELEASE
            job.result.outcome = Outcome.FAILED
            job.result.error = (
                f"{target.name} runs Junos {facts.version or '(unknown release)'}, "
                f"which has no IMAP inspection (it arrived in {major}.{minor}R1); "
                "upgrade the device before syncing IMAP policies to it."
            )

    return _contact_result(target, timeout, accept_new_host_key, body)


test_connection.__test__ = False  # type: ignore[attr-defined]


def _managed_keys(target: DeviceTarget) -> set[managed.Key]:
    try:
        return plan_sync(target).keys
    except ValueError:
        return plan_rollback(target, 1).keys


def check_drift(
    target: DeviceTarget, timeout: float, accept_new_host_key: bool
) -> DeviceResult:
    """See :func:`deviceio.sync.check_drift`."""

    def body(job: DeviceJob) -> None:
        assert job.driver is not None
        keys = _managed_keys(target)
        pending = ""
        if target.pending_comment:
            job._resolve_pending()
            pending = job.result.steps[-1].message
        device = job._run(
            Step.DRIFT,
            "Reading the managed configuration",
            lambda: job.driver.get_managed(keys),
            "Read",
        )
        job.result.managed_config = managed.to_xml_text(device)
        if job.result.pending_outcome is Outcome.UNKNOWN:
            # the device rolls that commit back by itself unless it is
            # confirmed: neither it nor the last sync is the baseline yet
            job.result.outcome = Outcome.UNKNOWN
            job.result.error = pending
            return
        if job.result.pending_outcome is Outcome.SYNCED:
            # the earlier sync went through: what it left is the baseline,
            # when it was kept; else what the device holds is taken as it
            if target.pending_expected is None:
                return
            baseline_text = target.pending_expected
        elif target.last_synced is None:
            return
        else:
            baseline_text = target.last_synced
        baseline = managed.extract(baseline_text)
        changed = managed.differing(baseline, device, keys)
        if changed:
            job.result.outcome = Outcome.DRIFTED
            job.result.diff = managed.diff_text(baseline, device)
            where = "; ".join(managed.describe(k) for k in changed[:3])
            job.result.error = (
                f"{target.name} was changed outside IMAP Desk since the last "
                f"sync ({where})."
            )

    return _contact_result(target, timeout, accept_new_host_key, body)


def check_pending(
    target: DeviceTarget, timeout: float, accept_new_host_key: bool
) -> DeviceResult:
    """See :func:`deviceio.sync.check_pending`."""

    def body(job: DeviceJob) -> None:
        assert job.driver is not None
        if not target.pending_comment:
            job.result.outcome = Outcome.NO_CHANGE
            return
        job._resolve_pending()
        outcome = job.result.pending_outcome or Outcome.UNKNOWN
        job.result.outcome = outcome
        if outcome != Outcome.SYNCED:
            job.result.error = job.result.steps[-1].message
        device = job.driver.get_managed(_managed_keys(target))
        job.result.managed_config = managed.to_xml_text(device)

    return _contact_result(target, timeout, accept_new_host_key, body)


def expected_config(target: DeviceTarget) -> str:
    """See :func:`deviceio.sync.expected_config`."""
    return managed.to_xml_text(plan_sync(target).expected)


def fetch_managed(
    target: DeviceTarget, timeout: float, accept_new_host_key: bool
) -> str:
    """See :func:`deviceio.sync.fetch_managed`."""
    with _Contact(target, timeout, accept_new_host_key) as job:
        assert job.driver is not None
        return managed.to_xml_text(job.driver.get_managed(_managed_keys(target)))


def get_commit_history(
    target: DeviceTarget, timeout: float, accept_new_host_key: bool
) -> list[CommitEntry]:
    """See :func:`deviceio.sync.get_commit_history`."""
    with _Contact(target, timeout, accept_new_host_key) as job:
        assert job.driver is not None
        return job.driver.commit_history()
