"""NETCONF to one SRX through PyEZ: open, lock, load, diff, commit, close.

:class:`JunosDriver` wraps a PyEZ ``Device`` and ``Config`` with an explicit
:meth:`~JunosDriver.open` / :meth:`~JunosDriver.close` lifecycle. Every RPC
goes through :meth:`JunosDriver._rpc`, which counts it and translates PyEZ,
ncclient and paramiko exceptions into :mod:`deviceio.errors`; connection
failures are translated in :meth:`JunosDriver.open`, which tells a refused
port, an unreachable host, refused credentials, a changed host key and a
refused ``netconf`` subsystem apart by what actually failed (never by how
long it took).

Host keys are always verified: PyEZ gets ``hostkey_verify=True`` and an
``ssh_config`` of our own whose ``UserKnownHostsFile`` holds only the pinned
key, so neither ``~/.ssh/config`` nor ``~/.ssh/known_hosts`` is read;
``look_for_keys`` is off and the SSH agent is asked only when the
credentials say so.

The sync workflow built on this class lives in :mod:`deviceio.workflow`;
jnpr, ncclient and paramiko are imported inside the methods that use them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lxml import etree

from . import managed
from .errors import (
    AuthenticationFailed,
    CommitCheckFailed,
    CommitFailed,
    ConnectFailed,
    ConnectionLost,
    ConnectTimeout,
    DeviceError,
    HostKeyChanged,
    HostKeyUnknown,
    LoadFailed,
    LockFailed,
    NetconfNotEnabled,
    RpcFailed,
    RpcTimeout,
)
from .hostkeys import (
    fetch_host_key,
    fingerprint,
    normalize_key,
    open_tcp,
    pinned_ssh_config,
    same_key,
    tcp_error,
)
from .sync import CommitEntry, DeviceFacts, DeviceTarget

if TYPE_CHECKING:
    import paramiko
    from jnpr.junos import Device

logger = logging.getLogger(__name__)

T = TypeVar("T")

_LOCKED_BY_RE = re.compile(r"locked by:\s*(?P<user>\S+)")
_RELEASE_RE = re.compile(r"\[(?P<version>[^\]]+)\]")


class JunosDriver:
    """One NETCONF session to one device.

    :param target: the device; its ``pinned_host_key`` is required unless
        ``accept_new_host_key`` is set.
    :param timeout: seconds to wait for each RPC.
    :param connect_timeout: seconds to wait for TCP, SSH and the greeting.
    :param accept_new_host_key: on first contact, trust the key the device
        presents (it is then in :attr:`host_key`, for the caller to pin).
    """

    def __init__(
        self,
        target: DeviceTarget,
        *,
        timeout: float = 60,
        connect_timeout: float = 15,
        accept_new_host_key: bool = False,
    ) -> None:
        self.target = target
        self.name = target.name
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.accept_new_host_key = accept_new_host_key
        self.host_key: str | None = None
        self.rpc_count = 0
        self.locked = False
        self._dev: Device | None = None
        self._cu: Any = None

    def __repr__(self) -> str:
        return f"JunosDriver({self.name!r}, host={self.target.host!r})"

    # -- lifecycle -----------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._dev is not None and bool(self._dev.connected)

    def open(self) -> None:
        """Verify the host key and open the NETCONF session.

        :raises HostKeyUnknown: no key pinned and ``accept_new_host_key`` off
            (``presented`` holds the device's key).
        :raises HostKeyChanged: the device presented another key.
        :raises ConnectFailed: or another subclass, with a sentence.
        """
        target = self.target
        credentials = target.credentials
        if not (credentials.password or credentials.key_file or credentials.use_agent):
            raise AuthenticationFailed(
                f"No password or SSH key is set for {target.user} on {self.name}; "
                "enter one in the device's settings.",
                device=self.name,
            )
        key = target.pinned_host_key
        if key is None:
            presented = fetch_host_key(
                target.host, target.port, self.connect_timeout, device=self.name
            )
            if not self.accept_new_host_key:
                raise HostKeyUnknown(
                    f"{self.name} ({target.host}) has not been contacted before. "
                    f"Its SSH host key fingerprint is {fingerprint(presented)}; "
                    "check it against the device (on its console: `start shell`, "
                    "then `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), "
                    "then accept it.",
                    device=self.name,
                    presented=presented,
                )
            logger.info(
                "%s: accepting new host key %s", self.name, fingerprint(presented)
            )
            key = presented
        self.host_key = key
        from jnpr.junos import Device
        from jnpr.junos.utils.config import Config

        # PyEZ warns on every lost session; ours are translated and reported
        warnings.filterwarnings(
            "ignore", "An unknown exception occurred", RuntimeWarning, "jnpr"
        )

        try:
            normalize_key(key)
        except ValueError as exc:
            raise HostKeyChanged(
                f"The host key pinned for {self.name} is damaged ({exc}); forget "
                "it and accept the device's key again after checking it.",
                device=self.name,
            ) from exc
        with pinned_ssh_config(target.host, target.port, key) as ssh_config:
            try:
                dev = Device(
                    host=target.host,
                    port=target.port,
                    user=target.user,
                    passwd=credentials.password,
                    ssh_private_key_file=credentials.key_file,
                    ssh_config=ssh_config,
                    hostkey_verify=True,
                    look_for_keys=False,
                    allow_agent=credentials.use_agent,
                    gather_facts=False,
                    auto_probe=0,
                    conn_open_timeout=self.connect_timeout,
                )
                dev.open()
            except Exception as exc:
                raise self._connect_error(exc, key) from exc
        dev.timeout = self.timeout
        _send_without_polling(dev)
        # what ncclient's Junos stylesheet does to each reply, without
        # compiling the stylesheet again for every reply
        dev.transform = lambda: _plain_reply
        self._dev = dev
        self._cu = Config(dev)
        logger.debug("%s: NETCONF session open", self.name)

    def close(self) -> None:
        """Close the session (sends ``close-session``); never raises."""
        dev, self._dev = self._dev, None
        self.locked = False
        if dev is None or not dev.connected:
            return
        self.rpc_count += 1
        try:
            dev.close()
        except Exception as exc:
            logger.warning("%s: closing the session failed: %s", self.name, exc)
            self._drop(dev)

    def abandon(self) -> None:
        """Drop the connection without another RPC (after a lost session)."""
        dev, self._dev = self._dev, None
        self.locked = False
        if dev is not None:
            self._drop(dev)

    @staticmethod
    def _drop(dev: Device) -> None:
        try:
            dev.connected = False
            conn = getattr(dev, "_conn", None)
            if conn is not None:
                conn._session.close()
        except Exception:  # the transport is already gone
            logger.debug("dropping a dead session", exc_info=True)

    # -- configuration -------------------------------------------------------

    def lock(self) -> None:
        """Take the exclusive configuration lock.

        :raises LockFailed: naming the user who holds it.
        """
        self._rpc("lock-configuration", lambda: self._cu.lock())
        self.locked = True

    def unlock(self) -> None:
        """Release the configuration lock."""
        self.locked = False
        self._rpc("unlock-configuration", lambda: self._cu.unlock())

    def load(self, configuration: etree._Element) -> None:
        """Load XML into the candidate (PyEZ's ``replace`` action: elements
        marked ``replace`` are swapped, the rest merged)."""
        self._rpc(
            "load-configuration",
            lambda: self._cu.load(
                configuration, format="xml", ignore_warning="statement not found"
            ),
        )

    def load_rollback(self, number: int) -> None:
        """Load ``rollback <number>`` into the candidate (0 discards)."""
        self._rpc(
            "load-configuration rollback", lambda: self._cu.rollback(rb_id=number)
        )

    def diff(self) -> str:
        """The candidate against the active configuration, as
        ``show | compare`` prints it; "" when they are the same."""
        text = self._rpc("get-configuration compare", lambda: self._cu.diff())
        return (text or "").strip("\n") + "\n" if text and text.strip() else ""

    def commit_check(self) -> None:
        """Run ``commit check``.

        :raises CommitCheckFailed: with the device's messages.
        """
        self._rpc("commit-configuration check", lambda: self._cu.commit_check())

    def commit(self, comment: str, confirm_minutes: int | None = None) -> None:
        """Commit, confirmed for ``confirm_minutes`` when given.

        :raises CommitFailed: with the device's messages.
        :raises RpcTimeout: when the device did not answer in time; the
            commit may still have happened.
        """
        kwargs: dict[str, Any] = {"comment": comment, "timeout": self.timeout}
        if confirm_minutes:
            kwargs["confirm"] = confirm_minutes
        self._rpc("commit-configuration", lambda: self._cu.commit(**kwargs))

    def get_managed(
        self, keys: set[managed.Key], database: str = "committed"
    ) -> managed.Elements:
        """The device's managed elements for ``keys`` in ``database``."""
        if not keys:
            return {}
        reply = self._rpc(
            "get-configuration",
            lambda: self._dev.rpc.get_config(
                filter_xml=managed.subtree_filter(keys),
                options={"database": database},
            ),
        )
        found = managed.extract(reply) if reply is not None else {}
        return {key: element for key, element in found.items() if key in keys}

    def facts(self, serial: bool = False) -> DeviceFacts:
        """Host name, model and release (``get-software-information``); the
        serial number too when asked (``get-chassis-inventory``)."""
        reply = self._rpc(
            "get-software-information",
            lambda: self._dev.rpc.get_software_information(),
        )
        info = _first(reply, "software-information")
        hostname = _text_of(info, "host-name")
        model = _text_of(info, "product-model")
        version = _text_of(info, "junos-version") or _package_version(info)
        number = ""
        if serial:
            inventory = self._rpc(
                "get-chassis-inventory",
                lambda: self._dev.rpc.get_chassis_inventory(),
            )
            chassis = _first(inventory, "chassis")
            number = _text_of(chassis, "serial-number")
        return DeviceFacts(hostname, model, version, number)

    def commit_history(self) -> list[CommitEntry]:
        """The commit history, newest first."""
        reply = self._rpc(
            "get-commit-information",
            lambda: self._dev.rpc.get_commit_information(),
        )
        entries = []
        for item in reply.iter() if reply is not None else ():
            if not isinstance(item.tag, str):
                continue
            if etree.QName(item).localname != "commit-history":
                continue
            sequence = _text_of(item, "sequence-number")
            entries.append(
                CommitEntry(
                    sequence=int(sequence) if sequence.isdigit() else len(entries),
                    user=_text_of(item, "user"),
                    client=_text_of(item, "client"),
                    date=_text_of(item, "date-time"),
                    comment=_text_of(item, "comment"),
                    log=_text_of(item, "log"),
                )
            )
        entries.sort(key=lambda entry: entry.sequence)
        return entries

    # -- helpers -------------------------------------------------------------

    def _rpc(self, name: str, call: Callable[[], T]) -> T:
        if self._dev is None:
            raise ConnectionLost(
                f"The session to {self.name} is not open.", device=self.name
            )
        self.rpc_count += 1
        logger.debug("%s: %s", self.name, name)
        try:
            return call()
        except DeviceError:
            raise
        except Exception as exc:
            raise self._rpc_error(name, exc) from exc

    def _rpc_error(self, name: str, exc: Exception) -> DeviceError:
        from jnpr.junos import exception as ez
        from ncclient.operations.errors import TimeoutExpiredError
        from ncclient.transport.errors import TransportError

        device = self.name
        # PyEZ wraps a timeout in LockError or UnlockError: look at the causes
        chain = _exception_chain(exc)
        if any(isinstance(e, ez.RpcTimeoutError | TimeoutExpiredError) for e in chain):
            return RpcTimeout(
                f"{device} did not answer {name} within {_seconds(self.timeout)}; "
                "it may be overloaded or the network slow.",
                device=device,
                rpc=name,
            )
        lost = ez.ConnectClosedError | TransportError | OSError | EOFError
        if any(isinstance(e, lost) for e in chain):
            return ConnectionLost(
                f"The connection to {device} was lost during {name}.",
                device=device,
            )
        if isinstance(exc, ez.LockError):
            return self._lock_error(_rpc_message(exc))
        if isinstance(exc, ez.ConfigLoadError):
            return LoadFailed(
                f"{device} refused the configuration: {_rpc_message(exc)}",
                device=device,
            )
        if isinstance(exc, ez.CommitError):
            if name.endswith("check"):
                return CommitCheckFailed(
                    f"{device} failed commit check: {_rpc_message(exc)}",
                    device=device,
                )
            return CommitFailed(
                f"{device} refused the commit: {_rpc_message(exc)}", device=device
            )
        if isinstance(exc, ez.RpcError):
            return RpcFailed(
                f"{device} answered {name} with an error: {_rpc_message(exc)}",
                device=device,
            )
        if isinstance(exc, ValueError):
            return RpcFailed(f"{device}: {exc}", device=device)
        logger.warning("%s: unexpected error in %s", device, name, exc_info=exc)
        return RpcFailed(
            f"{device} failed during {name}: {type(exc).__name__}: {exc}",
            device=device,
        )

    def _lock_error(self, message: str) -> LockFailed:
        match = _LOCKED_BY_RE.search(message)
        if match:
            holder = match.group("user")
            return LockFailed(
                f"The configuration of {self.name} is locked by {holder}. Ask "
                f"{holder} to finish (commit or exit configuration mode), or "
                "clear the session with `request system logout user "
                f"{holder}`, then try again.",
                device=self.name,
                holder=holder,
            )
        if "modified" in message:
            return LockFailed(
                f"The configuration of {self.name} holds uncommitted changes "
                "made by someone else. Commit or discard them on the device "
                "(`rollback 0` in configuration mode), then try again.",
                device=self.name,
            )
        return LockFailed(
            f"{self.name} refused to lock its configuration: {message}",
            device=self.name,
        )

    def _connect_error(self, exc: Exception, pinned: str) -> ConnectFailed:
        from jnpr.junos import exception as ez
        from ncclient.transport.errors import (
            AuthenticationError,
            SessionCloseError,
            SSHUnknownHostError,
        )

        target, device = self.target, self.name
        chain = _exception_chain(exc)
        if any(isinstance(e, SSHUnknownHostError) for e in chain):
            return self._host_key_changed(pinned)
        if any(isinstance(e, AuthenticationError | ez.ConnectAuthError) for e in chain):
            if self._agent_only():
                return self._agent_refused()
            how = "password" if target.credentials.password else "SSH key"
            return AuthenticationFailed(
                f"{device} refused the login of {target.user} with the given "
                f"{how}; check the user name and {how} in the device's settings.",
                device=device,
            )
        found = self._transport_error(chain, pinned)
        if found is not None:
            return found
        if self._netconf_refused(pinned):
            return NetconfNotEnabled(
                f"{device} accepts SSH logins but NETCONF is not enabled. On the "
                "device, run `set system services netconf ssh` and commit.",
                device=device,
            )
        if any(isinstance(e, SessionCloseError | EOFError) for e in chain):
            return ConnectFailed(
                f"{device} closed the connection while the session was being "
                "set up; try again, and check the device's SSH connection limits.",
                device=device,
            )
        root = chain[-1]
        return ConnectFailed(
            f"Could not open a NETCONF session to {device}: "
            f"{type(root).__name__}: {root}",
            device=device,
        )

    def _transport_error(
        self, chain: list[BaseException], pinned: str
    ) -> ConnectFailed | None:
        """A failure below SSH authentication: name, TCP, key exchange,
        NETCONF greeting; None when the chain shows none of them."""
        from ncclient.transport.errors import SSHError

        target = self.target
        for e in chain:
            if isinstance(e, socket.gaierror):
                return tcp_error(e, target.host, target.port, self.connect_timeout)
            if isinstance(e, SSHError) and "open socket" in str(e):
                return self._diagnose_tcp()
            if isinstance(e, SSHError) and "Negotiation failed" in str(e):
                presented = self._presented_key(pinned)
                if presented and not same_key(presented, pinned):
                    return self._host_key_changed(pinned, presented)
            if "Capability exchange timed out" in str(e):
                return ConnectTimeout(
                    f"{self.name} accepted the SSH login but sent no NETCONF "
                    f"greeting within {_seconds(self.connect_timeout)}.",
                    device=self.name,
                )
        return None

    def _diagnose_tcp(self) -> ConnectFailed:
        target = self.target
        try:
            sock = open_tcp(target.host, target.port, self.connect_timeout, self.name)
        except ConnectFailed as exc:
            return exc
        sock.close()
        return ConnectFailed(
            f"{self.name} ({target.host} port {target.port}) could not be "
            "connected to; it answers now, so try again.",
            device=self.name,
        )

    def _presented_key(self, pinned: str | None) -> str | None:
        target = self.target
        try:
            return fetch_host_key(
                target.host, target.port, self.connect_timeout, prefer=pinned
            )
        except ConnectFailed:
            return None

    def _host_key_changed(
        self, pinned: str, presented: str | None = None
    ) -> HostKeyChanged:
        presented = presented or self._presented_key(pinned)
        shown = fingerprint(presented) if presented else "unknown"
        logger.warning(
            "%s: host key changed: pinned %s, presented %s",
            self.name,
            fingerprint(pinned),
            shown,
        )
        return HostKeyChanged(
            f"WARNING: the SSH host key of {self.name} ({self.target.host}) has "
            f"changed: pinned {fingerprint(pinned)}, presented {shown}. The "
            "connection was refused. If the device was replaced or its keys "
            "regenerated, check the new fingerprint on its console and accept "
            "it; otherwise someone may be intercepting the connection.",
            device=self.name,
            presented=presented,
        )

    def _agent_only(self) -> bool:
        credentials = self.target.credentials
        return credentials.use_agent and not (
            credentials.key_file or credentials.password
        )

    def _agent_refused(self) -> AuthenticationFailed:
        device, user = self.name, self.target.user
        # on Windows paramiko finds Pageant or the OpenSSH agent pipe by itself
        if sys.platform != "win32" and not os.environ.get("SSH_AUTH_SOCK"):
            return AuthenticationFailed(
                f"{device} is set to log in with the SSH agent, but no agent is "
                "running for IMAP Desk (SSH_AUTH_SOCK is not set). Start IMAP "
                "Desk from a session with an agent that holds the key.",
                device=device,
            )
        if _agent_key_count() == 0:
            return AuthenticationFailed(
                f"{device} is set to log in with the SSH agent, but the agent "
                "holds no keys or could not be reached. Start the agent, add "
                "the key the device knows to it, and try again.",
                device=device,
            )
        return AuthenticationFailed(
            f"{device} refused the login of {user} with every key in the SSH "
            "agent; add the key the device knows with ssh-add, and check the "
            "user name in the device's settings.",
            device=device,
        )

    def _netconf_refused(self, pinned: str) -> bool:
        """Log in with plain SSH and ask for the ``netconf`` subsystem."""
        import paramiko

        target = self.target
        credentials = target.credentials
        try:
            sock = open_tcp(target.host, target.port, self.connect_timeout)
        except ConnectFailed:
            return False
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=self.connect_timeout)
            key = transport.get_remote_server_key()
            if not same_key(f"{key.get_name()} {key.get_base64()}", pinned):
                return False
            if credentials.key_file:
                pkey = paramiko.PKey.from_path(
                    credentials.key_file, passphrase=credentials.password
                )
                transport.auth_publickey(target.user, pkey)
            elif credentials.use_agent:
                if not _auth_with_agent(transport, target.user):
                    return False
            elif credentials.password is not None:
                transport.auth_password(target.user, credentials.password)
            else:
                return False
            channel = transport.open_session(timeout=self.connect_timeout)
            try:
                channel.invoke_subsystem("netconf")
            except paramiko.SSHException:
                return True
            channel.close()
            return False
        except (paramiko.SSHException, OSError, EOFError):
            return False
        finally:
            transport.close()
            sock.close()


