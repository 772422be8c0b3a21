"""The About page: version, where the data and the logs are, and a way there."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)

log = logging.getLogger(__name__)

bp = Blueprint("about", __name__)

FOLDERS = {"data": "DATA_DIR", "logs": "LOG_DIR"}


@bp.route("/about")
def index():
    """Show the version and the data and log folders."""
    return render_template(
        "about.html",
        version=current_app.config.get("VERSION", "unknown"),
        data_dir=current_app.config["DATA_DIR"],
        log_dir=current_app.config.get("LOG_DIR"),
    )


@bp.post("/about/open/<which>")
def open_(which: str):
    """Open the data or log folder in the file manager."""
    key = FOLDERS.get(which)
    if key is None or not current_app.config.get(key):
        abort(404, "There is no such folder.")
    path = Path(current_app.config[key])

    try:
        path.mkdir(parents=True, exist_ok=True)
        open_folder(path)
    except OSError as exc:
        log.warning("Could not open %s: %s", path, exc)
        flash(f"Could not open {path}: {exc.strerror or exc}.", "error")
    else:
        flash(f"Opened {path} in the file manager.", "info")
    return redirect(url_for("about.index"))


def open_folder(path: Path) -> None:
    """Show a folder in the system's file manager."""
    if sys.platform == "win32":
        os.startfile(path)
        return
    command = "open" if sys.platform == "darwin" else "xdg-open"
    subprocess.Popen(
        [command, str(path)],
        env=_system_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _system_environment() -> dict[str, str]:
    # a bundled build points the library path at its own folder; the file
    # manager must get the system's libraries back
    env = dict(os.environ)
    if getattr(sys, "frozen", False):
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if original is None:
            env.pop("LD_LIBRARY_PATH", None)
        else:
            env["LD_LIBRARY_PATH"] = original
    return env
