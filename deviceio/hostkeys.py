"""SSH host keys: read what a device presents, fingerprint it, pin it.

A key travels as an OpenSSH public-key line, ``"ssh-ed25519 AAAA..."`` (type
and base64 blob; a trailing comment is allowed and ignored). Its fingerprint
is the one ``ssh-keygen -l`` prints: ``SHA256:`` and the unpadded base64 of
the SHA-256 of the blob.

Verification is hermetic: :func:`pinned_ssh_config` writes a private
``known_hosts`` holding only the pinned key and an ``ssh_config`` that points
at it, so PyEZ and ncclient never read the user's ``~/.ssh/known_hosts`` or
``~/.ssh/config``.

paramiko is imported inside the functions that need it, so importing this
module costs nothing at application start-up.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ConnectFailed, ConnectTimeout, HostUnreachable, PortClosed

logger = logging.getLogger(__name__)

# key types in the order OpenSSH prefers them
KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
# what a pinned key type may be negotiated as
_NEGOTIATED = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


def parse_key_line(key_line: str) -> tuple[str, str]:
    """Split an OpenSSH public-key line into its type and base64 blob.

    :raises ValueError: when the line is not a public key of a known type.
    """
    parts = key_line.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValueError(
            "A host key must be an OpenSSH public-key line such as "
            "'ssh-ed25519 AAAA...'."
        )
    key_type, blob = parts[0], parts[1]
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The host key's base64 data is damaged.") from None
    # the blob starts with its own type name, length-prefixed
    name_length = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    if raw[4 : 4 + name_length] != key_type.encode("ascii"):
        raise ValueError("The host key's data does not match its type.")
    return key_type, blob


def normalize_key(key_line: str) -> str:
    """The key line as ``"<type> <base64>"``, without comment or extra spaces."""
    key_type, blob = parse_key_line(key_line)
    return f"{key_type} {blob}"


def same_key(a: str | None, b: str | None) -> bool:
    """True when both lines hold the same key (comments ignored)."""
    if not a or not b:
        return False
    try:
        return normalize_key(a) == normalize_key(b)
    except ValueError:
        return False


def fingerprint(key_line: str) -> str:
    """The SHA-256 fingerprint of a key as ``ssh-keygen -l`` prints it."""
    _key_type, blob = parse_key_line(key_line)
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def open_tcp(host: str, port: int, timeout: float, device: str = "") -> socket.socket:
    """Open a TCP connection, turning failures into sentences.

    :raises HostUnreachable: when the name does not resolve or no route exists.
    :raises PortClosed: when the host refuses the port.
    :raises ConnectTimeout: when the host does not answer in time.
    """
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise tcp_error(exc, host, port, timeout, device) from exc


def tcp_error(
    exc: OSError, host: str, port: int, timeout: float, device: str = ""
) -> ConnectFailed:
    """Translate a socket error from connecting to ``host:port``."""
    if isinstance(exc, socket.gaierror):
        return HostUnreachable(
            f"The name {host} cannot be resolved; check the device's address "
            "and this computer's DNS settings.",
            device=device,
        )
    if isinstance(exc, ConnectionRefusedError):
        return PortClosed(
            f"{host} refused a connection on port {port}: NETCONF is probably "
            "not enabled (`set system services netconf ssh`), or a firewall "
            "filter rejects this computer.",
            device=device,
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return ConnectTimeout(
            f"{host} did not answer on port {port} within {timeout:g} "
            f"second{'' if timeout == 1 else 's'}; "
            "check that the device is up and reachable from this computer.",
            device=device,
        )
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return HostUnreachable(
            f"{host} cannot be reached from this computer (no route to the "
            "host); check the address and the network path.",
            device=device,
        )
    return ConnectFailed(
        f"Could not connect to {host} port {port}: {exc.strerror or exc}.",
        device=device,
    )


def fetch_host_key(
    host: str,
    port: int = 830,
    timeout: float = 15,
    prefer: str | None = None,
    device: str = "",
) -> str:
    """The SSH host key ``host`` presents, read without authenticating.

    :param prefer: a key line or type whose type is asked for first, so that
        a device holding several keys shows the one that was pinned.
    :returns: the key as an OpenSSH line, ``"<type> <base64>"``.
    :raises ConnectFailed: (or a subclass) when no SSH handshake completes.
    """
    import paramiko

    sock = open_tcp(host, port, timeout, device)
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        if prefer:
            wanted = _NEGOTIATED.get(prefer.split()[0], (prefer.split()[0],))
            options = transport.get_security_options()
            rest = tuple(k for k in options.key_types if k not in wanted)
            options.key_types = tuple(k for k in wanted if k in options.key_types) + (
                rest
            )
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise ConnectFailed(
            f"{host} port {port} accepted the connection but did not complete "
            f"an SSH handshake ({exc or type(exc).__name__}); check that the "
            "port is the device's NETCONF port.",
            device=device,
        ) from exc
    finally:
        transport.close()
        sock.close()


@contextmanager
def pinned_ssh_config(host: str, port: int, key_line: str) -> Iterator[str]:
    """Yield the path of an ``ssh_config`` that trusts only ``key_line``.

    The file sets ``UserKnownHostsFile`` to a private ``known_hosts`` holding
    the key for ``host`` and ``[host]:port``; both files are removed when the
    block ends. Give the path to PyEZ as ``ssh_config`` together with
    ``hostkey_verify=True``.
    """
    line = normalize_key(key_line)
    with tempfile.TemporaryDirectory(prefix="imapdesk-ssh-") as folder:
        known_hosts = os.path.join(folder, "known_hosts")
        config = os.path.join(folder, "ssh_config")
        with open(known_hosts, "w", encoding="ascii") as handle:
            handle.write(f"{host},[{host}]:{port} {line}\n")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(f"Host *\n    UserKnownHostsFile {known_hosts}\n")
        yield config
