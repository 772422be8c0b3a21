"""One running IMAP Desk per data folder.

The first instance holds an operating-system lock on ``imapdesk.lock`` in the
data folder for as long as it runs, and writes into that file the loopback
port of a tiny control listener and a secret made at launch. A second launch
finds the lock taken, reads the port and secret, and asks the first instance
to bring its window forward instead of opening a second server on the same
database. The lock goes away with the process, so a crash leaves nothing
that blocks the next launch.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_FILENAME = "imapdesk.lock"
# on Windows the lock covers one byte far past the JSON, so others can read it
_WINDOWS_LOCK_OFFSET = 1 << 30


class AlreadyRunning(Exception):
    """Another instance holds the data folder; ``info`` is what it published."""

    def __init__(self, info: dict[str, Any]):
        super().__init__("IMAP Desk is already open.")
        self.info = info


class InstanceLock:
    """The data folder's lock, held from acquire() until release()."""

    def __init__(self, data_dir: Path | str):
        self.path = Path(data_dir) / LOCK_FILENAME
        self._file = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning with the holder's details."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        if not _try_lock(handle):
            handle.close()
            raise AlreadyRunning(read_instance_info(self.path))
        self._file = handle

    def publish(self, info: dict[str, Any]) -> None:
        """Write what a second launch needs to reach this one."""
        assert self._file is not None, "publish() needs the lock"
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(info))
        self._file.flush()

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()
        self._file.close()
        self._file = None


def _try_lock(handle) -> bool:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            handle.seek(0)
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def read_instance_info(path: Path, wait: float = 5.0) -> dict[str, Any]:
    """What the holder published, waiting a little for one just starting."""
    deadline = time.monotonic() + wait
    while True:
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(info, dict) and info.get("pid"):
                return info
        if time.monotonic() >= deadline:
            return {}
        time.sleep(0.1)


class ControlListener:
    """Answers ``raise <secret>`` on a loopback port by calling ``on_raise``."""

    def __init__(self, on_raise: Callable[[], None]):
        self.secret = secrets.token_urlsafe(32)
        expected = f"raise {self.secret}".encode()

        class Handler(socketserver.StreamRequestHandler):
            timeout = 2

            def handle(self):
                with contextlib.suppress(OSError):
                    line = self.rfile.readline(200).strip()
                    if not hmac.compare_digest(line, expected):
                        log.warning("Refused a control request without the secret")
                        self.wfile.write(b"refused\n")
                        return
                    on_raise()
                    self.wfile.write(b"ok\n")

        self._server = socketserver.ThreadingTCPServer(
            ("127.0.0.1", 0), Handler, bind_and_activate=True
        )
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="control", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def ask_to_raise(info: dict[str, Any], timeout: float = 3.0) -> bool:
    """Ask the running instance to bring its window forward; True if it did."""
    port, secret = info.get("control_port"), info.get("secret")
    if not port or not secret:
        return False
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout) as conn:
            conn.sendall(f"raise {secret}\n".encode())
            answer = conn.makefile("rb").readline(20)
    except (OSError, ValueError):
        return False
    return answer.strip() == b"ok"
