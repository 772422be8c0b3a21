"""The PyInstaller bundle: build it once, then run what was built.

The build takes a few minutes. Set IMAPDESK_BUNDLE to the folder of a bundle
that is already built (e.g. dist/imapdesk) to test that one instead.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .desktop_support import ROOT, window_env, write_script, xvfb_display

__all__ = ["xvfb_display"]

pytestmark = pytest.mark.slow
EXECUTABLE = "imapdesk.exe" if sys.platform == "win32" else "imapdesk"


@pytest.fixture(scope="session")
def bundle(request, tmp_path_factory) -> Path:
    """The folder of the built application."""
    prebuilt = os.environ.get("IMAPDESK_BUNDLE")
    if prebuilt:
        return Path(prebuilt).resolve()
    base = tmp_path_factory.mktemp("build")
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            str(ROOT / "packaging" / "imapdesk.spec"),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(base / "dist"),
            "--workpath",
            str(base / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    folder = base / "dist" / "imapdesk"
    size = sum(
        f.stat().st_size
        for f in folder.rglob("*")
        if f.is_file() and not f.is_symlink()
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nbundle built in {elapsed:.0f} s, {size / 1e6:.0f} MB: {folder}")
    return folder


def start_serving(bundle: Path, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [str(bundle / EXECUTABLE), "--no-window", "--data-dir", str(tmp_path / "data")],
        env=window_env(tmp_path, None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    assert "Open http://127.0.0.1:" in line, server.communicate(timeout=10)
    return server, line.split("Open ", 1)[1].strip()


def test_bundle_holds_the_device_stack_and_the_window(bundle, tmp_path):
    result = subprocess.run(
        [str(bundle / EXECUTABLE), "selfcheck", "--gui"],
        env=window_env(tmp_path, None),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"


def test_bundle_leaves_out_what_it_does_not_use(bundle):
    names = {path.name for path in bundle.rglob("*")}

    assert not any(name.startswith(("libQt63D", "libQt6Multimedia")) for name in names)
    assert not {"PyQt5", "PyQt6", "tkinter", "pytest"} & names
    assert "imapdesk.png" in names
    if sys.platform.startswith("linux"):
        assert (bundle / "imapdesk.desktop").exists()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_bundle_serves_the_policy_page(bundle, tmp_path, stop):
    server, launch_url = start_serving(bundle, tmp_path)
    try:
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        opener = urllib.request.build_opener(cookies)
        with opener.open(launch_url, timeout=30) as response:
            status, page = response.status, response.read().decode()
            final_url = response.url
    finally:
        server.send_signal(stop)
        _, stderr = server.communicate(timeout=30)

    assert status == 200
    assert final_url.endswith("/")
    assert "imap-policy" in page
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "data" / "imapdesk.db").exists()
    assert not list(bundle.rglob("imapdesk.db"))


@pytest.mark.desktop
def test_bundle_opens_its_window(bundle, tmp_path, xvfb_display):
    out = tmp_path / "seen.json"
    script = write_script(
        tmp_path / "look.py",
        f"""
        report(
            {{"heading": js("document.querySelector('h1').textContent"),
              "bridge": js("typeof window.pywebview.api.choose_import_file")}},
            {str(out)!r},
        )
        window.destroy()
        """,
    )

    result = subprocess.run(
        [str(bundle / EXECUTABLE), "--data-dir", str(tmp_path / "data")],
        env=window_env(tmp_path, xvfb_display, IMAPDESK_TEST_SCRIPT=str(script)),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    assert "polic" in seen["heading"].lower()
    assert seen["bridge"] == "function"


def test_bundle_without_a_display_suggests_no_window(bundle, tmp_path):
    result = subprocess.run(
        [str(bundle / EXECUTABLE), "--data-dir", str(tmp_path / "data")],
        env=window_env(tmp_path, None),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "--no-window" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
