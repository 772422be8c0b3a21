"""Faults a simulated device can show, changeable while it runs."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class Faults:
    """What should go wrong, and when.

    :param refuse_connections: close the listening port (clients get
        "connection refused"); setting it back to False reopens the port.
    :param reject_credentials: every password and key is refused.
    :param wrong_host_key: present a different host key than the device's.
    :param lock_held_by: another user holds the exclusive configuration lock
        (``lock-configuration`` and loads fail the way Junos reports it).
    :param latency: seconds added before every RPC is answered.
    :param drop_at_rpc: name of an RPC (``commit-configuration``) at which
        the device closes the connection at once (the client reads the end
        of the TCP stream), by default before applying the RPC.
    :param drop_after_apply: drop the connection after applying the RPC
        rather than before (the commit happened; the client never hears).
    :param drop_once: clear ``drop_at_rpc`` after it fired once.
    :param silent_drop: at ``drop_at_rpc`` the device goes silent instead of
        closing, as behind a cut link: that request and every later one on
        the connection stay unanswered and nothing ends the connection, so
        the client only sees timeouts.  Unlike a cut link, the device still
        notices when the client closes its side, and ends the session then.
    :param commit_error: commits fail with this message (``commit check``
        still passes, as when a daemon rejects the configuration).
    :param commit_delay: seconds a commit takes; the commit is applied after
        the delay even when the client has given up waiting.
    :param netconf_disabled: SSH answers but the ``netconf`` subsystem is
        refused, as when ``system services netconf ssh`` is missing.
    """

    refuse_connections: bool = False
    reject_credentials: bool = False
    wrong_host_key: bool = False
    lock_held_by: str | None = None
    latency: float = 0.0
    drop_at_rpc: str | None = None
    drop_after_apply: bool = False
    drop_once: bool = True
    silent_drop: bool = False
    commit_error: str | None = None
    commit_delay: float = 0.0
    netconf_disabled: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_listener", None)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        listener = getattr(self, "_listener", None)
        if listener is not None:
            listener(name)

    def watch(self, listener) -> None:
        """Call ``listener(name)`` whenever a fault is changed."""
        object.__setattr__(self, "_listener", listener)

    def clear(self) -> None:
        """Switch every fault off."""
        for item in fields(self):
            setattr(self, item.name, item.default)

    @classmethod
    def parse(cls, specs: list[str]) -> Faults:
        """Build faults from ``name`` or ``name=value`` words (command line)."""
        faults = cls()
        types = {item.name: item.type for item in fields(cls)}
        for spec in specs:
            name, _, value = spec.partition("=")
            name = name.replace("-", "_")
            if name not in types:
                raise ValueError(f"Unknown fault {name!r}.")
            kind = types[name]
            if "bool" in str(kind):
                parsed: Any = (
                    value.lower() not in ("0", "false", "no") if value else True
                )
            elif "float" in str(kind):
                parsed = float(value)
            else:
                parsed = value or None
            setattr(faults, name, parsed)
        return faults
