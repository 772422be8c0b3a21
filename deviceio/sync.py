"""Sync IMAP policies to SRX devices over NETCONF: diff first, commit confirmed.

This is the device side of IMAP Desk. It knows nothing of Flask or SQLite:
the caller hands in :class:`DeviceTarget` values (what to put on which
device, with the pinned host key and what was last synced) and gets
:class:`DeviceResult` values back to store.

Public API
----------

- :func:`test_connection` — connect, verify the host key, read the software
  release; outcome ``NO_CHANGE`` when the device can take IMAP policies,
  ``FAILED`` (with a sentence) when not, ``HOSTKEY_UNKNOWN`` or
  ``HOSTKEY_CHANGED`` when the host key is not the pinned one.
- :func:`fetch_host_key`, :func:`fingerprint` — the key a device presents
  (no authentication) and its ``SHA256:`` fingerprint as ``ssh-keygen -l``
  prints it.
- :func:`check_drift` — ``DRIFTED`` with a diff when the device's managed
  subtrees differ from ``last_synced``, else ``NO_CHANGE``.
- :func:`fetch_managed` — the device's managed subtrees as XML text.
- :func:`run_sync` — sync (or preview) many devices in parallel.
- :func:`rollback_device` — ``rollback N``, previewed, then committed like a
  sync.
- :func:`get_commit_history` — the device's commit history.
- :func:`check_pending` — what became of a sync whose outcome was
  ``UNKNOWN``.

Every function verifies the SSH host key: with no key pinned the outcome is
``HOSTKEY_UNKNOWN`` (carrying the key) unless ``accept_new_host_key`` is set,
in which case the work proceeds and ``DeviceResult.host_key`` is the key to
pin. A key other than the pinned one is refused with ``HOSTKEY_CHANGED``.

One device's sync
-----------------

connect → lock (exclusive) → read the committed managed subtrees and compare
them with ``last_synced`` (drift) → load the rendered configuration (managed
elements ``replace``, removed ones ``delete``) → diff (``show | compare``) →
``commit check`` → then either, for a preview or when the fresh diff is not
the one the administrator approved, discard (``rollback 0``) and unlock; or
``commit confirmed N`` with a comment naming the revision → re-read the
managed subtrees and compare them with the rendered ones → confirm with a
plain ``commit`` (the standard confirmation, supported by every release with
IMAP, and recorded in the commit history with our comment) → unlock.

An empty diff gives ``NO_CHANGE`` and nothing is committed. Whatever fails,
the candidate is discarded (``rollback 0``), the lock released and the
session closed; after an RPC timeout or a lost connection the session is
dropped without more RPCs, and Junos discards an exclusive lock holder's
uncommitted changes and lock when its session ends. A verification mismatch
after ``commit confirmed`` takes the commit back at once (``ROLLED_BACK``):
the commit history is read first, and ``rollback 1`` is loaded and committed
only while our commit is still the newest one.

Drift: when ``last_synced`` is set (and ``overwrite_drift`` is not), the
committed managed subtrees are read under the lock and compared with it
(normalised XML); a difference gives ``DRIFTED`` with its diff and nothing is
written, unless the device already holds exactly what this sync would put
there. The managed subtrees are the anti-malware policies and security
policies the target names now, removes, or held in ``last_synced``.

When the connection is lost after ``commit confirmed`` and before the
confirmation is acknowledged, the outcome is ``UNKNOWN``: the device rolls
the change back by itself when the confirmation time runs out, unless the
confirmation reached it. Store ``DeviceResult.commit_comment`` as the
target's ``pending_comment``; the next contact reads the commit history
(``get-commit-information``), finds our commit by the token in its comment,
and reports what happened in ``pending_outcome`` (:func:`check_pending` does
only that). A ``commit`` RPC that times out or loses its connection is
checked the same way before it is reported: the history is asked for on the
same session (the request waits behind the commit) or on a new one.

RPCs: a first sync sends 9 (lock, load, diff, commit check, commit
confirmed, read-back, confirmation, unlock, close-session); the drift read
adds one when ``last_synced`` is set. Facts (``get-software-information``)
are read only by :func:`test_connection`, or when a load or commit check
fails, to say plainly that a release predates IMAP.

Many devices
------------

:func:`run_sync` works through the devices with a bounded thread pool.
Events arrive through ``on_event`` from worker threads. The ``cancel`` event
is checked between steps; a cancelled device is discarded and unlocked
(``CANCELLED``). One device's failure never stops the others, except under
``all_or_nothing`` (the default), which runs in phases and never blocks a
worker thread on another device:

1. every device up to ``commit check``, keeping its lock and candidate;
2. only if all passed: ``commit confirmed`` and verification on every
   device;
3. only if all of those succeeded: confirmation on every device.

When a phase fails somewhere, devices that have not committed discard and
unlock (``FAILED``, "not committed because ... failed"), and devices that
have committed are rolled back as above (``ROLLED_BACK``). Cancelling is
honoured until the commit starts; a device that has committed is finished
rather than left half-done. ``max_workers`` bounds the threads, not the
sessions: under ``all_or_nothing`` every device keeps its session and lock
between phases.

Modules: :mod:`deviceio.driver` (the PyEZ session and error translation),
:mod:`deviceio.workflow` (the steps and phases), :mod:`deviceio.managed`
(the managed subtrees as keyed XML), :mod:`deviceio.hostkeys`,
:mod:`deviceio.errors`. jnpr, ncclient and paramiko are imported only when
a device is contacted.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from store.model import Policy

from .hostkeys import fetch_host_key, fingerprint

if TYPE_CHECKING:
    from .render import Binding

logger = logging.getLogger(__name__)

__all__ = [
    "CommitEntry",
    "Credentials",
    "DeviceFacts",
    "DeviceResult",
    "DeviceTarget",
    "Outcome",
    "Step",
    "StepEvent",
    "SyncOptions",
    "check_drift",
    "check_pending",
    "fetch_host_key",
    "fetch_managed",
    "fingerprint",
    "get_commit_history",
    "rollback_device",
    "run_sync",
    "test_connection",
]

# IMAP inspection arrived in Junos 18.1R1
IMAP_RELEASE = (18, 1)
_VERSION_RE = re.compile(r"^\s*(?P<major>\d+)\.(?P<minor>\d+)(?P<rest>\S*)")


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: a password, a private key file, the SSH agent.

    With a key file, ``password`` is its passphrase. The password never
    appears in ``repr``.
    """

    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    use_agent: bool = False

    def __repr__(self) -> str:
        shown = "'********'" if self.password else "None"
        return (
            f"Credentials(password={shown}, key_file={self.key_file!r}, "
            f"use_agent={self.use_agent!r})"
        )