def _send_without_polling(dev: Device) -> None:
    """Write requests straight to the SSH channel from the calling thread,
    with Nagle's algorithm off.

    ncclient's session thread looks at its send queue only between 0.1 s
    waits for incoming data, so every RPC waits up to 0.1 s before it leaves.
    paramiko lets one thread write a channel while another reads it, so the
    request is framed and written here instead. Left as it is when the
    session does not have the shape of ncclient 0.7's.
    """
    from ncclient.transport import session as nc_session
    from ncclient.transport.errors import TransportError

    session = getattr(getattr(dev, "_conn", None), "_session", None)
    channel = getattr(session, "_channel", None)
    if session is None or channel is None or not hasattr(session, "_base"):
        logger.debug("ncclient session not recognised; keeping its send queue")
        return
    # small requests must not wait for the ACK of the previous one (Nagle)
    sock = getattr(getattr(session, "_transport", None), "sock", None)
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lock = threading.Lock()

    def send(message: str) -> None:
        if not session.connected:
            raise TransportError("Not connected to NETCONF server")
        data = message.encode("utf-8")
        if session._base == nc_session.NetconfBase.BASE_11:
            data = b"\n#%d\n%s%s" % (len(data), data, nc_session.END_DELIM)
        else:
            data += nc_session.MSG_DELIM
        with lock:
            channel.sendall(data)

    session.send = send


