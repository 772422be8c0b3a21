"""Why a device cannot be contacted as it stands.

Kept apart from :mod:`fleet.targets` so the interface can name these errors
without loading the device stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.devices import StoredDevice


class TargetError(Exception):
    """A device that cannot be contacted as it stands; the message says why."""


class MissingPasswords(TargetError):
    """Devices that log in with a password nobody has given yet."""

    def __init__(self, devices: list[StoredDevice]):
        self.devices = devices
        names = ", ".join(d.name for d in devices)
        super().__init__(f"Enter the password of {names}.")
