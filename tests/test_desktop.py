"""The desktop window: a real pywebview window under Xvfb, and its parts."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

import app as imapdesk
import store
from webui import desktop
from webui.instance import AlreadyRunning, InstanceLock, ask_to_raise

from .desktop_support import app_command, window_env, write_script, xvfb_display

__all__ = ["xvfb_display"]

LAUNCH_TIMEOUT = 90


def run_window(tmp_path, display, script, *args, data_dir=None):
    """Start the window with a test script and wait for it to exit."""
    data_dir = data_dir or tmp_path / "data"
    env = window_env(tmp_path, display, IMAPDESK_TEST_SCRIPT=str(script))
    return subprocess.run(
        app_command("--data-dir", str(data_dir), *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
    )


def read_geometry(tmp_path: Path) -> dict:
    path = tmp_path / "config" / "imapdesk" / "window.json"
    return json.loads(path.read_text())


@pytest.mark.desktop
def test_window_shows_the_policies_and_saves_an_edit(tmp_path, xvfb_display):
    out = tmp_path / "seen.json"
    script = write_script(
        tmp_path / "edit.py",
        f"""
        seen = {{}}
        seen["path"] = js("location.pathname")
        seen["heading"] = js("document.querySelector('h1').textContent")
        seen["bridge"] = js("typeof window.pywebview.api.save_file")
        seen["links"] = js(
            "Array.from(document.querySelectorAll('a'))"
            ".filter(a => /^\\\\/policies\\\\/\\\\d+$/.test(a.pathname))"
            ".map(a => a.textContent.trim())"
        )
        navigate(
            "Array.from(document.querySelectorAll('a'))"
            ".find(a => /^\\\\/policies\\\\/\\\\d+$/.test(a.pathname)).click()"
        )
        seen["edit_path"] = js("location.pathname")
        navigate(
            "document.querySelector('[name=subject]').value = 'Edited in the window';"
            "document.querySelector('[data-save]').click()"
        )
        seen["alerts"] = js(
            "Array.from(document.querySelectorAll('.alert'))"
            ".map(a => a.textContent.trim())"
        )
        report(seen, {str(out)!r})
        window.destroy()
        """,
    )

    result = run_window(tmp_path, xvfb_display, script)

    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    assert seen["path"] == "/"
    assert "polic" in seen["heading"].lower()
    assert seen["bridge"] == "function"
    assert "imap-policy" in seen["links"]
    assert seen["edit_path"].startswith("/policies/")
    assert any("saved" in alert.lower() for alert in seen["alerts"]), seen["alerts"]
    db = store.connect(tmp_path / "data" / store.DB_FILENAME)
    try:
        stored = store.get_policy_by_name(db, "imap-policy")
    finally:
        db.close()
    assert stored.policy.subject == "Edited in the window"
    log_text = (tmp_path / "state" / "imapdesk" / "log" / "imapdesk.log").read_text()
    assert "Window closed" in log_text
    assert "/launch/" not in result.stderr + result.stdout + log_text


@pytest.mark.desktop
def test_native_dialogs_export_and_import(tmp_path, xvfb_display):
    out = tmp_path / "seen.json"
    exported = tmp_path / "exported.json"
    to_import = tmp_path / "incoming.json"
    to_import.write_text(store.dumps_policy(store.Policy()))
    script = write_script(
        tmp_path / "dialogs.py",
        f"""
        import os

        answers = [({str(exported)!r},), ({str(to_import)!r},)]
        asked = []

        def fake_dialog(dialog_type, **options):
            asked.append(int(dialog_type))
            return answers.pop(0)

        window.create_file_dialog = fake_dialog
        seen = {{}}
        navigate(
            "Array.from(document.querySelectorAll('a'))"
            ".find(a => /^\\\\/policies\\\\/\\\\d+$/.test(a.pathname)).click()"
        )
        js("document.querySelector('a[data-native-save]').click()")
        for _ in range(100):
            if os.path.exists({str(exported)!r}):
                break
            time.sleep(0.1)
        time.sleep(0.3)
        seen["status"] = js("document.getElementById('desktop-status').textContent")
        navigate("location.href = '/policies/import'")
        js("document.querySelector('[name=name]').value = 'imported-in-window'")
        navigate(
            "document.querySelector('form[data-native-open] [type=submit]').click()"
        )
        seen["path"] = js("location.pathname")
        seen["alerts"] = js(
            "Array.from(document.querySelectorAll('.alert'))"
            ".map(a => a.textContent.trim())"
        )
        seen["asked"] = asked
        report(seen, {str(out)!r})
        window.destroy()
        """,
    )

    result = run_window(tmp_path, xvfb_display, script)

    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    assert seen["asked"] == [30, 10]  # FileDialog.SAVE, then FileDialog.OPEN
    assert json.loads(exported.read_text())["policy"]["name"] == "imap-policy"
    assert str(exported) in seen["status"]
    assert any("imported" in alert.lower() for alert in seen["alerts"])
    db = store.connect(tmp_path / "data" / store.DB_FILENAME)
    try:
        names = [stored.policy.name for stored in store.list_policies(db)]
    finally:
        db.close()
    assert "imported-in-window" in names


@pytest.mark.desktop
def test_window_remembers_its_geometry(tmp_path, xvfb_display):
    out = tmp_path / "seen.json"
    move = write_script(
        tmp_path / "move.py",
        """
        window.resize(900, 650)
        window.move(200, 120)
        time.sleep(1)
        window.destroy()
        """,
    )
    look = write_script(
        tmp_path / "look.py",
        f"""
        time.sleep(0.5)
        report(
            {{"x": window.x, "y": window.y, "width": window.width,
              "height": window.height}},
            {str(out)!r},
        )
        window.destroy()
        """,
    )

    assert run_window(tmp_path, xvfb_display, move).returncode == 0
    saved = read_geometry(tmp_path)
    assert (saved["x"], saved["y"]) == (200, 120)
    assert (saved["width"], saved["height"]) == (900, 650)
    assert run_window(tmp_path, xvfb_display, look).returncode == 0
    seen = json.loads(out.read_text())
    assert seen == {"x": 200, "y": 120, "width": 900, "height": 650}

    # a position left on a monitor that is gone no longer counts
    path = tmp_path / "config" / "imapdesk" / "window.json"
    path.write_text(json.dumps({**saved, "x": 4000, "y": 3000}))
    assert run_window(tmp_path, xvfb_display, look).returncode == 0
    seen = json.loads(out.read_text())
    assert 0 <= seen["x"] <= 1280 - 900 and 0 <= seen["y"] <= 1024 - 650


@pytest.mark.desktop
def test_second_launch_brings_the_first_forward(tmp_path, xvfb_display):
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    script = write_script(
        tmp_path / "wait.py",
        f"""
        import os

        open({str(ready)!r}, "w").close()
        for _ in range(600):
            if os.path.exists({str(stop)!r}):
                break
            time.sleep(0.1)
        window.destroy()
        """,
    )
    data_dir = tmp_path / "data"
    first = subprocess.Popen(
        app_command("--data-dir", str(data_dir)),
        env=window_env(tmp_path, xvfb_display, IMAPDESK_TEST_SCRIPT=str(script)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            if ready.exists() or first.poll() is not None:
                break
            time.sleep(0.1)
        assert ready.exists(), first.communicate(timeout=5)

        second_home = tmp_path / "second"
        second = subprocess.run(
            app_command("--data-dir", str(data_dir)),
            env=window_env(second_home, xvfb_display),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop.touch()
        stdout, stderr = first.communicate(timeout=60)

    assert second.returncode == 0, second.stderr
    assert "already open" in second.stdout
    assert "Serving on" not in second.stderr
    assert "Bringing the window forward" in stderr
    assert first.returncode == 0, stderr


@pytest.mark.desktop
def test_window_closes_cleanly_on_sigterm(tmp_path, xvfb_display):
    ready = tmp_path / "ready"
    script = write_script(
        tmp_path / "idle.py",
        f"""
        open({str(ready)!r}, "w").close()
        """,
    )
    window = subprocess.Popen(
        app_command("--data-dir", str(tmp_path / "data")),
        env=window_env(tmp_path, xvfb_display, IMAPDESK_TEST_SCRIPT=str(script)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):
        if ready.exists() or window.poll() is not None:
            break
        time.sleep(0.1)
    window.send_signal(signal.SIGTERM)
    _, stderr = window.communicate(timeout=60)

    assert ready.exists()
    assert window.returncode == 0, stderr
    assert "Server stopped" in stderr


def test_second_launch_says_already_open_when_the_first_cannot_answer(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    lock = InstanceLock(data_dir)
    lock.acquire()
    lock.publish({"pid": os.getpid(), "url": "http://127.0.0.1:1/"})
    try:
        result = subprocess.run(
            app_command("--data-dir", str(data_dir), "--no-window"),
            env=window_env(tmp_path, None),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        lock.release()

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "imapdesk: IMAP Desk is already open with this data folder."
    )


@pytest.mark.parametrize("display", [None, ":4321"])
def test_no_display_suggests_no_window(tmp_path, display):
    result = subprocess.run(
        app_command("--data-dir", str(tmp_path / "data")),
        env=window_env(tmp_path, display),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--no-window" in lines[0]
    assert "Traceback" not in result.stderr


def test_serve_stops_cleanly_on_sigterm(tmp_path):
    server = subprocess.Popen(
        app_command("--data-dir", str(tmp_path / "data"), "--no-window"),
        env=window_env(tmp_path, None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    assert "Open http://127.0.0.1:" in line, server.communicate(timeout=10)
    server.send_signal(signal.SIGTERM)
    _, stderr = server.communicate(timeout=30)

    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "data" / "imapdesk.lock").read_text()


def test_fit_to_screens_keeps_a_visible_position():
    screens = [(0, 0, 1920, 1080), (1920, 0, 1280, 1024)]
    saved = desktop.Geometry(1000, 700, 2100, 50)

    assert desktop.fit_to_screens(saved, screens) == saved


def test_fit_to_screens_drops_a_lost_position_and_shrinks():
    screens = [(0, 0, 1280, 800)]
    saved = desktop.Geometry(2400, 1400, 1900, 40, maximized=True)

    fitted = desktop.fit_to_screens(saved, screens)

    assert (fitted.width, fitted.height) == (1280, 800)
    assert (fitted.x, fitted.y) == (None, None)
    assert fitted.maximized


def test_fit_to_screens_drops_a_title_bar_above_the_screen():
    saved = desktop.Geometry(800, 600, 100, -300)

    fitted = desktop.fit_to_screens(saved, [(0, 0, 1280, 800)])

    assert (fitted.x, fitted.y) == (None, None)


def test_load_geometry_tolerates_a_damaged_file(tmp_path):
    path = tmp_path / "window.json"
    path.write_text("{not json")

    assert desktop.load_geometry(path) == desktop.Geometry()
    assert desktop.load_geometry(tmp_path / "missing.json") == desktop.Geometry()


def test_save_and_load_geometry(tmp_path):
    path = tmp_path / "config" / "window.json"
    geometry = desktop.Geometry(900, 650, 10, 20, maximized=True)

    desktop.save_geometry(path, geometry)

    assert desktop.load_geometry(path) == geometry


def test_instance_lock_is_exclusive_and_published(tmp_path):
    first, second = InstanceLock(tmp_path), InstanceLock(tmp_path)
    first.acquire()
    first.publish({"pid": 1, "control_port": 9, "secret": "s"})
    try:
        with pytest.raises(AlreadyRunning) as caught:
            second.acquire()
        assert caught.value.info["control_port"] == 9
    finally:
        first.release()
    second.acquire()
    second.release()


def test_control_listener_wants_the_secret():
    from webui.instance import ControlListener

    raised = []
    listener = ControlListener(lambda: raised.append(True))
    listener.start()
    try:
        info = {"control_port": listener.port, "secret": listener.secret}
        assert not ask_to_raise({**info, "secret": "guess"})
        assert raised == []
        assert ask_to_raise(info)
        assert raised == [True]
    finally:
        listener.shutdown()


def test_window_pages_allow_the_bridge_to_evaluate(app, client):
    before = client.get("/").headers["Content-Security-Policy"]
    app.config["WINDOW_BRIDGE"] = True
    after = client.get("/").headers["Content-Security-Policy"]

    assert "'unsafe-eval'" not in before
    script_src = next(d for d in after.split("; ") if d.startswith("script-src"))
    assert script_src == "script-src 'self' 'unsafe-eval'"
    assert after.replace(" 'unsafe-eval'", "") == before


def test_launch_secret_never_reaches_the_log():
    record = imapdesk.logging.LogRecord(
        "x", 20, __file__, 1, "GET %s", ("/launch/abcDEF-123 HTTP/1.1",), None
    )

    imapdesk.RedactLaunchSecret().filter(record)

    assert record.getMessage() == "GET /launch/[secret] HTTP/1.1"


def test_about_page_shows_version_and_folders(tmp_path, data_dir):
    from webui import create_app

    app = create_app(
        data_dir,
        config={
            "ALLOWED_HOSTS": ["localhost"],
            "VERSION": "9.8.7",
            "LOG_DIR": str(tmp_path / "logs"),
        },
    )
    client = app.test_client()
    client.get(f"/launch/{app.extensions['imapdesk_guard'].launch_secret}")

    page = client.get("/about").get_data(as_text=True)

    assert "9.8.7" in page
    assert str(data_dir) in page and str(tmp_path / "logs") in page
    assert 'href="/about"' in client.get("/").get_data(as_text=True)


def test_about_page_opens_the_log_folder(tmp_path, data_dir, monkeypatch):
    from webui import about, create_app

    opened = []
    monkeypatch.setattr(about, "open_folder", opened.append)
    app = create_app(
        data_dir,
        config={
            "ALLOWED_HOSTS": ["localhost"],
            "WTF_CSRF_ENABLED": False,
            "LOG_DIR": str(tmp_path / "logs"),
        },
    )
    client = app.test_client()
    client.get(f"/launch/{app.extensions['imapdesk_guard'].launch_secret}")

    response = client.post("/about/open/logs")

    assert response.status_code == 302
    assert opened == [tmp_path / "logs"]
    assert client.post("/about/open/elsewhere").status_code == 404


# the loggers configure_logging quietens, set back after each test
NOISY_LOGGERS = ("", "werkzeug", "ncclient", "paramiko", "jnpr")


@pytest.fixture
def app_logging(tmp_path, monkeypatch):
    """The application's logging, into a log folder of this test's own."""
    root = logging.getLogger()
    kept = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    monkeypatch.setattr(imapdesk, "log_dir", lambda: tmp_path / "log")
    imapdesk.configure_logging()
    yield tmp_path / "log"
    for handler in [h for h in root.handlers if h not in kept]:
        root.removeHandler(handler)
        handler.close()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_server_process_logs_to_its_own_rotating_file(app_logging):
    logger = logging.getLogger("webui.desktop")
    child = os.fork()
    if child == 0:
        try:
            desktop.log_to_own_files()
            logger.info("Served from the server process")
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    logger.info("Shown by the window process")

    window_log = (app_logging / "imapdesk.log").read_text()
    server_log = (app_logging / "imapdesk-server.log").read_text()
    assert "Shown by the window process" in window_log
    assert "Served from the server process" not in window_log
    assert "Served from the server process" in server_log
    assert "Shown by the window process" not in server_log
    assert " INFO webui.desktop: Served from the server process" in server_log


def test_the_server_log_file_rotates_like_the_main_one(app_logging):
    root = logging.getLogger()
    (main,) = [h for h in root.handlers if isinstance(h, RotatingFileHandler)]

    desktop.log_to_own_files()

    (own,) = [h for h in root.handlers if isinstance(h, RotatingFileHandler)]
    assert own.baseFilename == str(app_logging / "imapdesk-server.log")
    assert (own.maxBytes, own.backupCount) == (main.maxBytes, main.backupCount)
    assert any(isinstance(f, imapdesk.RedactLaunchSecret) for f in own.filters)
