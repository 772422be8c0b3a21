"""The SSH side of a simulated SRX: listening port, authentication, channels.

All devices in a process share one acceptor thread that waits on their
listening sockets with a selector; each accepted connection gets paramiko's
transport thread and, once the ``netconf`` subsystem is opened, one session
thread.  Nothing polls: every thread blocks on a socket, a condition or a
timer.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import selectors
import socket
import threading
from pathlib import Path

import paramiko

from .device import Device, load_host_key, new_ed25519_pem, serial_for
from .faults import Faults
from .netconf import NetconfSession, close_transport

logger = logging.getLogger(__name__)

NETCONF_EXEC = "xml-mode netconf need-trailer"
# paramiko's transport wakes up this often to see whether it was closed; the
# default tenth of a second costs fifty idle devices real CPU.  Closing shuts
# the socket down first, which wakes the transport at once.
IDLE_WAKEUP = 5.0


class _Acceptor:
    """One thread accepting connections for every device in the process."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pending: list[tuple[str, socket.socket, object, threading.Event]] = []
        self._mutex = threading.Lock()
        thread = threading.Thread(target=self._run, name="fakesrx-acceptor")
        thread.daemon = True
        thread.start()

    def add(self, sock: socket.socket, on_accept) -> None:
        self._request("add", sock, on_accept)

    def remove(self, sock: socket.socket) -> None:
        self._request("remove", sock, None)

    def _request(self, action: str, sock: socket.socket, data) -> None:
        done = threading.Event()
        with self._mutex:
            self._pending.append((action, sock, data, done))
        self._wake_w.send(b"\0")
        done.wait(5)

    def _run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.data is None:
                    self._apply_pending()
                    continue
                try:
                    conn, address = key.fileobj.accept()
                except OSError:
                    continue
                try:
                    key.data(conn, address)
                except Exception:
                    logger.exception("cannot start a connection")
                    conn.close()

    def _apply_pending(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._mutex:
            pending, self._pending = self._pending, []
        for action, sock, data, done in pending:
            if action == "add":
                self._selector.register(sock, selectors.EVENT_READ, data)
            else:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
                sock.close()
            done.set()


_acceptor: _Acceptor | None = None
_acceptor_lock = threading.Lock()


def acceptor() -> _Acceptor:
    global _acceptor
    with _acceptor_lock:
        if _acceptor is None:
            _acceptor = _Acceptor()
        return _acceptor


class _SSHServer(paramiko.ServerInterface):
    """Authentication and channel policy for one connection."""

    def __init__(self, srx: FakeSRX):
        self.srx = srx
        self.user: str | None = None

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        if self.srx.faults.reject_credentials:
            return paramiko.AUTH_FAILED
        if self.srx.passwords.get(username) == password:
            self.user = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if self.srx.faults.reject_credentials:
            return paramiko.AUTH_FAILED
        allowed = self.srx.public_keys.get(username, ())
        if any(
            k.get_name() == key.get_name() and k.asbytes() == key.asbytes()
            for k in allowed
        ):
            self.user = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel, name: str) -> bool:
        if name != "netconf" or self.srx.faults.netconf_disabled:
            return False
        self.srx.start_session(channel, self.user or "")
        return True

    def check_channel_exec_request(self, channel, command: bytes) -> bool:
        if command.decode(errors="replace").strip() != NETCONF_EXEC:
            return False
        if self.srx.faults.netconf_disabled:
            return False
        self.srx.start_session(channel, self.user or "")
        return True