# ncclient parses replies this way before stripping their namespaces
_REPLY_PARSER = etree.XMLParser(
    remove_blank_text=True, resolve_entities=False, no_network=True
)


def _plain_reply(reply: etree._Element) -> etree._Element:
    """A copy of ``reply`` without blank text and with every element and
    attribute under its local name, as PyEZ expects replies."""
    plain = etree.fromstring(etree.tostring(reply), _REPLY_PARSER)
    for element in plain.iter():
        if not isinstance(element.tag, str):
            continue
        element.tag = etree.QName(element).localname
        attributes = element.attrib
        if any(name.startswith("{") for name in attributes):
            items = [(etree.QName(n).localname, v) for n, v in attributes.items()]
            attributes.clear()
            for name, value in items:
                attributes[name] = value
    etree.cleanup_namespaces(plain)
    return plain


def _seconds(value: float) -> str:
    return f"{value:g} second" + ("" if value == 1 else "s")


def _auth_with_agent(transport: paramiko.Transport, user: str) -> bool:
    """Log in with the first key in the SSH agent that the device accepts."""
    import paramiko

    agent = paramiko.Agent()
    try:
        for key in agent.get_keys():
            try:
                transport.auth_publickey(user, key)
            except paramiko.AuthenticationException:
                continue
            return True
        return False
    finally:
        agent.close()


