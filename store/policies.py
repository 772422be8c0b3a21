"""Policies and their revisions in SQLite.

Every change to a policy writes one immutable revision holding the whole
policy, in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from .db import rows_with_id, write_transaction
from .errors import DuplicateName, NotFound, StaleRevision
from .model import Policy, ValidationError, check_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredPolicy:
    """A policy as saved, with the revision it is at."""

    id: int
    policy: Policy
    revision_id: int
    revision_number: int
    updated_at: str


@dataclass(frozen=True)
class Revision:
    """One saved state of a policy."""

    id: int
    policy_id: int
    number: int
    created_at: str
    note: str
    policy: Policy
    restored_from: int | None


def now() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def list_policies(db: Database) -> list[StoredPolicy]:
    """Every policy, ordered by name."""
    rows = db.query(_SELECT_POLICY + " ORDER BY p.name COLLATE NOCASE")
    return [_stored(row) for row in rows]


def get_policy(db: Database, policy_id: int) -> StoredPolicy:
    """The policy with this id.

    :raises NotFound: if there is none.
    """
    rows = rows_with_id(db, _SELECT_POLICY + " WHERE p.id = ?", policy_id)
    if not rows:
        raise NotFound(f"There is no policy number {policy_id}.")
    return _stored(rows[0])


def get_policy_by_name(db: Database, name: str) -> StoredPolicy:
    """The policy with this name, compared without regard to case.

    :raises NotFound: if there is none.
    """
    rows = list(db.query(_SELECT_POLICY + " WHERE p.name = ? COLLATE NOCASE", [name]))
    if not rows:
        raise NotFound(f"There is no policy named {name!r}.")
    return _stored(rows[0])


def create_policy(db: Database, policy: Policy, note: str = "") -> StoredPolicy:
    """Store a new policy and its first revision.

    :raises DuplicateName: if another policy has the name.
    """
    return create_policies(db, [policy], note)[0]


def create_policies(
    db: Database, policies: list[Policy], note: str = ""
) -> list[StoredPolicy]:
    """Store several new policies in one transaction: all of them or none.

    :raises DuplicateName: if a name is taken, and nothing is stored.
    """
    note = _check_note(note)
    stamp = now()
    ids = []
    with write_transaction(db):
        for policy in policies:
            try:
                cursor = db.execute(
                    "INSERT INTO policies (name, data, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    [policy.name, _dump(policy), stamp, stamp],
                )
            except sqlite3.IntegrityError:
                raise _duplicate(policy.name) from None
            ids.append(cursor.lastrowid)
            _add_revision(db, cursor.lastrowid, policy, note or "Created.", stamp)
    for policy in policies:
        log.info("Created policy %s", policy.name)
    return [get_policy(db, policy_id) for policy_id in ids]


def save_policy(
    db: Database,
    policy_id: int,
    policy: Policy,
    note: str = "",
    *,
    base_revision: int | None = None,
    restored_from: int | None = None,
) -> tuple[StoredPolicy, bool]:
    """Save a new state of a policy as a new revision.

    :param base_revision: the revision id the edit started from; when given
        and no longer current, the save is refused instead of silently
        overwriting a newer one.
    :returns: the stored policy and whether anything changed; saving an
        identical policy writes no revision.
    :raises NotFound, DuplicateName, StaleRevision:
    """
    note = _check_note(note)
    stamp = now()
    with write_transaction(db):
        current = get_policy(db, policy_id)
        if base_revision is not None and base_revision != current.revision_id:
            raise StaleRevision(
                "This policy was saved elsewhere after you opened it; reload it "
                "to see the newer version before saving."
            )
        if policy == current.policy and restored_from is None:
            return current, False
        try:
            db.execute(
                "UPDATE policies SET name = ?, data = ?, updated_at = ? WHERE id = ?",
                [policy.name, _dump(policy), stamp, policy_id],
            )
        except sqlite3.IntegrityError:
            raise _duplicate(policy.name) from None
        _add_revision(db, policy_id, policy, note, stamp, restored_from)
    log.info("Saved policy %s", policy.name)
    return get_policy(db, policy_id), True


def check_policy(
    db: Database, policy: Policy, note: str = "", *, policy_id: int | None = None
) -> None:
    """Refuse what storing a policy would refuse, and store nothing.

    :param policy_id: the policy it would be saved over; None for a new one.
    :raises ValidationError: if the note cannot be stored.
    :raises DuplicateName: if another policy has the name.
    """
    _check_note(note)
    rows = db.query(
        "SELECT id FROM policies WHERE name = ? COLLATE NOCASE", [policy.name]
    )
    if any(row["id"] != policy_id for row in rows):
        raise _duplicate(policy.name)


def delete_policy(db: Database, policy_id: int) -> None:
    """Delete a policy together with its revisions.

    :raises NotFound:
    """
    with write_transaction(db):
        stored = get_policy(db, policy_id)
        db.execute("DELETE FROM policies WHERE id = ?", [policy_id])
    log.info("Deleted policy %s", stored.policy.name)


def list_revisions(db: Database, policy_id: int) -> list[Revision]:
    """A policy's revisions, newest first."""
    rows = db.query(
        "SELECT * FROM revisions WHERE policy_id = ? ORDER BY number DESC",
        [policy_id],
    )
    return [_revision(row) for row in rows]


