"""Opening the SQLite database and bringing its schema up to date."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database, Migrations

log = logging.getLogger(__name__)

DB_FILENAME = "imapdesk.db"

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


def connect(path: Path | str) -> Database:
    """Open the database file with the connection settings every user needs.

    WAL lets the window read while a save is written; ``synchronous=FULL``
    makes an acknowledged save survive a crash of the process or the machine.
    """
    conn = sqlite3.connect(
        str(path), timeout=10, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return Database(conn)


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


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Run a block as one write transaction, taking the write lock up front.

    ``BEGIN IMMEDIATE`` avoids the deadlock two deferred transactions meet
    when both read first and then try to write.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
