"""Running IMAP Desk as a separate process under a virtual X display."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def xvfb_display():
    """A private Xvfb display for the session, e.g. ":7"."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is needed for the window tests; run scripts/setup --dev.")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            "1280x1024x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as numbers:
        number = numbers.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start.")
    yield f":{number}"
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
