"""The audit log: every attempt to change a device or check it (previews,
syncs, rollbacks, drift and connection checks, trusted host keys), as it
happened. Reading a device's commit history to choose a rollback is recorded
only when it fails (``read-history``); the page showing it is not an attempt.

Entries are only ever added; the database refuses to change or delete one.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from .db import rows_with_id, write_transaction
from .errors import NotFound

log = logging.getLogger(__name__)

ACTIONS = (
    "preview",
    "sync",
    "rollback",
    "rollback-preview",
    "check-drift",
    "check-pending",
    "read-history",
    "import-device",
    "test-connection",
    "trust-host-key",
)
CSV_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "action",
    "source",
    "job_id",
    "device",
    "host",
    "policy",
    "revision",
    "revision_id",
    "outcome",
    "comment",
    "error",
    "steps",
    "diff",
)


@dataclass(frozen=True)
class AuditStep:
    """One step of an attempt: what was done, how it ended, how long it took."""

    step: str
    status: str
    message: str = ""
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "status": self.status,
            "message": self.message,
            "elapsed": round(self.elapsed, 3),
        }


@dataclass(frozen=True)
class AuditEntry:
    """One attempt on one device."""

    id: int
    action: str
    device_name: str
    outcome: str
    started_at: str
    finished_at: str
    device_id: int | None = None
    host: str = ""
    policy_name: str = ""
    revision_label: str = ""
    revision_id: int | None = None
    diff: str = ""
    comment: str = ""
    error: str = ""
    steps: tuple[AuditStep, ...] = ()
    job_id: str = ""
    source: str = ""

    @property
    def duration(self) -> float:
        return sum(step.elapsed for step in self.steps)


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list or count; a field left empty matches every entry.

    :param device: the device name, in any case.
    :param since: an ISO date or time; entries started at or after it.
    :param until: an ISO date or time; a bare date includes that whole day.
    """

    device: str | None = None
    outcome: str | None = None
    action: str | None = None
    since: str | None = None
    until: str | None = None
    job_id: str | None = None

    def clause(self) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause ("" when nothing is filtered) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.device:
            clauses.append("device_name = ? COLLATE NOCASE")
            params.append(self.device)
        if self.outcome:
            clauses.append("outcome = ?")
            params.append(self.outcome)
        if self.action:
            clauses.append("action = ?")
            params.append(self.action)
        if self.since:
            clauses.append("started_at >= ?")
            params.append(self.since)
        if self.until:
            # a bare date means the end of that day
            until = self.until
            clauses.append("started_at < ?")
            params.append(until + "T99" if len(until) == 10 else until)
        if self.job_id:
            clauses.append("job_id = ?")
            params.append(self.job_id)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return where, params


EVERY_ENTRY = AuditFilter()


def record(
    db: Database,
    *,
    action: str,
    device_name: str,
    outcome: str,
    started_at: str,
    finished_at: str,
    device_id: int | None = None,
    host: str = "",
    policy_name: str = "",
    revision_label: str = "",
    revision_id: int | None = None,
    diff: str = "",
    comment: str = "",
    error: str = "",
    steps: tuple[AuditStep, ...] | list[AuditStep] = (),
    job_id: str = "",
    source: str = "",
) -> int:
    """Add one entry; returns its id.

    :param revision_id: the policy revision the attempt sent or found, when
        there is one; ``revision_label`` names it.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}.")
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO audit_log (job_id, action, source, device_id, "
            "device_name, host, policy_name, revision_label, revision_id, "
            "outcome, diff, comment, steps, error, started_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                job_id,
                action,
                source,
                device_id,
                device_name,
                host,
                policy_name,
                revision_label,
                revision_id,
                outcome,
                diff,
                comment,
                json.dumps([s.to_dict() for s in steps]),
                error,
                started_at,
                finished_at,
            ],
        )
    log.info("Audit: %s on %s ended %s", action, device_name, outcome)
    return cursor.lastrowid


def list_entries(
    db: Database,
    filters: AuditFilter = EVERY_ENTRY,
    *,
    limit: int | None = 500,
    offset: int = 0,
) -> list[AuditEntry]:
    """Entries, newest first, those ``filters`` match."""
    where, params = filters.clause()
    sql = "SELECT * FROM audit_log" + where + " ORDER BY started_at DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [_entry(row) for row in db.query(sql, params)]


def count_entries(db: Database, filters: AuditFilter = EVERY_ENTRY) -> int:
    """How many entries :func:`list_entries` would give without a limit."""
    where, params = filters.clause()
    return db.execute("SELECT count(*) FROM audit_log" + where, params).fetchone()[0]


def get_entry(db: Database, entry_id: int) -> AuditEntry:
    """One entry.

    :raises NotFound:
    """
    rows = rows_with_id(db, "SELECT * FROM audit_log WHERE id = ?", entry_id)
    if not rows:
        raise NotFound(f"There is no audit entry number {entry_id}.")
    return _entry(rows[0])


def known_values(db: Database, column: str) -> list[str]:
    """The distinct device names, outcomes or actions seen, for filters."""
    if column not in ("device_name", "outcome", "action"):
        raise ValueError(column)
    rows = db.execute(
        f"SELECT DISTINCT {column} FROM audit_log ORDER BY {column} COLLATE NOCASE"
    )
    return [row[0] for row in rows]


def export_csv(entries: list[AuditEntry]) -> str:
    """The entries as CSV, one row each, steps as ``step=status (1.2 s)``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        steps = "; ".join(f"{s.step}={s.status} ({s.elapsed:.1f} s)" for s in e.steps)
        row = [
            e.started_at,
            e.finished_at,
            e.action,
            e.source,
            e.job_id,
            e.device_name,
            e.host,
            e.policy_name,
            e.revision_label,
            "" if e.revision_id is None else str(e.revision_id),
            e.outcome,
            e.comment,
            e.error,
            steps,
            e.diff,
        ]
        writer.writerow([e.id, *(_cell(text) for text in row)])
    return out.getvalue()


def _cell(text: str) -> str:
    # a spreadsheet would run a cell starting with one of these as a formula;
    # every text cell is checked, whatever the column is expected to hold
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        action=row["action"],
        device_name=row["device_name"],
        outcome=row["outcome"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        device_id=row["device_id"],
        host=row["host"],
        policy_name=row["policy_name"],
        revision_label=row["revision_label"],
        revision_id=row["revision_id"],
        diff=row["diff"],
        comment=row["comment"],
        error=row["error"],
        steps=tuple(AuditStep(**s) for s in json.loads(row["steps"])),
        job_id=row["job_id"],
        source=row["source"],
    )