def get_revision(db: Database, revision_id: int) -> Revision:
    """One revision.

    :raises NotFound:
    """
    rows = rows_with_id(db, "SELECT * FROM revisions WHERE id = ?", revision_id)
    if not rows:
        raise NotFound(f"There is no revision number {revision_id}.")
    return _revision(rows[0])


def restore_revision(
    db: Database, policy_id: int, revision_id: int, note: str = ""
) -> StoredPolicy:
    """Make an earlier revision current again, as a new revision.

    :raises NotFound: if the revision does not belong to the policy.
    :raises DuplicateName: if its name is now taken by another policy.
    """
    revision = get_revision(db, revision_id)
    if revision.policy_id != policy_id:
        raise NotFound("That revision belongs to another policy.")
    note = note or f"Restored revision {revision.number}."
    stored, _ = save_policy(
        db, policy_id, revision.policy, note, restored_from=revision.id
    )
    return stored


def ensure_default_policy(db: Database) -> None:
    """Create the first policy, with defaults, when there is none at all."""
    if db.execute("SELECT count(*) FROM policies").fetchone()[0] == 0:
        create_policy(db, Policy(), "First policy, with the default settings.")


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    """A JSON value from the settings table."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return default if row is None else json.loads(row[0])


def set_setting(db: Database, key: str, value: Any) -> None:
    """Store a JSON value in the settings table."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, json.dumps(value)],
        )


_SELECT_POLICY = (
    "SELECT p.id, p.data, p.updated_at, r.id AS revision_id, r.number "
    "FROM policies p JOIN revisions r ON r.id = p.revision_id"
)


def _add_revision(
    db: Database,
    policy_id: int,
    policy: Policy,
    note: str,
    stamp: str,
    restored_from: int | None = None,
) -> int:
    number = db.execute(
        "SELECT coalesce(max(number), 0) + 1 FROM revisions WHERE policy_id = ?",
        [policy_id],
    ).fetchone()[0]
    cursor = db.execute(
        "INSERT INTO revisions "
        "(policy_id, number, created_at, note, data, restored_from) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [policy_id, number, stamp, note, _dump(policy), restored_from],
    )
    db.execute(
        "UPDATE policies SET revision_id = ? WHERE id = ?",
        [cursor.lastrowid, policy_id],
    )
    return cursor.lastrowid


def _check_note(note: str) -> str:
    try:
        return check_text("note", note.strip())
    except ValueError as exc:
        raise ValidationError({"note": str(exc)}) from None


def _duplicate(name: str) -> DuplicateName:
    return DuplicateName(f"A policy named {name!r} already exists.")


def _dump(policy: Policy) -> str:
    return json.dumps(policy.to_dict(), ensure_ascii=False, sort_keys=True)


def _load(text: str) -> Policy:
    return Policy.from_dict(json.loads(text))


def _stored(row: dict[str, Any]) -> StoredPolicy:
    return StoredPolicy(
        id=row["id"],
        policy=_load(row["data"]),
        revision_id=row["revision_id"],
        revision_number=row["number"],
        updated_at=row["updated_at"],
    )


def _revision(row: dict[str, Any]) -> Revision:
    return Revision(
        id=row["id"],
        policy_id=row["policy_id"],
        number=row["number"],
        created_at=row["created_at"],
        note=row["note"],
        policy=_load(row["data"]),
        restored_from=row["restored_from"],
    )
