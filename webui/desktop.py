"""The desktop window: a pywebview window over the local server.

Everything that knows about pywebview lives here, and pywebview itself is
imported only once a window is really wanted, so the command line, the
browser mode and the tests never load Qt. The backend is the platform's own
web view: Edge WebView2 on Windows, WKWebView on macOS, and Qt WebEngine
through PySide6 on Linux.

For automated tests, setting ``IMAPDESK_TEST_SCRIPT`` to a Python file runs
that file in a thread once the first page has loaded, with ``window`` (the
pywebview window) and ``api`` (the object the page's script calls) as
globals; it is expected to call ``window.destroy()`` when it is done. Nothing
happens when the variable is not set.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import runpy
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from .instance import AlreadyRunning, ControlListener, InstanceLock, ask_to_raise

log = logging.getLogger(__name__)

TITLE = "IMAP Desk"
DEFAULT_SIZE = (1100, 760)
MIN_SIZE = (640, 480)
# how much of the title bar must be on a screen for a saved position to count
VISIBLE_STRIP = (120, 40)
MAX_IMPORT_BYTES = 4 * 1024 * 1024
# the server process logs to imapdesk-server.log beside imapdesk.log
SERVER_LOG_SUFFIX = "-server"
TEST_SCRIPT_ENV = "IMAPDESK_TEST_SCRIPT"


class DesktopError(Exception):
    """A problem opening the window, to report in one sentence."""


def check_display() -> None:
    """Raise DesktopError when Linux has no display the window could use."""
    if sys.platform in ("win32", "darwin"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return  # offscreen, vnc and the like need no display server
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland and not platform.startswith("xcb"):
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if Path(runtime, wayland).exists() or Path(wayland).is_absolute():
            return
    display = os.environ.get("DISPLAY")
    if display and _x_server_answers(display):
        return
    raise DesktopError(
        "There is no display to open the window on; run it with --no-window "
        "to use the interface from a web browser instead."
    )


def _x_server_answers(display: str) -> bool:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("xcb") or "libxcb.so.1"
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return True  # cannot tell here; Qt will report it
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


@dataclass
class Geometry:
    """Where the window was and how big, in screen coordinates."""

    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    x: int | None = None
    y: int | None = None
    maximized: bool = False


def geometry_path() -> Path:
    """The small JSON file that remembers the window between launches."""
    import platformdirs

    return Path(platformdirs.user_config_dir("imapdesk", appauthor=False)) / (
        "window.json"
    )


def load_geometry(path: Path) -> Geometry:
    """The saved geometry, or the default when there is none or it is bad."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        geometry = Geometry(
            width=int(data["width"]),
            height=int(data["height"]),
            x=None if data.get("x") is None else int(data["x"]),
            y=None if data.get("y") is None else int(data["y"]),
            maximized=bool(data.get("maximized", False)),
        )
    except FileNotFoundError:
        return Geometry()
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("Ignored the unreadable window settings in %s", path)
        return Geometry()
    return geometry


def save_geometry(path: Path, geometry: Geometry) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(asdict(geometry)), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("Could not save the window settings to %s: %s", path, exc)


def fit_to_screens(
    saved: Geometry, screens: list[tuple[int, int, int, int]]
) -> Geometry:
    """Adjust a saved geometry to the screens there are now.

    :param screens: (x, y, width, height) of each screen, the primary first.
    The size shrinks to fit the largest screen; the position is kept only if
    enough of the title bar lands on some screen, and dropped (so the window
    is centred) when it would be lost off the edge, say after a monitor was
    unplugged.
    """
    if not screens:
        return saved
    max_w = max(s[2] for s in screens)
    max_h = max(s[3] for s in screens)
    width = min(max(saved.width, MIN_SIZE[0]), max_w)
    height = min(max(saved.height, MIN_SIZE[1]), max_h)
    x, y = saved.x, saved.y
    if x is not None and y is not None:
        strip_w = min(VISIBLE_STRIP[0], width)
        if not any(
            _overlap(x, x + width, sx, sx + sw) >= strip_w
            and sy <= y <= sy + sh - VISIBLE_STRIP[1]
            for sx, sy, sw, sh in screens
        ):
            x = y = None
    return Geometry(width, height, x, y, saved.maximized)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


