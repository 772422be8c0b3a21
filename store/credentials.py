"""Device passwords: in the operating system's keyring, or in memory only.

Passwords never go to SQLite, files or logs. When the system offers a
keyring (macOS Keychain, Windows Credential Locker, the Secret Service on a
Linux desktop) a password is saved there under the service ``imapdesk`` and
the device's name. Where there is none (the ``fail`` or ``null`` backend,
usual on a headless Linux machine) the password is asked for when a device
is contacted and kept in this process's memory until it exits.
"""

from __future__ import annotations

import logging
import threading

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError

log = logging.getLogger(__name__)

SERVICE = "imapdesk"


def keyring_usable(backend: KeyringBackend | None = None) -> bool:
    """True when ``backend`` (default: the system's) can keep passwords."""
    backend = backend if backend is not None else keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(keyring_usable(b) for b in backend.backends)
    return True


class CredentialStore:
    """Where one process finds device passwords.

    Reads look in memory first, then in the keyring. Saves go to the keyring
    when there is a usable one and to memory otherwise.

    :param backend: the keyring to use; the system's when None.
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    @property
    def persistent(self) -> bool:
        """True when saved passwords outlive the process."""
        return keyring_usable(self.backend)

    def get(self, device_name: str) -> str | None:
        """The password for the device, or None when none is known."""
        with self._lock:
            if device_name.lower() in self._memory:
                return self._memory[device_name.lower()]
        if not self.persistent:
            return None
        try:
            return self.backend.get_password(SERVICE, device_name)
        except KeyringError as exc:
            log.warning(
                "Could not read the password of %s from the keyring: %s",
                device_name,
                type(exc).__name__,
            )
            return None

    def has(self, device_name: str) -> bool:
        return self.get(device_name) is not None

    def save(self, device_name: str, password: str) -> str:
        """Keep the password, in the keyring when possible.

        :returns: ``"keyring"`` or ``"memory"``, where it was kept.
        """
        if self.persistent:
            try:
                self.backend.set_password(SERVICE, device_name, password)
            except KeyringError as exc:
                log.warning(
                    "The keyring refused the password of %s (%s); keeping it in "
                    "memory only",
                    device_name,
                    type(exc).__name__,
                )
            else:
                with self._lock:
                    self._memory.pop(device_name.lower(), None)
                log.info("Saved the password of %s in the keyring", device_name)
                return "keyring"
        self.remember(device_name, password)
        return "memory"

    def remember(self, device_name: str, password: str) -> None:
        """Keep the password in memory only, until the process ends."""
        with self._lock:
            self._memory[device_name.lower()] = password

    def forget(self, device_name: str) -> None:
        """Drop the password from memory and from the keyring."""
        with self._lock:
            self._memory.pop(device_name.lower(), None)
        if not self.persistent:
            return
        try:
            if self.backend.get_password(SERVICE, device_name) is not None:
                self.backend.delete_password(SERVICE, device_name)
                log.info("Removed the password of %s from the keyring", device_name)
        except KeyringError as exc:
            log.warning(
                "Could not remove the password of %s from the keyring: %s",
                device_name,
                type(exc).__name__,
            )

    def rename(self, old_name: str, new_name: str) -> None:
        """Move a device's password to its new name."""
        if old_name == new_name:
            return
        password = self.get(old_name)
        if password is None:
            return
        in_memory = old_name.lower() in self._memory
        self.forget(old_name)
        if in_memory:
            self.remember(new_name, password)
        else:
            self.save(new_name, password)

    def known_secrets(self) -> list[str]:
        """The passwords held in memory, to scrub from texts shown or stored."""
        with self._lock:
            return [p for p in self._memory.values() if p]


_process_store: CredentialStore | None = None
_process_lock = threading.Lock()


def process_store() -> CredentialStore:
    """The credential store this process shares between window and commands."""
    global _process_store
    with _process_lock:
        if _process_store is None:
            _process_store = CredentialStore()
        return _process_store


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every occurrence of each secret masked, however short.

    There is no length floor: a login password checked by RADIUS, TACACS+
    or LDAP may be shorter than any Junos local account allows, and so may a
    key file's passphrase, and neither must be shown. A text that then loses
    some ordinary letters to the mask is the lesser harm.
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "********")
    return text
