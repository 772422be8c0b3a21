"""NETCONF over one SSH channel: hello, framing and the request loop.

The server speaks base:1.0 end-of-message framing (``]]>]]>``) until both
hellos are exchanged, then switches to base:1.1 chunked framing when both
sides advertised ``urn:ietf:params:netconf:base:1.1`` (RFC 6242), exactly as
ncclient decides on its side.  Junos offers base:1.1 only when configured
for it, so a device offers it only when created with ``netconf_11=True``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import socket
import time
from typing import TYPE_CHECKING

import paramiko
from lxml import etree

from . import rpcs
from .replies import BASE_NS, JUNOS_NS, RpcFailure

if TYPE_CHECKING:
    from .server import FakeSRX

logger = logging.getLogger(__name__)

EOM = b"]]>]]>"
BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
MAX_MESSAGE = 64 * 1024 * 1024

CAPABILITIES = (
    BASE_10,
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:netconf:base:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:candidate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:validate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring",
    "http://xml.juniper.net/netconf/junos/1.0",
    "http://xml.juniper.net/dmi/system/1.0",
)

_CHUNK = re.compile(rb"\n#(\d+)\n")
_session_ids = itertools.count(41000)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


class Closed(Exception):
    """The peer went away or the session ended."""


class NetconfSession:
    """One NETCONF session; runs in its own thread until the channel closes."""

    def __init__(self, srx: FakeSRX, channel: paramiko.Channel, user: str):
        self.srx = srx
        self.channel = channel
        self.user = user
        self.id = next(_session_ids)
        self.started = time.time()
        self.private = None
        self.chunked = False
        self._buffer = bytearray()
        self._closing = False
        self._silent = False

    # -- lifecycle ----------------------------------------------------------

    def run(self) -> None:
        device = self.srx.device
        device.session_opened(self)
        try:
            self._send(self._hello())
            self._receive_hello()
            while not self._closing:
                self._serve(self._read())
        except (Closed, OSError, EOFError, paramiko.SSHException):
            pass
        except Exception:
            logger.exception("%s: session %s failed", device.hostname, self.id)
        finally:
            self.close()

    def close(self) -> None:
        """End the session, then close its SSH connection (which carried only
        this session) at once, as Junos does when a session is over or killed.
        """
        # the channel is not closed first: ncclient closes its socket as soon
        # as the close-session reply arrives, so anything sent after the reply
        # meets a closed socket and comes back as a reset, which paramiko logs
        # as an error
        self._closing = True
        self.srx.device.session_closed(self)
        transport = self.channel.get_transport()
        if transport is not None:
            close_transport(transport)

    def _lose_connection(self) -> None:
        """Close the connection, or with ``silent_drop`` stop answering."""
        if self.srx.device.faults.silent_drop:
            self._silent = True
            return
        self.close()
        raise Closed()

    # -- messages -----------------------------------------------------------

    def _hello(self) -> bytes:
        capabilities = list(CAPABILITIES)
        if self.srx.netconf_11:
            capabilities.insert(1, BASE_11)
        caps = "".join(f"<capability>{c}</capability>" for c in capabilities)
        return (
            f'<hello xmlns="{BASE_NS}"><capabilities>{caps}</capabilities>'
            f"<session-id>{self.id}</session-id></hello>"
        ).encode()

    def _receive_hello(self) -> None:
        root = etree.fromstring(self._read_eom(), _PARSER)
        if etree.QName(root).localname != "hello":
            raise Closed()
        theirs = {(c.text or "").strip() for c in root.iter("{*}capability")}
        self.chunked = self.srx.netconf_11 and BASE_11 in theirs

    def _read(self) -> bytes:
        return self._read_chunked() if self.chunked else self._read_eom()

    def _fill(self) -> None:
        data = self.channel.recv(65536)
        if not data:
            raise Closed()
        self._buffer += data
        if len(self._buffer) > MAX_MESSAGE:
            raise Closed()

    def _read_eom(self) -> bytes:
        while True:
            end = self._buffer.find(EOM)
            if end >= 0:
                message = bytes(self._buffer[:end])
                del self._buffer[: end + len(EOM)]
                return message
            self._fill()

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            while len(self._buffer) < 4:
                self._fill()
            if self._buffer.startswith(b"\n##\n"):
                del self._buffer[:4]
                return b"".join(parts)
            match = _CHUNK.match(self._buffer)
            if match is None:
                if len(self._buffer) > 16 and b"\n" in self._buffer[2:16]:
                    raise Closed()
                self._fill()
                continue
            size = int(match.group(1))
            while len(self._buffer) < match.end() + size:
                self._fill()
            parts.append(bytes(self._buffer[match.end() : match.end() + size]))
            del self._buffer[: match.end() + size]

    def _send(self, message: bytes) -> None:
        if self.chunked:
            data = b"\n#%d\n%s\n##\n" % (len(message), message)
        else:
            data = message + b"\n" + EOM
        self.channel.sendall(data)

    # -- requests -----------------------------------------------------------

    def _serve(self, message: bytes) -> None:
        try:
            rpc = etree.fromstring(message, _PARSER)
        except etree.XMLSyntaxError:
            self._send(self._reply_text(None, rpcs.malformed()))
            return
        operation = next((c for c in rpc if isinstance(c.tag, str)), None)
        name = etree.QName(operation).localname if operation is not None else ""
        faults = self.srx.device.faults
        if self._silent:
            return
        if faults.latency:
            time.sleep(faults.latency)
        drop = faults.drop_at_rpc == name and name != ""
        if drop and faults.drop_once:
            faults.drop_at_rpc = None
        if drop and not faults.drop_after_apply:
            self._lose_connection()
            return
        try:
            body = rpcs.dispatch(self, name, operation)
        except RpcFailure as failure:
            body = failure.elements()
        if drop:
            self._lose_connection()
            return
        self._send(self._reply_text(rpc, body))
        if name == "close-session":
            self.close()

    def _reply_text(self, rpc, body: list[etree._Element]) -> bytes:
        attributes = ""
        if rpc is not None:
            for key, value in rpc.attrib.items():
                name = etree.QName(key).localname
                attributes += f' {name}="{_escape(value)}"'
        junos = JUNOS_NS.format(version=self.srx.version)
        head = f'<rpc-reply xmlns="{BASE_NS}" xmlns:junos="{junos}"{attributes}>\n'
        parts = [head.encode()]
        for el in body:
            parts.append(etree.tostring(el))
            parts.append(b"\n")
        parts.append(b"</rpc-reply>")
        return b"".join(parts)


def close_transport(transport: paramiko.Transport) -> None:
    """Close a connection now, waking its thread from a blocking read."""
    with contextlib.suppress(OSError):
        transport.sock.shutdown(socket.SHUT_RDWR)
    transport.close()


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