class GeometryTracker:
    """Follows the window's moves and resizes, and saves them on close."""

    def __init__(self, path: Path, start: Geometry):
        self.path = path
        self.current = Geometry(**asdict(start))
        self.minimized = False

    def attach(self, window) -> None:
        window.events.moved += self._moved
        window.events.resized += self._resized
        window.events.maximized += self._maximized
        window.events.minimized += self._minimized
        window.events.restored += self._restored
        window.events.closing += self._closing

    def _moved(self, x, y):
        if not (self.current.maximized or self.minimized):
            self.current.x, self.current.y = int(x), int(y)

    def _resized(self, width, height):
        if not (self.current.maximized or self.minimized):
            self.current.width, self.current.height = int(width), int(height)

    def _maximized(self):
        self.current.maximized = True

    def _minimized(self):
        self.minimized = True

    def _restored(self):
        self.current.maximized = False
        self.minimized = False

    def _closing(self):
        save_geometry(self.path, self.current)


class DesktopApi:
    """What the page's script may ask of the window (see static/desktop.js).

    Only native file dialogs: the page fetches an export itself and hands
    the text over to be written where the user chooses, and for an import
    the user picks a file that is read and handed back to the page, which
    submits it through its own form.
    """

    def __init__(self):
        self._window = None

    def save_file(self, suggested_name: str, text: str) -> dict[str, Any]:
        """Ask where to save ``text`` and write it there."""
        import webview

        name = Path(str(suggested_name)).name or "policy.json"
        chosen = self._window.create_file_dialog(
            webview.FileDialog.SAVE,
            directory=str(_start_folder()),
            save_filename=name,
        )
        if not chosen:
            return {"cancelled": True}
        target = Path(chosen[0] if isinstance(chosen, list | tuple) else chosen)
        try:
            tmp = target.with_name(target.name + ".part")
            tmp.write_text(str(text), encoding="utf-8", newline="")
            tmp.replace(target)
        except OSError as exc:
            log.warning("Could not write the export to %s: %s", target, exc)
            return {"error": f"Cannot write {target}: {exc.strerror}."}
        log.info("Saved an export to %s", target)
        return {"path": str(target)}

    def choose_import_file(self) -> dict[str, Any]:
        """Ask for a file to import and return its name and content."""
        import webview

        chosen = self._window.create_file_dialog(
            webview.FileDialog.OPEN,
            directory=str(_start_folder()),
            file_types=("Policy files (*.json)", "All files (*.*)"),
        )
        if not chosen:
            return {"cancelled": True}
        path = Path(chosen[0])
        try:
            if path.stat().st_size > MAX_IMPORT_BYTES:
                return {"error": f"{path.name} is too large to be a policy file."}
            data = path.read_bytes()
        except OSError as exc:
            return {"error": f"Cannot read {path}: {exc.strerror}."}
        log.info("Chose %s to import", path)
        return {"name": path.name, "base64": base64.b64encode(data).decode("ascii")}


def _start_folder() -> Path:
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.home()


def run(
    data_dir: Path,
    *,
    port: int = 0,
    config: dict[str, Any] | None = None,
    icon: Path | None = None,
) -> int:
    """Open the window over a server on ``data_dir`` and wait until it closes.

    When another instance already has the data folder, ask it to bring its
    window forward instead, and return 0 if it did.
    """
    check_display()
    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        if ask_to_raise(exc.info):
            print("IMAP Desk is already open; its window has been brought forward.")
            return 0
        raise DesktopError("IMAP Desk is already open.") from None
    try:
        return _run_locked(lock, data_dir, port, config or {}, icon)
    finally:
        lock.release()


def _run_locked(lock, data_dir, port, config, icon) -> int:
    # the address and the launch secret exist before the interface does, so
    # the window starts at once while the interface is built beside it; the
    # web view's first request waits in the socket's backlog meanwhile
    try:
        listening = socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        raise DesktopError(f"Cannot listen on port {port}: {exc.strerror}.") from None
    interface = BackgroundInterface(
        data_dir, listening, {**config, "WINDOW_BRIDGE": True}
    )
    interface.start()
    try:
        _show_window(lock, interface, icon)
    finally:
        interface.stop()
    if interface.error is not None:
        raise DesktopError(f"{interface.error} The log file has the details.")
    return 0


