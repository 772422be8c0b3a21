"""One simulated SRX: its configuration databases, commits, locks and sessions.

Junos semantics modelled here (Junos XML management protocol guide):

- The shared candidate keeps uncommitted changes across sessions; a session
  that loads without locking leaves them for the next one.
- ``lock-configuration`` (``configure exclusive``) fails when another
  session holds the lock, and with "configuration database modified" when
  the shared candidate has uncommitted changes.  Uncommitted changes are
  discarded when the lock holder unlocks or its session ends.
- ``open-configuration private`` gives the session its own candidate; its
  commit replays the session's changes onto the committed configuration,
  and fails while the shared candidate is locked or modified.  Closing the
  private database or the session discards it.
- ``commit confirmed`` reverts to the configuration that preceded the first
  unconfirmed confirmed commit unless a ``commit`` or ``commit check``
  confirms it in time; the revert is a commit by ``root`` via ``other``.
- 50 rollbacks are kept, rollback 0 being the active configuration; every
  commit, even one without changes, adds an entry to the commit history.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
from lxml import etree

from . import config as conf
from .faults import Faults
from .replies import ErrorSpec, RpcFailure, check_out_failed, junos_time
from .validate import VALIDATOR

if TYPE_CHECKING:
    from .netconf import NetconfSession

logger = logging.getLogger(__name__)

MAX_ROLLBACKS = 50
HOST_KEY_FILE = "ssh_host_ed25519_key"

BASE_CONFIG = """
system {{
    host-name {hostname};
    root-authentication {{
        encrypted-password "$6$fakesrx$notarealhash";
    }}
    services {{
        ssh;
        netconf {{
            ssh;
        }}
    }}
}}
interfaces {{
    ge-0/0/0 {{
        unit 0 {{
            family {{
                inet {{
                    address 198.51.100.2/24;
                }}
            }}
        }}
    }}
    ge-0/0/1 {{
        unit 0 {{
            family {{
                inet {{
                    address 10.0.1.1/24;
                }}
            }}
        }}
    }}
}}
security {{
    policies {{
        from-zone trust to-zone untrust {{
            policy allow-outbound {{
                match {{
                    source-address any;
                    destination-address any;
                    application any;
                }}
                then {{
                    permit;
                }}
            }}
        }}
    }}
    zones {{
        security-zone trust {{
            host-inbound-traffic {{
                system-services {{
                    all;
                }}
            }}
            interfaces {{
                ge-0/0/1.0;
            }}
        }}
        security-zone untrust {{
            interfaces {{
                ge-0/0/0.0 {{
                    host-inbound-traffic {{
                        system-services {{
                            ssh;
                        }}
                    }}
                }}
            }}
        }}
    }}
}}
"""


@dataclass
class Commit:
    """One entry of ``show system commit``, with the configuration it made."""

    number: int
    user: str
    client: str
    seconds: float
    log: str | None
    comment: str | None
    config: bytes

    def meta(self) -> dict:
        return {
            "number": self.number,
            "user": self.user,
            "client": self.client,
            "seconds": self.seconds,
            "log": self.log,
            "comment": self.comment,
        }


@dataclass
class Private:
    """A session's private candidate and the loads that made it."""

    tree: etree._Element
    edits: list[Callable[[etree._Element], etree._Element]]


