"""The IMAP Desk web interface: a Flask application served to its window.

Flask and the store are imported by create_app(), not with the package, so
that the window (webui.desktop) can start before they are loaded.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


def create_app(
    data_dir: Path | str,
    *,
    launch_secret: str | None = None,
    config: dict[str, Any] | None = None,
) -> Flask:
    """Build the application over the database in ``data_dir``.

    :param launch_secret: the one-time secret the window is handed; made
        here when not given.
    :param config: overrides, for tests. ``TEMPLATE_CACHE_DIR`` keeps the
        compiled templates there between launches.
    """
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect

    import store

    from . import views
    from .db import close_db
    from .security import LaunchGuard, init_security

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
    CSRFProtect(app)
    app.teardown_appcontext(close_db)
    views.register(app)
    if app.config.get("TEMPLATE_CACHE_DIR"):
        _keep_compiled_templates(app, Path(app.config["TEMPLATE_CACHE_DIR"]))
    return app


def _keep_compiled_templates(app: Flask, folder: Path) -> None:
    # compiling the first page's templates is a tenth of the time to show it
    from jinja2 import FileSystemBytecodeCache

    class TemplateCache(FileSystemBytecodeCache):
        def dump_bytecode(self, bucket) -> None:
            # a cache that cannot be written must not fail the page
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("Not keeping compiled templates in %s: %s", folder, exc)
        return
    app.jinja_env.bytecode_cache = TemplateCache(str(folder))