class BackgroundInterface:
    """Builds the Flask application and serves it beside the window.

    The socket is already listening, so the window can be pointed at
    ``launch_url`` before the application exists. On Linux the interface is
    built and served in a forked process: in a thread it would wait for the
    interpreter lock, which Qt's start-up holds most of the time. Elsewhere
    it runs in a thread. ``error`` is a sentence saying why it failed, if
    it did.

    The forked process logs to files of its own (``imapdesk-server.log``
    beside ``imapdesk.log``), each process rotating only the files it writes.
    """

    def __init__(self, data_dir: Path, listening: socket.socket, config: dict):
        self.launch_secret = secrets.token_urlsafe(32)
        port = listening.getsockname()[1]
        self.launch_url = f"http://127.0.0.1:{port}/launch/{self.launch_secret}"
        self.error: str | None = None
        self._data_dir = data_dir
        self._listening = listening
        self._config = config
        self._server = None
        self._child: int | None = None
        self._stop_pipe: int | None = None
        self._stopped = False
        self._on_failure: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if sys.platform.startswith("linux"):
            self._start_process()
        else:
            self._start_thread(self._serve, "http")

    def on_failure(self, callback: Callable[[], None]) -> bool:
        """Have ``callback`` called, from another thread, if building fails.

        Returns False instead when it has failed already.
        """
        with self._lock:
            self._on_failure = callback
            return self.error is None

    def stop(self) -> None:
        """Stop serving, or stop the building from ending in a server."""
        with self._lock:
            self._stopped = True
            server = self._server
        if server is not None:
            server.shutdown()
        if self._stop_pipe is not None:
            os.close(self._stop_pipe)  # the child stops at end of file
        self._thread.join(timeout=10)
        if self._thread.is_alive() and self._child is not None:
            log.warning("The server process did not stop; killing it")
            os.kill(self._child, signal.SIGKILL)
            self._thread.join()

    def _start_thread(self, target, name: str, *args) -> None:
        self._thread = threading.Thread(
            target=target, args=args, name=name, daemon=True
        )
        self._thread.start()

    def _build(self):
        from . import create_app
        from .server import LocalServer

        app = create_app(
            self._data_dir, launch_secret=self.launch_secret, config=self._config
        )
        return LocalServer(app, listening=self._listening)

    def _failed(self, message: str) -> None:
        with self._lock:
            self.error = message
            callback = self._on_failure
        if callback is not None:
            callback()

    def _serve(self) -> None:
        try:
            server = self._build()
        except Exception as exc:
            log.exception("The interface could not start")
            self._listening.close()
            self._failed(_could_not_start(str(exc)))
            return
        with self._lock:
            stopped = self._stopped
            if not stopped:
                self._server = server
        if stopped:
            server.close()
        else:
            server.serve_forever()

    def _start_process(self) -> None:
        report_read, report_write = os.pipe()
        stop_read, stop_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.close(report_read)
                os.close(stop_write)
                code = self._serve_in_child(report_write, stop_read)
            finally:
                os._exit(code)
        os.close(report_write)
        os.close(stop_read)
        self._listening.close()
        self._child = pid
        self._stop_pipe = stop_write
        self._start_thread(self._watch_child, "http-watch", report_read)

    def _serve_in_child(self, report: int, stop: int) -> int:
        # Ctrl+C reaches the whole process group; the window decides
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log_to_own_files()
        try:
            server = self._build()
        except Exception as exc:
            log.exception("The interface could not start")
            os.write(report, str(exc).encode("utf-8", "replace")[:4000])
            return 2
        os.close(report)

        def stop_when_asked():
            with contextlib.suppress(OSError):
                os.read(stop, 1)
            server.shutdown()

        stopper = threading.Thread(target=stop_when_asked, daemon=True)
        stopper.start()
        server.serve_forever()
        stopper.join()
        return 0

    def _watch_child(self, report: int) -> None:
        with os.fdopen(report, "rb") as reader:
            message = reader.read().decode("utf-8", "replace")
        _, status = os.waitpid(self._child, 0)
        code = os.waitstatus_to_exitcode(status)
        if message:
            self._failed(_could_not_start(message))
        elif not self._stopped:
            log.error("The server process ended with status %s", code)
            self._failed(f"The server process stopped unexpectedly (status {code}).")