class FakeSRX:
    """A simulated SRX firewall answering NETCONF over SSH on 127.0.0.1.

    :param port: TCP port, 0 for a free one (read ``port`` after ``start``).
    :param user: administrator name; ``password`` and/or ``public_key``
        (a ``paramiko.PKey`` or an OpenSSH public key line) authenticate it.
    :param state_dir: folder keeping the host key, commits, rollbacks and an
        uncommitted shared candidate, so the device survives a restart.
    :param minute_seconds: how long a Junos minute lasts (commit confirmed).
    :param release: YANG release commits are validated against.
    :param netconf_11: offer base:1.1 chunked framing in the hello, as Junos
        does once ``system services netconf rfc-compliant version-1.1`` is
        configured; by default only base:1.0 (``]]>]]>``), as Junos does.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "admin",
        password: str | None = "admin123",
        public_key: paramiko.PKey | str | None = None,
        hostname: str = "srx-1",
        model: str = "srx345",
        version: str = "23.4R1.9",
        serial: str | None = None,
        release: str = "24.4R1",
        validate: bool = True,
        minute_seconds: float = 60.0,
        state_dir: str | Path | None = None,
        faults: Faults | None = None,
        netconf_11: bool = False,
        base_config: str | None = None,
    ):
        self.host = host
        self.port = port
        self.version = version
        self.netconf_11 = netconf_11
        self.state_dir = Path(state_dir) if state_dir else None
        self.passwords: dict[str, str] = {}
        self.public_keys: dict[str, list[paramiko.PKey]] = {}
        self.add_user(user, password=password, public_key=public_key)
        self.faults = faults or Faults()
        self.device = Device(
            hostname=hostname,
            model=model,
            version=version,
            serial=serial or serial_for(f"{hostname}:{self.state_dir}"),
            release=release,
            validate=validate,
            minute_seconds=minute_seconds,
            state_dir=self.state_dir,
            faults=self.faults,
            base_config=base_config,
        )
        self.host_key = load_host_key(self.state_dir)
        self._other_key: paramiko.PKey | None = None
        self._sock: socket.socket | None = None
        self._transports: set[paramiko.Transport] = set()
        self._mutex = threading.Lock()
        self._running = False
        self.faults.watch(self._fault_changed)

    # -- users and keys -----------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        password: str | None = None,
        public_key: paramiko.PKey | str | None = None,
    ) -> None:
        """Let ``name`` log in with a password and/or a public key."""
        if password is not None:
            self.passwords[name] = password
        if public_key is not None:
            self.public_keys.setdefault(name, []).append(_public_key(public_key))

    @property
    def fingerprint(self) -> str:
        """The host key's SHA256 fingerprint, as ``ssh-keygen -l`` prints it."""
        return self.host_key.fingerprint

    def known_hosts_line(self) -> str:
        """A known_hosts line for this device's host and port."""
        key = self.host_key
        return f"[{self.host}]:{self.port} {key.get_name()} {key.get_base64()}"

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> FakeSRX:
        self._running = True
        if not self.faults.refuse_connections:
            self._listen()
        return self

    def stop(self) -> None:
        """Close the port and every connection; state stays in ``state_dir``."""
        self._running = False
        self._close_listener()
        with self._mutex:
            transports = list(self._transports)
        for transport in transports:
            close_transport(transport)
        self.device.shutdown()

    def __enter__(self) -> FakeSRX:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _listen(self) -> None:
        with self._mutex:
            if self._sock is not None:
                return
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(64)
            sock.setblocking(False)
            self.port = sock.getsockname()[1]
            self._sock = sock
        acceptor().add(sock, self._accept)

    def _close_listener(self) -> None:
        with self._mutex:
            sock, self._sock = self._sock, None
        if sock is not None:
            acceptor().remove(sock)

    def _fault_changed(self, name: str) -> None:
        if name == "refuse_connections" and self._running:
            if self.faults.refuse_connections:
                self._close_listener()
            else:
                self._listen()

    # -- connections --------------------------------------------------------

    def _accept(self, conn: socket.socket, address) -> None:
        conn.setblocking(True)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(conn)
        conn.settimeout(IDLE_WAKEUP)
        transport.add_server_key(self._presented_key())
        transport.set_keepalive(0)
        with self._mutex:
            self._transports = {t for t in self._transports if t.is_alive()}
            self._transports.add(transport)
        server = _SSHServer(self)
        transport.start_server(event=threading.Event(), server=server)

    def _presented_key(self) -> paramiko.PKey:
        if not self.faults.wrong_host_key:
            return self.host_key
        if self._other_key is None:
            from io import StringIO

            pem = new_ed25519_pem().decode()
            self._other_key = paramiko.Ed25519Key(file_obj=StringIO(pem))
        return self._other_key

    def start_session(self, channel: paramiko.Channel, user: str) -> None:
        session = NetconfSession(self, channel, user)
        thread = threading.Thread(
            target=session.run, name=f"fakesrx-{self.port}-{session.id}"
        )
        thread.daemon = True
        thread.start()

    # -- accessors for tests ------------------------------------------------

    def running_config(self):
        """A copy of the committed configuration (lxml)."""
        return self.device.running_config()

    def candidate_config(self):
        """A copy of the shared candidate configuration (lxml)."""
        return self.device.candidate_config()

    def candidate_changed(self) -> bool:
        """Whether the shared candidate holds uncommitted changes."""
        return self.device.candidate_changed()

    def rollback_config(self, number: int):
        """The configuration of rollback ``number`` (0 is the active one)."""
        return self.device.rollback_config(number)

    def commit_external_change(self, change, *, user="otheradmin", comment=None):
        """Commit ``change`` (set lines, text or XML) as another administrator."""
        self.device.commit_external_change(change, user=user, comment=comment)

    @property
    def lock_owner(self) -> str | None:
        return self.device.lock_owner

    @property
    def commit_history(self) -> list[dict]:
        return self.device.commit_history

    @property
    def sessions(self) -> int:
        return self.device.sessions

    @property
    def confirm_pending(self) -> bool:
        return self.device.confirm_pending


def _public_key(key: paramiko.PKey | str) -> paramiko.PKey:
    if isinstance(key, paramiko.PKey):
        return key
    parts = key.split()
    data = base64.b64decode(parts[1] if len(parts) > 1 else parts[0])
    return paramiko.PKey.from_type_string(parts[0], data)


def start_many(count: int, *, faults_factory=None, **options) -> list[FakeSRX]:
    """Start ``count`` devices on consecutive ports from ``port`` (0: any).

    Each device gets its own ``Faults`` (from ``faults_factory``), host name
    ``<hostname>-<n>`` and, under ``state_dir``, its own folder.
    """
    devices = []
    base_port = options.pop("port", 0)
    state_dir = options.pop("state_dir", None)
    hostname = options.pop("hostname", "srx")
    for index in range(count):
        devices.append(
            FakeSRX(
                port=base_port + index if base_port else 0,
                state_dir=Path(state_dir) / f"{hostname}-{index + 1}"
                if state_dir
                else None,
                hostname=f"{hostname}-{index + 1}",
                faults=faults_factory() if faults_factory else None,
                **options,
            ).start()
        )
    return devices
