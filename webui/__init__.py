"""The IMAP Desk web interface: a Flask application served to its window."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

import store

from .db import close_db
from .security import LaunchGuard, init_security

csrf = CSRFProtect()


def create_app(
    data_dir: Path | str,
    *,
    launch_secret: str | None = None,
    config: dict[str, Any] | None = None,
) -> Flask:
    """Build the application over the database in ``data_dir``.

    :param launch_secret: the one-time secret the window is handed; made
        here when not given.
    :param config: overrides, for tests.
    """
    app = Flask(__name__)
    data_dir = Path(data_dir)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        DATA_DIR=str(data_dir),
        DATABASE=str(data_dir / store.DB_FILENAME),
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,
    )
    if config:
        app.config.update(config)

    store.init_db(app.config["DATABASE"])
    db = store.connect(app.config["DATABASE"])
    try:
        store.ensure_default_policy(db)
    finally:
        db.close()

    # the launch guard runs first, so a stranger learns nothing from CSRF errors
    init_security(app, LaunchGuard(launch_secret))
    csrf.init_app(app)
    app.teardown_appcontext(close_db)

    from . import views

    views.register(app)
    return app