@dataclass(frozen=True)
class DeviceTarget:
    """A device and what it should hold.

    :param pinned_host_key: the OpenSSH key line pinned for the device, or
        None when it was never contacted.
    :param removed_policies: names of anti-malware policies the app removed
        since the last sync, to delete from the device.
    :param removed_bindings: bindings (security policies) to delete.
    :param last_synced: the managed subtrees as last synced (XML text from
        ``DeviceResult.managed_config``), the baseline for drift; None when
        never synced (no drift check).
    :param revision_label: named in the commit comment, e.g. "imap-policy r12".
    :param pending_comment: the ``commit_comment`` of an earlier sync whose
        outcome was ``UNKNOWN``; the next contact looks it up in the commit
        history.
    :param pending_expected: what that sync was to leave of the managed
        subtrees (XML text, as :func:`expected_config` gives it). Once the
        history shows it confirmed, or while it awaits confirmation, it is
        the baseline for drift instead of ``last_synced``.
    """

    name: str
    host: str
    user: str
    credentials: Credentials
    pinned_host_key: str | None = None
    port: int = 830
    policies: tuple[Policy, ...] = ()
    bindings: tuple[Binding, ...] = ()
    removed_policies: tuple[str, ...] = ()
    removed_bindings: tuple[Binding, ...] = ()
    last_synced: str | None = None
    revision_label: str = ""
    pending_comment: str | None = None
    pending_expected: str | None = None


class Step(StrEnum):
    """The steps of talking to one device, in the order they happen."""

    CONNECT = "connect"
    HOSTKEY = "hostkey"
    FACTS = "facts"
    HISTORY = "history"
    LOCK = "lock"
    DRIFT = "drift"
    LOAD = "load"
    DIFF = "diff"
    CHECK = "check"
    WAIT = "wait"
    COMMIT = "commit"
    VERIFY = "verify"
    CONFIRM = "confirm"
    ROLLBACK = "rollback"
    DISCARD = "discard"
    UNLOCK = "unlock"


StepStatus = Literal["started", "ok", "failed", "skipped"]


