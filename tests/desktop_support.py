"""Running IMAP Desk as a separate process under a virtual X display."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from tests.xvfb import start_xvfb

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def xvfb_display():
    """A private Xvfb display for the session, e.g. ":7"."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is needed for the window tests; run scripts/setup --dev.")
    try:
        server, display = start_xvfb()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield display
    server.terminate()
    server.wait(timeout=10)


def window_env(tmp_path: Path, display: str | None, **extra: str) -> dict[str, str]:
    """An environment for one launch: its own display, settings and logs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "IMAPDESK_TEST_SCRIPT")
    }
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        QT_QPA_PLATFORM="xcb",
        QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu",
        PYTHONUNBUFFERED="1",
    )
    if display:
        env["DISPLAY"] = display
    env.update(extra)
    return env


def write_script(path: Path, body: str) -> Path:
    """A test script for IMAPDESK_TEST_SCRIPT, with the helpers it uses."""
    helpers = textwrap.dedent(
        """
        import json
        import threading
        import time

        loads = threading.Event()
        window.events.loaded += loads.set


        def js(expression):
            return window.evaluate_js(expression)


        def navigate(expression):
            loads.clear()
            js(expression)
            if not loads.wait(30):
                raise RuntimeError("the next page did not load")
            time.sleep(0.2)


        def report(data, path):
            with open(path, "w", encoding="utf-8") as out:
                json.dump(data, out)
        """
    )
    path.write_text(helpers + textwrap.dedent(body), encoding="utf-8")
    return path


def app_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "app.py"), *args]