class Device:
    """Configuration state of one simulated SRX, safe to share between threads."""

    def __init__(
        self,
        *,
        hostname: str,
        model: str,
        version: str,
        serial: str,
        release: str,
        validate: bool,
        minute_seconds: float,
        state_dir: Path | None,
        faults: Faults,
        base_config: str | None = None,
    ):
        self.hostname = hostname
        self.model = model
        self.version = version
        self.serial = serial
        self.release = release
        self.validate = validate
        self.minute_seconds = minute_seconds
        self.state_dir = Path(state_dir) if state_dir else None
        self.faults = faults
        self.booted = time.time()
        self._mutex = threading.RLock()
        self._commits: list[Commit] = []
        self._next_number = 0
        self._sessions: dict[int, NetconfSession] = {}
        self._lock_holder: NetconfSession | None = None
        self._confirm_timer: threading.Timer | None = None
        self._confirm_base: bytes | None = None
        self._confirm_deadline: float | None = None
        self._pristine = True
        self._committed_form: bytes | None = None
        if not self._restore():
            text = base_config or BASE_CONFIG.format(hostname=hostname)
            tree = conf.parse_text(text)
            self._record(tree, "root", "cli", None, None, when=self.booted)
            self._reset_candidate()

    # -- accessors ----------------------------------------------------------

    def running_config(self) -> etree._Element:
        """A copy of the committed configuration."""
        with self._mutex:
            return deepcopy(self._committed)

    def candidate_config(self) -> etree._Element:
        """A copy of the shared candidate configuration."""
        with self._mutex:
            return deepcopy(self._candidate)

    def candidate_changed(self) -> bool:
        """Whether the shared candidate holds uncommitted changes."""
        with self._mutex:
            return self._candidate_modified()

    def rollback_config(self, number: int) -> etree._Element:
        with self._mutex:
            return etree.fromstring(self._commits[number].config)

    @property
    def lock_owner(self) -> str | None:
        """User holding the exclusive configuration lock, if any."""
        if self.faults.lock_held_by:
            return self.faults.lock_held_by
        holder = self._lock_holder
        return holder.user if holder is not None else None

    @property
    def commit_history(self) -> list[dict]:
        """Commits, newest first, as ``show system commit`` lists them."""
        with self._mutex:
            return [
                dict(
                    sequence=index,
                    user=c.user,
                    client=c.client,
                    time=c.seconds,
                    log=c.log,
                    comment=c.comment,
                )
                for index, c in enumerate(self._commits)
            ]

    @property
    def sessions(self) -> int:
        with self._mutex:
            return len(self._sessions)

    @property
    def confirm_pending(self) -> bool:
        with self._mutex:
            return self._confirm_timer is not None

    def shutdown(self) -> None:
        """Stop the commit-confirmed timer; a restart re-reads the state."""
        with self._mutex:
            if self._confirm_timer is not None:
                self._confirm_timer.cancel()

    # -- sessions -----------------------------------------------------------

    def session_opened(self, session: NetconfSession) -> None:
        with self._mutex:
            self._sessions[session.id] = session

    def session_closed(self, session: NetconfSession) -> None:
        with self._mutex:
            self._sessions.pop(session.id, None)
            session.private = None
            if self._lock_holder is session:
                self._reset_candidate()
                self._lock_holder = None
                self._save_candidate()

    def find_session(self, session_id: int) -> NetconfSession | None:
        with self._mutex:
            return self._sessions.get(session_id)

    def _lock_denied(self, session: NetconfSession) -> ErrorSpec | None:
        if self.faults.lock_held_by:
            user, pid = self.faults.lock_held_by, 4242
            since = self.booted
        elif self._lock_holder is not None and self._lock_holder is not session:
            user, pid = self._lock_holder.user, self._lock_holder.id
            since = self._lock_holder.started
        else:
            return None
        message = (
            "\nconfiguration database locked by:\n"
            f"  {user} terminal p0 (pid {pid}) on since {junos_time(since)}\n"
            "      exclusive [edit]\n"
        )
        return ErrorSpec(message, tag="lock-denied", session_id=pid)

    # -- locks and private databases ----------------------------------------

    def lock(self, session: NetconfSession) -> None:
        with self._mutex:
            denied = self._lock_denied(session)
            if denied is not None:
                raise RpcFailure(denied)
            if self._lock_holder is session:
                return
            if self._candidate_modified():
                raise RpcFailure(
                    ErrorSpec("\nconfiguration database modified\n", tag="lock-denied")
                )
            self._lock_holder = session

    def unlock(self, session: NetconfSession) -> None:
        with self._mutex:
            if self._lock_holder is not session:
                raise RpcFailure(ErrorSpec("\nconfiguration database not locked\n"))
            self._reset_candidate()
            self._lock_holder = None
            self._save_candidate()

    def open_private(self, session: NetconfSession) -> None:
        with self._mutex:
            if session.private is not None:
                return
            denied = self._lock_denied(session)
            if denied is not None:
                raise RpcFailure(denied)
            if self._candidate_modified():
                raise RpcFailure(
                    ErrorSpec("\nshared configuration database modified\n")
                )
            session.private = Private(deepcopy(self._committed), [])

    def close_private(self, session: NetconfSession) -> None:
        with self._mutex:
            session.private = None

    # -- candidate ----------------------------------------------------------

    def candidate_for(self, session: NetconfSession | None) -> etree._Element:
        """The candidate a session sees (its private one, or the shared one)."""
        with self._mutex:
            if session is not None and session.private is not None:
                return session.private.tree
            return self._candidate

    def edit(
        self,
        session: NetconfSession | None,
        change: Callable[[etree._Element], tuple[etree._Element, list[str]]],
    ) -> list[str]:
        """Apply ``change`` to the session's candidate; return its warnings."""
        with self._mutex:
            if session is not None and session.private is not None:
                private = session.private
                tree, warnings = change(private.tree)
                private.tree = tree
                private.edits.append(lambda t: change(t)[0])
                return warnings
            denied = self._lock_denied(session)
            if denied is not None:
                raise RpcFailure(denied, wrapper="load-configuration-results")
            self._candidate, warnings = change(self._candidate)
            self._pristine = False
            self._save_candidate()
            return warnings

    def discard(self, session: NetconfSession | None) -> None:
        with self._mutex:
            if session is not None and session.private is not None:
                session.private = Private(deepcopy(self._committed), [])
                return
            denied = self._lock_denied(session)
            if denied is not None:
                raise RpcFailure(denied)
            self._reset_candidate()
            self._save_candidate()

    # -- commit -------------------------------------------------------------

    def _to_commit(self, session: NetconfSession | None) -> etree._Element:
        denied = self._lock_denied(session)
        if denied is not None:
            raise RpcFailure(denied, check_out_failed(), wrapper="commit-results")
        if session is None or session.private is None:
            return deepcopy(self._candidate)
        if self._candidate_modified():
            raise RpcFailure(
                ErrorSpec("\nshared configuration database modified\n"),
                wrapper="commit-results",
            )
        tree = deepcopy(self._committed)
        for replay in session.private.edits:
            tree = replay(tree)
        return tree

    def commit(
        self,
        session: NetconfSession | None,
        *,
        user: str,
        client: str = "netconf",
        check: bool = False,
        confirm_minutes: int | None = None,
        log: str | None = None,
    ) -> None:
        """Check and commit a session's candidate, or raise ``RpcFailure``."""
        with self._mutex:
            candidate = self._to_commit(session)
        self._check_out(candidate)
        if check:
            with self._mutex:
                self._confirm()
            return
        if self.faults.commit_error:
            raise RpcFailure(
                ErrorSpec(self.faults.commit_error),
                check_out_failed(),
                wrapper="commit-results",
            )
        if self.faults.commit_delay:
            time.sleep(self.faults.commit_delay)
        with self._mutex:
            previous = self._commits[0].config
            comment = None
            if confirm_minutes is not None:
                comment = f"commit confirmed, rollback in {confirm_minutes}mins"
            self._record(candidate, user, client, log, comment)
            self._reset_candidate()
            self._save_candidate()
            if session is not None and session.private is not None:
                session.private = Private(deepcopy(self._committed), [])
            if confirm_minutes is None:
                self._confirm()
            else:
                self._arm_confirm(confirm_minutes, previous)
        logger.info("%s committed by %s", self.hostname, user)

    def _check_out(self, candidate: etree._Element) -> None:
        """Validate a candidate as Junos' commit check-out does."""
        if not self.validate:
            return
        problems = VALIDATOR.check(candidate, self.release)
        errors = [
            ErrorSpec(p.message, path=p.edit_path, bad_element=p.bad_element)
            for p in problems
            if p.severity == "error"
        ]
        if errors:
            raise RpcFailure(*errors, check_out_failed(), wrapper="commit-results")

    def _arm_confirm(self, minutes: float, previous: bytes) -> None:
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
        else:
            self._confirm_base = previous
        self._start_confirm_timer(minutes * self.minute_seconds)
        if self.state_dir is not None:
            _write_atomic(self.state_dir / "confirm-base.xml", self._confirm_base)
            deadline = json.dumps({"deadline": self._confirm_deadline}).encode()
            _write_atomic(self.state_dir / "confirm.json", deadline)

    def _start_confirm_timer(self, delay: float) -> None:
        timer = threading.Timer(max(delay, 0.0), self._confirm_expired)
        timer.daemon = True
        self._confirm_timer = timer
        self._confirm_deadline = time.time() + delay
        timer.start()

    def _confirm(self) -> None:
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
        self._confirm_timer = None
        self._confirm_base = None
        self._confirm_deadline = None
        if self.state_dir is not None:
            (self.state_dir / "confirm.json").unlink(missing_ok=True)
            (self.state_dir / "confirm-base.xml").unlink(missing_ok=True)

    def _confirm_expired(self) -> None:
        with self._mutex:
            if self._confirm_timer is None or self._confirm_base is None:
                return
            if threading.current_thread() is not self._confirm_timer:
                return
            base = etree.fromstring(self._confirm_base)
            self._confirm_timer = None
            self._confirm()
            self._record(base, "root", "other", None, "rollback by commit confirmed")
            self._reset_candidate()
            self._save_candidate()
        logger.info("%s rolled back: commit confirmed not confirmed", self.hostname)

    def commit_external_change(
        self,
        change: str | bytes | etree._Element,
        *,
        user: str = "otheradmin",
        comment: str | None = None,
    ) -> None:
        """Commit a change as another administrator would from the CLI.

        ``change`` is set/delete commands, curly-brace text, or XML (a
        ``<configuration>`` element or its text).  Uncommitted changes in
        the shared candidate are kept on top of the new configuration.
        """
        edit = _change_function(change)
        with self._mutex:
            dirty = self._candidate_modified()
            new, _ = edit(deepcopy(self._committed))
            self._record(new, user, "cli", comment, None)
            if dirty:
                self._candidate, _ = edit(self._candidate)
                self._pristine = False
            else:
                self._reset_candidate()
            self._save_candidate()

    def reset_config(self, change: str | bytes | etree._Element) -> None:
        """Replace the committed configuration without a commit (test setup)."""
        edit = _change_function(change, action="override")
        with self._mutex:
            new, _ = edit(etree.Element("configuration"))
            self._record(new, "root", "cli", None, None)
            self._reset_candidate()
            self._save_candidate()

    def _record(self, tree, user, client, log, comment, when=None) -> None:
        data = etree.tostring(tree)
        entry = Commit(
            self._next_number, user, client, when or time.time(), log, comment, data
        )
        self._next_number += 1
        self._commits.insert(0, entry)
        dropped = self._commits[MAX_ROLLBACKS:]
        del self._commits[MAX_ROLLBACKS:]
        self._committed = etree.fromstring(data)
        self._committed_form = None
        self._persist(entry, dropped)

    def _reset_candidate(self) -> None:
        """Make the shared candidate a copy of the committed configuration."""
        self._candidate = deepcopy(self._committed)
        self._pristine = True

    def _candidate_modified(self) -> bool:
        """Whether the shared candidate differs from the committed one.

        A candidate copied from the committed configuration and not edited
        since is known to be the same without comparing; otherwise the
        comparison uses the committed configuration's canonical form, made
        once per commit.
        """
        if self._pristine:
            return False
        if self._committed_form is None:
            self._committed_form = conf.canonical(self._committed)
        if conf.canonical(self._candidate) == self._committed_form:
            self._pristine = True
            return False
        return True

    # -- persistence --------------------------------------------------------

    def _persist(self, entry: Commit, dropped: list[Commit]) -> None:
        if self.state_dir is None:
            return
        folder = self.state_dir / "commits"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{entry.number}.xml").write_bytes(entry.config)
        for old in dropped:
            (folder / f"{old.number}.xml").unlink(missing_ok=True)
        history = [c.meta() for c in self._commits]
        _write_atomic(self.state_dir / "history.json", json.dumps(history).encode())

    def _save_candidate(self) -> None:
        if self.state_dir is None:
            return
        path = self.state_dir / "candidate.xml"
        if not self._candidate_modified():
            path.unlink(missing_ok=True)
        else:
            _write_atomic(path, etree.tostring(self._candidate))

    def _restore(self) -> bool:
        if self.state_dir is None:
            return False
        history_file = self.state_dir / "history.json"
        if not history_file.exists():
            return False
        for meta in json.loads(history_file.read_text()):
            data = (self.state_dir / "commits" / f"{meta['number']}.xml").read_bytes()
            self._commits.append(Commit(config=data, **meta))
        self._next_number = max(c.number for c in self._commits) + 1
        self._committed = etree.fromstring(self._commits[0].config)
        self._committed_form = None
        candidate = self.state_dir / "candidate.xml"
        if candidate.exists():
            self._candidate = etree.fromstring(candidate.read_bytes())
            self._pristine = False
        else:
            self._reset_candidate()
        pending = self.state_dir / "confirm.json"
        if pending.exists():
            # a confirmed commit was pending when the device stopped
            deadline = json.loads(pending.read_text())["deadline"]
            self._confirm_base = (self.state_dir / "confirm-base.xml").read_bytes()
            self._start_confirm_timer(deadline - time.time())
        return True


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _change_function(change, action: str = "merge"):
    """Turn set commands, text or XML into a candidate-editing function."""
    if isinstance(change, etree._Element):
        element = change
    elif isinstance(change, bytes) or change.lstrip().startswith("<"):
        element = etree.fromstring(change)
    else:
        element = None
    if element is not None:
        return lambda tree: conf.load_xml(tree, element, action)
    text = change
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if lines and all(words[0] in ("set", "delete") for words in lines):
        return lambda tree: conf.load_set(tree, text)
    parsed = conf.parse_text(text)
    return lambda tree: conf.load_xml(tree, parsed, action)


def load_host_key(state_dir: Path | None) -> paramiko.PKey:
    """The device's Ed25519 host key, created once and kept in ``state_dir``."""
    path = state_dir / HOST_KEY_FILE if state_dir else None
    if path is not None and path.exists():
        return paramiko.Ed25519Key(filename=str(path))
    pem = new_ed25519_pem()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, pem)
        path.chmod(0o600)
    from io import StringIO

    return paramiko.Ed25519Key(file_obj=StringIO(pem.decode()))


def new_ed25519_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def serial_for(seed: str) -> str:
    """A stable, plausible chassis serial number."""
    digest = hashlib.sha256(seed.encode()).hexdigest().upper()
    return "CZ" + digest[:10]