@dataclass
class StepEvent:
    """Progress of one step on one device; ``elapsed`` counts seconds since
    the device's work started."""

    device: str
    step: Step
    status: StepStatus
    message: str
    elapsed: float


@dataclass
class DeviceFacts:
    """What the device says of itself (``get-software-information``).

    ``serial`` is read only by :func:`test_connection`, which asks the chassis
    inventory; elsewhere it is "".
    """

    hostname: str
    model: str
    version: str
    serial: str = ""

    def supports_imap(self) -> bool:
        """True when the release is 18.1R1 or later, where IMAP arrived.

        Understands ``23.4R1.9``, ``18.1R1-S3``, ``21.2R3-S4.8`` and the
        SRX service releases such as ``15.1X49-D170``; an unreadable version
        counts as unsupported.
        """
        release = parse_release(self.version)
        return release is not None and release >= IMAP_RELEASE


def parse_release(version: str) -> tuple[int, int] | None:
    """The (major, minor) of a Junos version string, or None if unreadable."""
    match = _VERSION_RE.match(version or "")
    if match is None:
        return None
    rest = match.group("rest")
    if rest and not re.match(r"^[A-Z]", rest):
        return None
    return int(match.group("major")), int(match.group("minor"))


class Outcome(StrEnum):
    """How one device's work ended."""

    SYNCED = "synced"  # committed, verified and confirmed
    PREVIEWED = "previewed"  # diff and commit check only; nothing committed
    NO_CHANGE = "no-change"  # already as intended (or a test that passed)
    FAILED = "failed"  # nothing committed; ``error`` says why
    ROLLED_BACK = "rolled-back"  # committed, then taken back
    UNKNOWN = "unknown"  # connection lost after commit confirmed
    CANCELLED = "cancelled"  # stopped by the administrator; nothing committed
    HOSTKEY_UNKNOWN = "hostkey-unknown"  # first contact, key not accepted yet
    HOSTKEY_CHANGED = "hostkey-changed"  # key differs from the pinned one
    DRIFTED = "drifted"  # changed outside IMAP Desk; nothing written


@dataclass
class DeviceResult:
    """What happened on one device.

    :param diff: the Junos ``show | compare`` text (for ``DRIFTED``: the
        change made outside IMAP Desk), "" when none.
    :param error: a sentence an administrator can act on, or None.
    :param host_key: the key the device presented (OpenSSH line), to pin.
    :param managed_config: the managed subtrees as the device holds them
        afterwards (XML text), to store as ``last_synced``; None when unknown.
    :param commit_comment: the comment our commit carries (or would carry).
    :param rpc_count: RPCs sent to the device.
    :param pending_outcome: when the target had a ``pending_comment``, what
        became of that earlier sync (``SYNCED``, ``ROLLED_BACK``, ``FAILED``
        for never committed, ``UNKNOWN`` while still unconfirmed); the caller
        clears ``pending_comment`` unless it is ``UNKNOWN``.
    """

    device: str
    outcome: Outcome
    diff: str = ""
    facts: DeviceFacts | None = None
    error: str | None = None
    steps: list[StepEvent] = field(default_factory=list)
    host_key: str | None = None
    managed_config: str | None = None
    commit_comment: str = ""
    rpc_count: int = 0
    pending_outcome: Outcome | None = None

    @property
    def host_key_fingerprint(self) -> str | None:
        """The SHA-256 fingerprint of ``host_key``."""
        return fingerprint(self.host_key) if self.host_key else None


@dataclass
class SyncOptions:
    """How :func:`run_sync` works.

    :param approved_diffs: device name → the diff the administrator approved;
        a device whose fresh diff differs is only previewed (``PREVIEWED``
        with an error saying so). None approves whatever the diff is.
    :param all_or_nothing: commit anywhere only if every device passed
        ``commit check`` (and confirm only if every commit verified).
    :param timeout: seconds to wait for one RPC (commits included).
    """

    preview_only: bool = False
    confirm_minutes: int = 5
    accept_new_host_key: bool = False
    approved_diffs: dict[str, str] | None = None
    all_or_nothing: bool = True
    max_workers: int = 10
    timeout: float = 60
    overwrite_drift: bool = False
    connect_timeout: float = 15


@dataclass(frozen=True)
class CommitEntry:
    """One line of ``show system commit``; sequence 0 is the newest."""

    sequence: int
    user: str
    client: str
    date: str
    comment: str
    log: str = ""