def _agent_key_count() -> int:
    """How many keys the SSH agent offers; 0 when it cannot be reached."""
    import paramiko

    try:
        agent = paramiko.Agent()
    except (paramiko.SSHException, OSError):
        return 0
    try:
        return len(agent.get_keys())
    finally:
        agent.close()


def _exception_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([getattr(item, "_orig", None), item.__cause__, item.__context__])
    return seen


def _rpc_message(exc: Exception) -> str:
    messages = []
    for err in getattr(exc, "errs", None) or []:
        if not isinstance(err, dict):
            continue
        text = " ".join((err.get("message") or "").split())
        where = err.get("edit_path") or ""
        bad = err.get("bad_element") or ""
        detail = " ".join(part for part in (where.strip(), bad.strip()) if part)
        if text:
            messages.append(f"{text} ({detail})" if detail else text)
    if not messages:
        rpc_error = getattr(exc, "rpc_error", None)
        if isinstance(rpc_error, dict) and rpc_error.get("message"):
            messages.append(" ".join(rpc_error["message"].split()))
    if not messages:
        messages.append(" ".join(str(exc).split()) or type(exc).__name__)
    text = "; ".join(dict.fromkeys(messages))
    return text if text.endswith(".") else text + "."


def _first(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    for item in element.iter():
        if isinstance(item.tag, str) and etree.QName(item).localname == name:
            return item
    return None


def _text_of(element: etree._Element | None, name: str) -> str:
    if element is None:
        return ""
    for item in element.iter():
        if item is element or not isinstance(item.tag, str):
            continue
        if etree.QName(item).localname == name:
            return (item.text or "").strip()
    return ""


def _package_version(info: etree._Element | None) -> str:
    """The release from ``package-information`` comments, for old releases
    that have no ``junos-version``."""
    if info is None:
        return ""
    for item in info.iter():
        if isinstance(item.tag, str) and etree.QName(item).localname == "comment":
            match = _RELEASE_RE.search(item.text or "")
            if match:
                return match.group("version")
    return ""
