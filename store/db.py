"""Opening the SQLite database and bringing its schema up to date."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from .errors import DatabaseUnreadable

log = logging.getLogger(__name__)

DB_FILENAME = "imapdesk.db"
# SQLite integers are signed 64-bit; a larger id cannot even be looked up
ROW_ID_RANGE = range(-(2**63), 2**63)

migrations = Migrations("imapdesk")


@migrations()
def m001_policies_and_revisions(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE policies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            data TEXT NOT NULL,
            revision_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            policy_id INTEGER NOT NULL
                REFERENCES policies(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            data TEXT NOT NULL,
            restored_from INTEGER REFERENCES revisions(id) ON DELETE SET NULL,
            UNIQUE (policy_id, number)
        )
        """
    )
    # a revision is a record of what was saved: it is never edited
    db.execute(
        """
        CREATE TRIGGER revisions_are_immutable
        BEFORE UPDATE OF policy_id, number, created_at, note, data ON revisions
        BEGIN
            SELECT RAISE(ABORT, 'revisions cannot be changed');
        END
        """
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m002_devices(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            host TEXT NOT NULL,
            port INTEGER NOT NULL DEFAULT 830,
            user TEXT NOT NULL,
            auth TEXT NOT NULL CHECK (auth IN ('password', 'key_file', 'agent')),
            key_file TEXT NOT NULL DEFAULT '',
            policy_id INTEGER REFERENCES policies(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE device_bindings (
            device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            from_zone TEXT NOT NULL,
            to_zone TEXT NOT NULL,
            security_policy TEXT NOT NULL,
            ssl_proxy TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (device_id, position)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE host_keys (
            device_id INTEGER PRIMARY KEY
                REFERENCES devices(id) ON DELETE CASCADE,
            key_line TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            trusted_at TEXT NOT NULL
        )
        """
    )
    # what the last successful sync left on the device, to tell drift from it
    db.execute(
        """
        CREATE TABLE sync_states (
            device_id INTEGER PRIMARY KEY
                REFERENCES devices(id) ON DELETE CASCADE,
            policy_name TEXT NOT NULL,
            revision_id INTEGER REFERENCES revisions(id) ON DELETE SET NULL,
            revision_label TEXT NOT NULL,
            bindings TEXT NOT NULL,
            managed_config TEXT NOT NULL,
            synced_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m003_audit_log(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            job_id TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            device_id INTEGER,
            device_name TEXT NOT NULL,
            host TEXT NOT NULL DEFAULT '',
            policy_name TEXT NOT NULL DEFAULT '',
            revision_label TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,
            diff TEXT NOT NULL DEFAULT '',
            comment TEXT NOT NULL DEFAULT '',
            steps TEXT NOT NULL DEFAULT '[]',
            error TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX audit_log_started ON audit_log (started_at)")
    db.execute("CREATE INDEX audit_log_device ON audit_log (device_name)")
    # the audit log is a record of what happened: it is only ever added to
    db.execute(
        """
        CREATE TRIGGER audit_log_is_append_only
        BEFORE UPDATE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit entries cannot be changed');
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER audit_log_is_kept
        BEFORE DELETE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit entries cannot be deleted');
        END
        """
    )


@migrations()
def m004_device_contact(db: Database) -> None:
    # the commit comment of a sync whose outcome is not known yet
    db.execute(
        "ALTER TABLE devices ADD COLUMN pending_comment TEXT NOT NULL DEFAULT ''"
    )
    db.execute(
        """
        CREATE TABLE device_facts (
            device_id INTEGER PRIMARY KEY
                REFERENCES devices(id) ON DELETE CASCADE,
            hostname TEXT NOT NULL,
            model TEXT NOT NULL,
            version TEXT NOT NULL,
            serial TEXT NOT NULL,
            supports_imap INTEGER NOT NULL,
            checked_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m005_revision_ids(db: Database) -> None:
    # no foreign key on the audit log: an entry never changes, not even when
    # the revision it names is deleted with its policy
    db.execute("ALTER TABLE audit_log ADD COLUMN revision_id INTEGER")
    # the revision a sync whose outcome is not known yet was sending
    db.execute(
        "ALTER TABLE devices ADD COLUMN pending_revision_id INTEGER "
        "REFERENCES revisions(id) ON DELETE SET NULL"
    )


@migrations()
def m006_binding_match_lists(db: Database) -> None:
    # names separated by spaces; NULL or empty is the default match
    for column in ("source_addresses", "destination_addresses", "applications"):
        db.execute(f"ALTER TABLE device_bindings ADD COLUMN {column} TEXT")


@migrations()
def m007_binding_placement(db: Database) -> None:
    # the security policy a new one is created before; NULL or empty: the end
    db.execute("ALTER TABLE device_bindings ADD COLUMN place_before TEXT")


@migrations()
def m008_pending_sync(db: Database) -> None:
    # what a sync whose outcome is not known yet was sending, so that once
    # the device says it went through, that is what is remembered as synced;
    # NULL bindings: a sync left pending before this was kept
    db.execute("ALTER TABLE devices ADD COLUMN pending_policy TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE devices ADD COLUMN pending_label TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE devices ADD COLUMN pending_bindings TEXT")


@migrations()
def m009_pending_config(db: Database) -> None:
    # the managed subtrees that sync was to leave on the device, as XML text;
    # NULL for a sync left pending before this was kept
    db.execute("ALTER TABLE devices ADD COLUMN pending_config TEXT")
    # a sync left pending before m008 is labelled with the revision it sent
    db.execute(
        """
        UPDATE devices SET
            pending_label = (
                SELECT p.name || ' r' || r.number FROM revisions r
                JOIN policies p ON p.id = r.policy_id
                WHERE r.id = devices.pending_revision_id
            ),
            pending_policy = (
                SELECT p.name FROM revisions r
                JOIN policies p ON p.id = r.policy_id
                WHERE r.id = devices.pending_revision_id
            )
        WHERE pending_comment != '' AND pending_label = ''
            AND pending_revision_id IS NOT NULL
        """
    )


def connect(path: Path | str) -> Database:
    """Open the database file with the connection settings every user needs.

    WAL lets the window read while a save is written; ``synchronous=FULL``
    makes an acknowledged save survive a crash of the process or the machine.

    :raises DatabaseUnreadable: when the file is not a database SQLite can use.
    """
    try:
        conn = sqlite3.connect(
            str(path), timeout=10, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise _unreadable(path, exc) from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        conn.close()
        raise _unreadable(path, exc) from None
    return Database(conn)


def _unreadable(path: Path | str, exc: sqlite3.Error) -> DatabaseUnreadable:
    return DatabaseUnreadable(f"The database {path} cannot be opened: {exc}.")


def init_db(path: Path | str) -> None:
    """Create the database if needed and apply pending migrations."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        pending = [m.name for m in migrations.pending(db)]
        if pending:
            log.info("Migrating %s: %s", path, ", ".join(pending))
        migrations.apply(db)
    finally:
        db.close()


def rows_with_id(db: Database, sql: str, row_id: int) -> list[dict[str, Any]]:
    """The rows ``sql`` finds for one id; none for an id beyond SQLite's range."""
    if row_id not in ROW_ID_RANGE:
        return []
    return list(db.query(sql, [row_id]))


@contextlib.contextmanager
def read_snapshot(db: Database) -> Iterator[Database]:
    """Run a block of reads against one state of the database.

    What other connections save meanwhile is seen only after the block, so
    values read in separate queries belong together.
    """
    db.conn.execute("BEGIN")
    try:
        yield db
    finally:
        db.conn.execute("COMMIT")


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Run a block as one write transaction, taking the write lock up front.

    ``BEGIN IMMEDIATE`` avoids the deadlock two deferred transactions meet
    when both read first and then try to write. Inside another write
    transaction the block is a savepoint instead, so that several store
    functions can make one change that is kept whole or not at all.
    """
    if db.conn.in_transaction:
        db.conn.execute("SAVEPOINT nested")
        try:
            yield db
        except BaseException:
            db.conn.execute("ROLLBACK TO nested")
            db.conn.execute("RELEASE nested")
            raise
        db.conn.execute("RELEASE nested")
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