EventCallback = Callable[[StepEvent], None]


def test_connection(
    target: DeviceTarget, timeout: float = 15, accept_new_host_key: bool = False
) -> DeviceResult:
    """Connect, verify the host key and read the device's release and serial.

    Outcomes: ``NO_CHANGE`` when the device can take IMAP policies (``facts``
    filled in); ``FAILED`` with a sentence when it cannot be reached, refuses
    the credentials, has NETCONF disabled, or runs a release before 18.1R1;
    ``HOSTKEY_UNKNOWN`` / ``HOSTKEY_CHANGED`` as for every contact. Nothing
    on the device changes.
    """
    from . import workflow

    return workflow.test_connection(target, timeout, accept_new_host_key)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def check_drift(
    target: DeviceTarget, timeout: float = 60, accept_new_host_key: bool = False
) -> DeviceResult:
    """Compare the device's managed subtrees with ``target.last_synced``.

    ``DRIFTED`` with the difference as ``diff`` (``last_synced`` to device),
    or ``NO_CHANGE``. ``managed_config`` is what the device holds now.

    With a ``target.pending_comment``, the earlier sync is looked up first
    (``pending_outcome``): once confirmed (``SYNCED``), what the device holds
    is that sync's result and the outcome is ``NO_CHANGE``; while the device
    still waits for its confirmation the outcome is ``UNKNOWN``; rolled back
    or never committed, the device is compared with ``last_synced``.
    """
    from . import workflow

    return workflow.check_drift(target, timeout, accept_new_host_key)


def expected_config(target: DeviceTarget) -> str:
    """The managed subtrees a sync of ``target`` leaves on the device, as XML
    text (what ``managed_config`` holds after it).

    :raises ValueError: when the change cannot be made (see :func:`run_sync`).
    """
    from . import workflow

    return workflow.expected_config(target)


def fetch_managed(
    target: DeviceTarget, timeout: float = 60, accept_new_host_key: bool = False
) -> str:
    """The device's committed managed subtrees as XML text.

    The managed subtrees are the anti-malware policies and security policies
    named by ``target`` (current, removed, and in ``last_synced``).

    :raises deviceio.errors.DeviceError: with a sentence when it fails.
    """
    from . import workflow

    return workflow.fetch_managed(target, timeout, accept_new_host_key)


def run_sync(
    targets: Iterable[DeviceTarget],
    options: SyncOptions | None = None,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[DeviceResult]:
    """Sync (or preview) every target; results in the order of ``targets``.

    See the module docstring for the steps, the phases of
    ``all_or_nothing`` and what is guaranteed after a failure.
    """
    from . import workflow

    return workflow.run_sync(list(targets), options or SyncOptions(), on_event, cancel)


def rollback_device(
    target: DeviceTarget,
    n: int,
    preview_only: bool = True,
    options: SyncOptions | None = None,
    on_event: EventCallback | None = None,
) -> DeviceResult:
    """Return the device to its configuration of ``n`` commits ago.

    With ``preview_only`` the outcome is ``PREVIEWED`` with the diff
    ``rollback n`` would make. Otherwise the rollback is committed like a
    sync: ``commit check``, ``commit confirmed``, confirmation; the outcome
    is ``SYNCED`` (or ``NO_CHANGE`` when the diff is empty) and
    ``managed_config`` holds the managed subtrees afterwards.
    ``options.approved_diffs[target.name]``, when given, must match.
    """
    from . import workflow

    return workflow.rollback_device(
        target, n, preview_only, options or SyncOptions(), on_event
    )


def get_commit_history(
    target: DeviceTarget, timeout: float = 60, accept_new_host_key: bool = False
) -> list[CommitEntry]:
    """The device's commit history, newest first.

    :raises deviceio.errors.DeviceError: with a sentence when it fails.
    """
    from . import workflow

    return workflow.get_commit_history(target, timeout, accept_new_host_key)


def check_pending(
    target: DeviceTarget, timeout: float = 60, accept_new_host_key: bool = False
) -> DeviceResult:
    """What became of the sync that left ``target.pending_comment``.

    ``SYNCED`` when the commit was confirmed, ``ROLLED_BACK`` when the device
    rolled it back, ``FAILED`` when it was never committed, ``UNKNOWN``
    while the device still waits for the confirmation. ``managed_config`` is
    what the device holds now.
    """
    from . import workflow

    return workflow.check_pending(target, timeout, accept_new_host_key)
