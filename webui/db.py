"""One database connection per request."""

from __future__ import annotations

from flask import current_app, g
from sqlite_utils import Database

import store


def get_db() -> Database:
    """The request's connection, opened on first use."""
    if "db" not in g:
        g.db = store.connect(current_app.config["DATABASE"])
    return g.db


def close_db(exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()
