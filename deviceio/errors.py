"""The errors of talking to a device, each a sentence an administrator can act on.

PyEZ, ncclient and paramiko exceptions never leave :mod:`deviceio`: the driver
translates them into these classes at its boundary (``raise ... from exc``) so
the original stays available in ``__cause__`` for the support log while the
message is fit for the screen. No message ever holds a password.
"""

from __future__ import annotations

import copy


class DeviceError(Exception):
    """Something went wrong talking to a device; ``str()`` is the sentence."""

    def __init__(self, message: str, *, device: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.device = device

    def reworded(self, message: str) -> DeviceError:
        """The same error, of the same class and with the same details,
        saying ``message`` instead."""
        other = copy.copy(self)
        other.message = message
        other.args = (message,)
        return other


class ConnectFailed(DeviceError):
    """No NETCONF session could be opened."""


class HostUnreachable(ConnectFailed):
    """The host name does not resolve or the host does not answer."""


class PortClosed(ConnectFailed):
    """The host answers but refuses TCP connections on the NETCONF port."""


class ConnectTimeout(ConnectFailed):
    """The connection or the NETCONF greeting did not complete in time."""


class AuthenticationFailed(ConnectFailed):
    """The device refused the user name, password or key."""


class NetconfNotEnabled(ConnectFailed):
    """SSH works but the device refuses the ``netconf`` subsystem."""


class HostKeyError(ConnectFailed):
    """The device's SSH host key is not the pinned one (or none is pinned).

    :param presented: the key the device presented, as an OpenSSH line, or
        None when it could not be read.
    """

    def __init__(
        self, message: str, *, device: str = "", presented: str | None = None
    ) -> None:
        super().__init__(message, device=device)
        self.presented = presented


class HostKeyUnknown(HostKeyError):
    """No key is pinned for the device yet (first contact)."""


class HostKeyChanged(HostKeyError):
    """The device presented a different key from the pinned one."""


class UnsupportedRelease(DeviceError):
    """The device runs a Junos release without IMAP support."""


class LockFailed(DeviceError):
    """The configuration database is locked or modified by someone else.

    :param holder: the user holding the lock, when the device named one.
    """

    def __init__(self, message: str, *, device: str = "", holder: str = "") -> None:
        super().__init__(message, device=device)
        self.holder = holder


class LoadFailed(DeviceError):
    """The device refused the configuration we loaded."""


class CommitCheckFailed(DeviceError):
    """``commit check`` reported errors; nothing was committed."""


class CommitFailed(DeviceError):
    """``commit`` reported errors; nothing was committed."""


class RpcTimeout(DeviceError):
    """The device did not answer an RPC in time; the session may be unusable.

    :param rpc: the RPC that timed out.
    """

    def __init__(self, message: str, *, device: str = "", rpc: str = "") -> None:
        super().__init__(message, device=device)
        self.rpc = rpc


class ConnectionLost(DeviceError):
    """The session ended while an RPC was outstanding."""


class RpcFailed(DeviceError):
    """The device answered an RPC with an error not covered above."""
