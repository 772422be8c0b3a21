"""Work on devices that outlives a request: one background thread per job.

A job is kept in memory under a random id; its page polls a JSON status
endpoint for the progress of every device and the step each is at, and may
ask it to stop (the cancel event is checked by the sync engine between
steps). Jobs are forgotten when the application exits.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deviceio.sync import DeviceResult, StepEvent

log = logging.getLogger(__name__)

MAX_JOBS = 50
# about how many steps one device goes through, to size the progress bar
EXPECTED_STEPS = {
    "preview": 9,
    "sync": 13,
    "drift": 1,
    "rollback-preview": 7,
    "rollback": 11,
}
FINAL_STEPS = ("unlock",)


class JobFailed(Exception):
    """Work that could not start; the message is shown to the administrator."""


# how each outcome reads in the progress table
OUTCOME_LABELS = {
    "synced": "Synced and verified",
    "previewed": "Previewed",
    "no-change": "Already in sync",
    "failed": "Failed",
    "rolled-back": "Rolled back",
    "unknown": "Outcome not known yet",
    "cancelled": "Cancelled",
    "hostkey-unknown": "New host key",
    "hostkey-changed": "Host key changed",
    "drifted": "Changed outside IMAP Desk",
}


@dataclass
class DeviceProgress:
    """Where one device of a job is."""

    name: str
    step: str = ""
    status: str = "waiting"
    message: str = ""
    steps_seen: set[str] = field(default_factory=set)
    finished: bool = False
    outcome: str = ""

    def stopped_early(self, done: bool) -> bool:
        """True when the job ended while this device was part-way through."""
        return done and not self.outcome and not self.finished and bool(self.steps_seen)

    def describe(self, done: bool) -> tuple[str, str]:
        """The step and status to show.

        A device the job never reached says so; one it left part-way through
        says the job stopped at its last step, not how that step went.
        """
        untouched = "not started" if done else "waiting"
        step = self.step or untouched
        if self.outcome:
            return step, OUTCOME_LABELS.get(self.outcome, self.status)
        if self.stopped_early(done):
            return step, "job stopped here"
        return step, self.status if self.steps_seen else untouched

    def status_text(self, done: bool) -> str:
        """The status column as shown: the status, then the step's message."""
        label = self.describe(done)[1]
        if self.message and not self.stopped_early(done):
            return f"{label}: {self.message}"
        return label


@dataclass(frozen=True)
class Claim:
    """Devices' results a follow-up job took from a job (see :meth:`Job.claim`),
    under the names that job knew them by."""

    job: Job
    names: frozenset[str]

    def release(self) -> None:
        """Give the results back, for a follow-up job that never ran."""
        self.job._release(self.names)


@dataclass
class Job:
    """One batch of work on devices."""

    id: str
    kind: str
    title: str
    devices: dict[str, DeviceProgress]
    data: dict[str, Any] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.time)
    results: list[DeviceResult] | None = None
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)
    # devices whose results a follow-up job (the sync of a preview) has taken
    claimed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, event: StepEvent) -> None:
        """Record a step event from a worker thread."""
        step = getattr(event.step, "value", str(event.step))
        with self._lock:
            progress = self.devices.get(event.device)
            if progress is None:
                return
            progress.step = step
            progress.status = event.status
            progress.message = event.message
            progress.steps_seen.add(step)
            if step in FINAL_STEPS and event.status != "started":
                progress.finished = True

    def finish(self, results: list[DeviceResult] | None, error: str = "") -> None:
        with self._lock:
            self.results = results
            self.error = error
            for result in results or []:
                progress = self.devices.get(result.device)
                if progress is not None:
                    progress.finished = True
                    progress.outcome = getattr(
                        result.outcome, "value", str(result.outcome)
                    )
            # under the lock, so a snapshot never shows done without results
            self.done.set()

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    def claim(self, names: set[str]) -> Claim | None:
        """Take devices' results for a follow-up job; each can be taken once.

        :returns: the claim, to give back should the follow-up never run; None,
            taking none, when one was taken before, so a second click on Sync
            or a second window starts nothing twice.
        """
        with self._lock:
            if names & self.claimed:
                return None
            self.claimed |= names
            return Claim(self, frozenset(names))

    def _release(self, names: frozenset[str]) -> None:
        with self._lock:
            self.claimed -= names

    def result_for(self, name: str) -> DeviceResult | None:
        for result in self.results or []:
            if result.device == name:
                return result
        return None

    def snapshot(self) -> dict[str, Any]:
        """The job's state for the status endpoint."""
        expected = EXPECTED_STEPS.get(self.kind, 10)
        with self._lock:
            done = self.done.is_set()
            rows = []
            shares = []
            for p in self.devices.values():
                share = 1.0 if p.finished else min(0.95, len(p.steps_seen) / expected)
                shares.append(share)
                step_label, label = p.describe(done)
                rows.append(
                    {
                        "name": p.name,
                        "step": p.step,
                        "step_label": step_label,
                        "status": p.status,
                        "message": p.message,
                        "outcome": p.outcome,
                        "label": label,
                        "status_text": p.status_text(done),
                        "percent": round(share * 100),
                    }
                )
            error = self.error
        percent = 100 if done else round(100 * sum(shares) / max(1, len(shares)))
        return {
            "id": self.id,
            "kind": self.kind,
            "done": done,
            "cancelling": self.cancel.is_set() and not done,
            "percent": percent,
            "error": error,
            "devices": rows,
        }


class JobRegistry:
    """The jobs of one application, newest kept, oldest finished ones dropped."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(
        self,
        kind: str,
        title: str,
        device_names: list[str],
        work: Callable[[Job], list[DeviceResult]],
        data: dict[str, Any] | None = None,
        claim: Claim | None = None,
    ) -> Job:
        """Run ``work(job)`` in a new thread; its return value is the results.

        :param claim: the results of another job (a preview) this one took for
            its devices; given back when the work cannot start (the thread is
            refused, or ``work`` raises :class:`JobFailed`).
        :returns: the job, already finished as failed when the computer
            refused a new thread.
        """
        job = Job(
            id=secrets.token_urlsafe(16),
            kind=kind,
            title=title,
            devices={name: DeviceProgress(name) for name in device_names},
            data=dict(data or {}),
        )
        with self._lock:
            self._jobs[job.id] = job
            self._prune()
        thread = threading.Thread(
            target=self._run,
            args=(job, work, claim),
            name=f"job-{kind}",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError as exc:
            log.error("Could not start a thread for the %s job", kind, exc_info=exc)
            if claim is not None:
                claim.release()
            job.finish(
                None,
                f"Could not start the work: {exc}. Nothing was done on the "
                "devices. Close other programs, or restart IMAP Desk, and try "
                "again.",
            )
            return job
        log.info("Started %s of %d devices", kind, len(device_names))
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(
        self,
        job: Job,
        work: Callable[[Job], list[DeviceResult]],
        claim: Claim | None,
    ) -> None:
        try:
            results = work(job)
        except JobFailed as exc:
            # nothing was done on the devices: their preview may serve again
            if claim is not None:
                claim.release()
            job.finish(None, str(exc))
            return
        except Exception as exc:
            log.error("The %s job failed", job.kind, exc_info=exc)
            job.finish(
                None,
                "IMAP Desk met an unexpected problem and stopped this work; "
                "the details are in the log.",
            )
            return
        job.finish(results)

    def _prune(self) -> None:
        while len(self._jobs) > MAX_JOBS:
            oldest = next((k for k, j in self._jobs.items() if not j.running), None)
            if oldest is None:
                return
            del self._jobs[oldest]