def log_to_own_files(suffix: str = SERVER_LOG_SUFFIX) -> None:
    """Move this process's rotating log files to files of its own beside them.

    For the forked server process: a file appended to by two processes and
    rotated by one of them leaves the other writing to the rotated file.
    ``imapdesk.log`` becomes ``imapdesk-server.log``, rotated the same way.
    """
    root = logging.getLogger()
    for inherited in list(root.handlers):
        if not isinstance(inherited, RotatingFileHandler):
            continue
        path = Path(inherited.baseFilename)
        try:
            own = RotatingFileHandler(
                path.with_name(f"{path.stem}{suffix}{path.suffix}"),
                maxBytes=inherited.maxBytes,
                backupCount=inherited.backupCount,
                encoding=inherited.encoding,
            )
        except OSError as exc:
            root.removeHandler(inherited)
            inherited.close()
            log.warning("The server process is not logging to a file: %s", exc)
            continue
        own.setLevel(inherited.level)
        own.setFormatter(inherited.formatter)
        for kept in inherited.filters:
            own.addFilter(kept)
        root.removeHandler(inherited)
        inherited.close()
        root.addHandler(own)


def _could_not_start(reason: str) -> str:
    return f"The interface could not start: {reason.rstrip('.')}."


def _show_window(lock, interface: BackgroundInterface, icon) -> None:
    webview = _import_webview()
    api = DesktopApi()
    screens = _screens(webview)
    path = geometry_path()
    start = fit_to_screens(load_geometry(path), screens)
    tracker = GeometryTracker(path, start)
    origin = _primary_origin(screens)
    window = webview.create_window(
        TITLE,
        interface.launch_url,
        js_api=api,
        width=start.width,
        height=start.height,
        x=None if start.x is None else start.x - origin[0],
        y=None if start.y is None else start.y - origin[1],
        min_size=MIN_SIZE,
        maximized=start.maximized,
        text_select=True,
    )
    api._window = window
    tracker.attach(window)
    if not interface.on_failure(window.destroy):
        return

    listener = ControlListener(lambda: bring_forward(window, tracker))
    listener.start()
    lock.publish(
        {"pid": os.getpid(), "control_port": listener.port, "secret": listener.secret}
    )
    _stop_on_sigterm(window)
    _install_test_script(window, api)
    try:
        webview.start(
            gui="qt" if sys.platform.startswith("linux") else None,
            private_mode=True,
            icon=str(icon) if icon else None,
        )
    finally:
        listener.shutdown()
    log.info("Window closed")


def _import_webview():
    if sys.platform.startswith("linux"):
        os.environ.setdefault("QT_API", "pyside6")
        os.environ.setdefault("PYWEBVIEW_GUI", "qt")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Chromium refuses to start its sandbox as root (containers, CI)
            os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
            log.warning("Running as root: the web view's sandbox is off")
    import webview

    # pywebview adds its own console handler; the application's handlers
    # (the log file among them) already receive its records
    pywebview_log = logging.getLogger("pywebview")
    for handler in list(pywebview_log.handlers):
        pywebview_log.removeHandler(handler)
    return webview


def _screens(webview) -> list[tuple[int, int, int, int]]:
    try:
        return [(s.x, s.y, s.width, s.height) for s in webview.screens]
    except Exception:  # a backend without screen information
        log.warning("Could not list the screens; the window will be centred")
        return []


def _primary_origin(screens: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    # Qt places the window relative to the primary screen's corner
    if not sys.platform.startswith("linux") or not screens:
        return (0, 0)
    return (screens[0][0], screens[0][1])


def bring_forward(window, tracker: GeometryTracker) -> None:
    """Show the window above the others, restoring it if minimised."""
    log.info("Bringing the window forward for another launch")
    if tracker.minimized:
        window.restore()
    window.show()
    window.on_top = True
    window.on_top = False


def _stop_on_sigterm(window) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, AttributeError):
        signal.signal(signal.SIGTERM, lambda signum, frame: window.destroy())


def _install_test_script(window, api: DesktopApi) -> None:
    script = os.environ.get(TEST_SCRIPT_ENV)
    if not script:
        return
    started = threading.Event()

    def run_script():
        try:
            runpy.run_path(script, init_globals={"window": window, "api": api})
        except BaseException:
            log.exception("The test script %s failed", script)
            window.destroy()

    def on_loaded():
        if started.is_set():
            return
        started.set()
        threading.Thread(target=run_script, name="test-script", daemon=True).start()

    window.events.loaded += on_loaded
