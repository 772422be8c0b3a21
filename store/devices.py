"""The device inventory: SRX firewalls, their bindings, host keys and sync state.

A device names where to reach an SRX over NETCONF, how to log in (never the
password itself: that lives in the keyring, see :mod:`store.credentials`),
the IMAP policy it should carry, and the security policies that apply it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from sqlite_utils import Database

from .db import ROW_ID_RANGE, rows_with_id, write_transaction
from .errors import DuplicateName, NotFound
from .model import ValidationError, has_control_chars, normalize_hostname
from .policies import now

log = logging.getLogger(__name__)

AUTH_METHODS = ("password", "key_file", "agent")
AUTH_LABELS = {
    "password": "Password",
    "key_file": "SSH key file",
    "agent": "SSH agent",
}
DEFAULT_PORT = 830
MAX_BINDINGS = 100
MAX_KEY_PATH = 1024

DEVICE_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,62}")
# zone, security policy and SSL proxy profile names as Junos accepts them
JUNOS_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
# address book entries and applications a security policy matches on
MATCH_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}")
MATCH_LISTS = {
    "source_addresses": "source address",
    "destination_addresses": "destination address",
    "applications": "application",
}
USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")

FIELD_LABELS = {
    "name": "Name",
    "host": "Host",
    "port": "NETCONF port",
    "user": "User",
    "auth": "Authentication",
    "key_file": "SSH key file",
    "policy_id": "Policy",
    "bindings": "Security policy bindings",
}


@dataclass(frozen=True)
class SecurityBinding:
    """A security policy that applies the IMAP policy to a zone pair.

    An empty match list stands for the default the device side renders: any
    address, and the IMAP and IMAPS applications. ``place_before`` names a
    security policy of the same zone pair that a newly created one goes
    before (instead of the end of the list); it never moves one in place.
    """

    from_zone: str
    to_zone: str
    security_policy: str
    ssl_proxy: str = ""
    source_addresses: tuple[str, ...] = ()
    destination_addresses: tuple[str, ...] = ()
    applications: tuple[str, ...] = ()
    place_before: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.from_zone, self.to_zone, self.security_policy)

    def to_dict(self) -> dict[str, str]:
        """Plain text fields; a match list as names separated by spaces."""
        return {
            "from_zone": self.from_zone,
            "to_zone": self.to_zone,
            "security_policy": self.security_policy,
            "ssl_proxy": self.ssl_proxy,
            **{key: " ".join(getattr(self, key)) for key in MATCH_LISTS},
            "place_before": self.place_before,
        }


@dataclass(frozen=True)
class Device:
    """A device's settings, validated; no id and nothing learnt from it."""

    name: str
    host: str
    user: str
    port: int = DEFAULT_PORT
    auth: str = "password"
    key_file: str = ""
    policy_id: int | None = None
    bindings: tuple[SecurityBinding, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        """Validate and normalise plain data (a form, a CSV row) into a device.

        :raises ValidationError: naming every field that is wrong.
        """
        return _build(data)


@dataclass(frozen=True)
class HostKey:
    """The SSH host key the administrator trusted for a device."""

    key_line: str
    fingerprint: str
    trusted_at: str


@dataclass(frozen=True)
class SyncState:
    """What the last successful sync left on a device."""

    policy_name: str
    revision_id: int | None
    revision_label: str
    bindings: tuple[SecurityBinding, ...]
    managed_config: str
    synced_at: str


@dataclass(frozen=True)
class PendingSync:
    """A sync whose outcome is not known yet, and what it was sending.

    :param comment: the commit comment to look for in the device's history.
    :param bindings: the security policies it applied; None for a sync left
        pending by an older IMAP Desk, which did not keep them.
    :param expected: the managed subtrees it was to leave on the device, as
        XML text; None when not kept (as ``bindings``).
    """

    comment: str
    revision_id: int | None
    revision_label: str
    policy_name: str
    bindings: tuple[SecurityBinding, ...] | None
    expected: str | None = None


@dataclass(frozen=True)
class KnownFacts:
    """What the device said of itself at the last connection test."""

    hostname: str
    model: str
    version: str
    serial: str
    supports_imap: bool
    checked_at: str


@dataclass(frozen=True)
class StoredDevice:
    """A device as saved, with what the application learnt about it."""

    id: int
    device: Device
    policy_name: str | None
    created_at: str
    updated_at: str
    host_key: HostKey | None = None
    sync_state: SyncState | None = None
    facts: KnownFacts | None = None
    pending: PendingSync | None = None

    @property
    def name(self) -> str:
        return self.device.name


# -- validation ---------------------------------------------------------------


def check_device_name(value: str) -> str:
    """Return the device name, or raise ValueError with a message."""
    if not value:
        raise ValueError("Enter a name for the device.")
    if len(value) > 63:
        raise ValueError("A device name is at most 63 characters long.")
    if not DEVICE_NAME_RE.fullmatch(value):
        raise ValueError(
            "A device name must start with a letter and hold only letters, "
            "digits, dots, hyphens and underscores."
        )
    return value


def check_host(value: str) -> str:
    """Return the host as a normalised hostname or IP address literal."""
    text = value.strip()
    if not text:
        raise ValueError("Enter the device's hostname or IP address.")
    literal = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    if ":" in text:
        raise ValueError(f"{text!r} is not a valid IP address.")
    try:
        return normalize_hostname(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an IP address nor a valid hostname."
        ) from None


def check_port(value: Any) -> int:
    """Return the NETCONF port as an int from 1 to 65535."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_PORT
    if isinstance(value, bool):
        raise ValueError("The port must be a number from 1 to 65535.")
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError("The port must be a number from 1 to 65535.") from None
    if not 1 <= port <= 65535:
        raise ValueError("The port must be a number from 1 to 65535.")
    return port


def check_user(value: str) -> str:
    """Return the login name, or raise ValueError with a message."""
    text = value.strip()
    if not text:
        raise ValueError("Enter the user name IMAP Desk logs in as.")
    if not USER_RE.fullmatch(text):
        raise ValueError(
            "A Junos user name is 1 to 64 letters, digits, dots, hyphens and "
            "underscores, not starting with a dot or hyphen."
        )
    return text


def check_junos_name(value: str, what: str) -> str:
    """Return a zone, security policy or profile name, or raise ValueError."""
    text = value.strip()
    if not text:
        raise ValueError(f"Enter the {what}.")
    if len(text) > 63:
        raise ValueError(f"The {what} is longer than 63 characters.")
    if not JUNOS_NAME_RE.fullmatch(text):
        raise ValueError(
            f"The {what} {text!r} may hold only letters, digits, dots, hyphens "
            "and underscores, and must start with a letter or digit."
        )
    return text


def check_match_list(
    value: str | list[str] | tuple[str, ...], what: str
) -> tuple[str, ...]:
    """Return a security policy match list, or raise ValueError.

    :param value: names separated by spaces, or a list of them; empty for
        the default.
    :param what: what one name is, such as ``"source address"``.
    """
    names = value.split() if isinstance(value, str) else list(value)
    for name in names:
        if not isinstance(name, str) or not MATCH_NAME_RE.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a valid {what} name: use 1 to 63 letters, digits "
                "and the characters . _ - : /, starting with a letter or digit."
            )
    twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if twice is not None:
        raise ValueError(f"The {what} {twice} is listed twice.")
    return tuple(names)


def check_key_file(value: str) -> str:
    """Return an absolute path to a private key file, or raise ValueError."""
    text = value.strip()
    if not text:
        raise ValueError("Enter the path of the SSH private key file.")
    if len(text) > MAX_KEY_PATH or has_control_chars(text):
        raise ValueError("The key file path is too long or holds control characters.")
    if not (
        text.startswith("~")
        or PurePosixPath(text).is_absolute()
        or PureWindowsPath(text).is_absolute()
    ):
        raise ValueError(
            "Give the key file as an absolute path (or one starting with ~), "
            "so it does not depend on the folder IMAP Desk was started from."
        )
    return text


def _build(data: dict[str, Any]) -> Device:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def take(key: str, check: Callable[[Any], Any], default: Any = "") -> None:
        raw = data.get(key, default)
        try:
            values[key] = check(raw)
        except ValueError as exc:
            errors[key] = str(exc)

    take("name", lambda v: check_device_name(_text(v).strip()))
    take("host", lambda v: check_host(_text(v)))
    take("port", check_port, DEFAULT_PORT)
    take("user", lambda v: check_user(_text(v)))
    take("auth", _check_auth, "password")
    if values.get("auth") == "key_file":
        take("key_file", lambda v: check_key_file(_text(v)))
    else:
        values["key_file"] = ""
    take("policy_id", _check_policy_id, None)
    values["bindings"] = _build_bindings(data.get("bindings", ()), errors)
    if errors:
        raise ValidationError(errors)
    return Device(**values)


def _check_auth(value: Any) -> str:
    text = _text(value).strip() or "password"
    if text not in AUTH_METHODS:
        raise ValueError(
            "Authentication must be one of: " + ", ".join(AUTH_METHODS) + "."
        )
    return text


def _check_policy_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        policy_id = int(value)
    except (TypeError, ValueError):
        raise ValueError("Choose one of the policies.") from None
    if policy_id not in ROW_ID_RANGE:
        raise ValueError("Choose one of the policies.")
    return policy_id


def _build_bindings(raw: Any, errors: dict[str, str]) -> tuple[SecurityBinding, ...]:
    if not isinstance(raw, (list, tuple)):
        errors["bindings"] = "Bindings must be a list."
        return ()
    if len(raw) > MAX_BINDINGS:
        errors["bindings"] = f"A device can have at most {MAX_BINDINGS} bindings."
        return ()
    result: list[SecurityBinding] = []
    seen: set[tuple[str, str, str]] = set()
    placed: dict[str, SecurityBinding] = {}
    for i, item in enumerate(raw):
        where = f"bindings[{i}]"
        if isinstance(item, SecurityBinding):
            item = item.to_dict()
        if not isinstance(item, dict):
            errors[where] = "A binding needs a from-zone, a to-zone and a policy."
            continue
        parts: dict[str, str] = {}
        for key, what in (
            ("from_zone", "from-zone name"),
            ("to_zone", "to-zone name"),
            ("security_policy", "security policy name"),
        ):
            try:
                parts[key] = check_junos_name(_text(item.get(key, "")), what)
            except ValueError as exc:
                errors[f"{where}.{key}"] = str(exc)
        proxy = _text(item.get("ssl_proxy", "")).strip()
        if proxy:
            try:
                parts["ssl_proxy"] = check_junos_name(proxy, "SSL proxy profile name")
            except ValueError as exc:
                errors[f"{where}.ssl_proxy"] = str(exc)
        lists: dict[str, tuple[str, ...]] = {}
        for key, what in MATCH_LISTS.items():
            try:
                lists[key] = check_match_list(_names(item.get(key, "")), what)
            except ValueError as exc:
                errors[f"{where}.{key}"] = str(exc)
        if len(parts) < 3 or (proxy and "ssl_proxy" not in parts):
            continue
        before = _text(item.get("place_before", "")).strip()
        if before:
            try:
                parts["place_before"] = _check_place_before(
                    before, parts.get("security_policy")
                )
            except ValueError as exc:
                errors[f"{where}.place_before"] = str(exc)
        if len(lists) < len(MATCH_LISTS) or (before and "place_before" not in parts):
            continue
        binding = SecurityBinding(**parts, **lists)
        if binding.key in seen:
            errors[where] = (
                f"The security policy {binding.security_policy} from zone "
                f"{binding.from_zone} to zone {binding.to_zone} is listed twice."
            )
            continue
        seen.add(binding.key)
        result.append(binding)
        placed[where] = binding
    _refuse_placement_circles(placed, errors)
    return tuple(result)


def _refuse_placement_circles(
    bindings: dict[str, SecurityBinding], errors: dict[str, str]
) -> None:
    """Refuse each binding whose place before leads, from one security policy
    of its zone pair to the next, back round to itself."""
    by_key = {b.key: b for b in bindings.values()}
    for where, binding in bindings.items():
        chain = [binding.security_policy]
        step = binding
        while step.place_before and len(chain) <= len(by_key):
            found = by_key.get((step.from_zone, step.to_zone, step.place_before))
            if found is None:
                break
            step = found
            chain.append(step.security_policy)
            if step is binding:
                errors[f"{where}.place_before"] = (
                    "These security policies are placed before one another in "
                    f"a circle: {' before '.join(chain)}. Leave one of them "
                    "at the end of the list or place it before another policy."
                )
                break


def _check_place_before(value: str, own_name: str | None) -> str:
    name = check_junos_name(value, "security policy to place it before")
    if name == own_name:
        raise ValueError("A security policy cannot be placed before itself.")
    return name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("This must be text.")
    return value


def _names(value: Any) -> str | list[str] | tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return value
    return _text(value)


# -- reading and writing --------------------------------------------------------


def list_devices(db: Database) -> list[StoredDevice]:
    """Every device, ordered by name."""
    rows = list(db.query(_SELECT + " ORDER BY d.name COLLATE NOCASE"))
    return [_stored(db, row) for row in rows]


def get_device(db: Database, device_id: int) -> StoredDevice:
    """The device with this id.

    :raises NotFound:
    """
    rows = rows_with_id(db, _SELECT + " WHERE d.id = ?", device_id)
    if not rows:
        raise NotFound(f"There is no device number {device_id}.")
    return _stored(db, rows[0])


def get_device_by_name(db: Database, name: str) -> StoredDevice:
    """The device with this name, compared without regard to case.

    :raises NotFound:
    """
    rows = list(db.query(_SELECT + " WHERE d.name = ? COLLATE NOCASE", [name]))
    if not rows:
        raise NotFound(f"There is no device named {name!r}.")
    return _stored(db, rows[0])


def existing_devices(
    db: Database, ids: Iterable[int]
) -> tuple[list[StoredDevice], list[int]]:
    """The devices with these ids that still exist, and the ids that do not.

    Each id counts once; both lists keep the order the ids were given in.
    """
    found: list[StoredDevice] = []
    missing: list[int] = []
    for device_id in dict.fromkeys(ids):
        try:
            found.append(get_device(db, device_id))
        except NotFound:
            missing.append(device_id)
    return found, missing


def create_device(db: Database, device: Device) -> StoredDevice:
    """Add a device to the inventory.

    :raises DuplicateName: when the name is taken.
    :raises NotFound: when the policy does not exist.
    """
    with write_transaction(db):
        device_id = _insert(db, device)
    log.info("Added device %s", device.name)
    return get_device(db, device_id)


def update_device(db: Database, device_id: int, device: Device) -> StoredDevice:
    """Change a device's settings; its host key and sync state are kept.

    :raises NotFound, DuplicateName:
    """
    with write_transaction(db):
        get_device(db, device_id)
        _update(db, device_id, device)
    log.info("Saved device %s", device.name)
    return get_device(db, device_id)


def delete_device(db: Database, device_id: int) -> StoredDevice:
    """Remove a device with its host key and sync state.

    :raises NotFound:
    """
    with write_transaction(db):
        stored = get_device(db, device_id)
        db.execute("DELETE FROM devices WHERE id = ?", [device_id])
    log.info("Deleted device %s", stored.name)
    return stored


def devices_using_policy(db: Database, policy_id: int) -> list[StoredDevice]:
    """The devices the policy is assigned to."""
    rows = db.query(
        _SELECT + " WHERE d.policy_id = ? ORDER BY d.name COLLATE NOCASE",
        [policy_id],
    )
    return [_stored(db, row) for row in rows]


def trust_host_key(
    db: Database, device_id: int, key_line: str, fingerprint: str
) -> HostKey:
    """Pin the host key the administrator trusted, replacing any earlier one.

    :raises NotFound:
    """
    stamp = now()
    with write_transaction(db):
        stored = get_device(db, device_id)
        db.execute(
            "INSERT INTO host_keys (device_id, key_line, fingerprint, trusted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
            "key_line = excluded.key_line, fingerprint = excluded.fingerprint, "
            "trusted_at = excluded.trusted_at",
            [device_id, key_line, fingerprint, stamp],
        )
    log.info("Trusted host key %s for device %s", fingerprint, stored.name)
    return HostKey(key_line, fingerprint, stamp)


def forget_host_key(db: Database, device_id: int) -> None:
    """Drop a device's pinned host key."""
    with write_transaction(db):
        db.execute("DELETE FROM host_keys WHERE device_id = ?", [device_id])


def record_sync_state(db: Database, device_id: int, state: SyncState) -> None:
    """Remember what a successful sync left on the device (a revision deleted
    meanwhile is remembered as None)."""
    bindings = _bindings_json(state.bindings)
    with write_transaction(db):
        db.execute(
            "INSERT INTO sync_states (device_id, policy_name, revision_id, "
            "revision_label, bindings, managed_config, synced_at) "
            "VALUES (?, ?, (SELECT id FROM revisions WHERE id = ?), ?, ?, ?, ?) "
            "ON CONFLICT (device_id) DO UPDATE SET "
            "policy_name = excluded.policy_name, "
            "revision_id = excluded.revision_id, "
            "revision_label = excluded.revision_label, "
            "bindings = excluded.bindings, "
            "managed_config = excluded.managed_config, "
            "synced_at = excluded.synced_at",
            [
                device_id,
                state.policy_name,
                state.revision_id,
                state.revision_label,
                bindings,
                state.managed_config,
                state.synced_at,
            ],
        )


def record_facts(db: Database, device_id: int, facts: KnownFacts) -> None:
    """Remember what the device said of itself."""
    with write_transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO device_facts (device_id, hostname, model, "
            "version, serial, supports_imap, checked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                device_id,
                facts.hostname,
                facts.model,
                facts.version,
                facts.serial,
                int(facts.supports_imap),
                facts.checked_at,
            ],
        )


def set_pending_sync(db: Database, device_id: int, pending: PendingSync) -> None:
    """Remember a sync whose outcome is not known, in place of any earlier one.

    A revision deleted meanwhile is remembered as None, not refused.
    """
    bindings = None
    if pending.bindings is not None:
        bindings = _bindings_json(pending.bindings)
    with write_transaction(db):
        db.execute(
            "UPDATE devices SET pending_comment = ?, "
            "pending_revision_id = (SELECT id FROM revisions WHERE id = ?), "
            "pending_label = ?, pending_policy = ?, pending_bindings = ?, "
            "pending_config = ? WHERE id = ?",
            [
                pending.comment,
                pending.revision_id,
                pending.revision_label,
                pending.policy_name,
                bindings,
                pending.expected,
                device_id,
            ],
        )


def settle_pending_sync(
    db: Database, device_id: int, comment: str, state: SyncState | None = None
) -> bool:
    """Forget the pending sync that left ``comment``, remembering ``state`` as
    the device's sync state with it, in one transaction.

    :returns: False, changing nothing, when the device's pending sync is no
        longer that one (another job settled it, or left a newer one).
    """
    with write_transaction(db):
        row = db.execute(
            "SELECT pending_comment FROM devices WHERE id = ?", [device_id]
        ).fetchone()
        if row is None or not comment or row[0] != comment:
            return False
        if state is not None:
            record_sync_state(db, device_id, state)
        db.execute(
            "UPDATE devices SET pending_comment = '', pending_revision_id = NULL, "
            "pending_label = '', pending_policy = '', pending_bindings = NULL, "
            "pending_config = NULL WHERE id = ?",
            [device_id],
        )
    return True


def save_inventory(
    db: Database, devices: list[Device]
) -> tuple[list[StoredDevice], list[StoredDevice]]:
    """Add or update many devices in one transaction, matched by name.

    :returns: the devices added and the devices updated.
    :raises DuplicateName, NotFound: and nothing is saved.
    """
    added_ids: list[int] = []
    updated_ids: list[int] = []
    with write_transaction(db):
        for device in devices:
            row = db.execute(
                "SELECT id FROM devices WHERE name = ? COLLATE NOCASE", [device.name]
            ).fetchone()
            if row is None:
                added_ids.append(_insert(db, device))
            else:
                _update(db, row[0], device)
                updated_ids.append(row[0])
    log.info(
        "Imported the inventory: %d devices added, %d updated",
        len(added_ids),
        len(updated_ids),
    )
    return (
        [get_device(db, i) for i in added_ids],
        [get_device(db, i) for i in updated_ids],
    )


def with_settings(stored: StoredDevice, **changes: Any) -> Device:
    """The stored device's settings with some fields changed, validated again."""
    data = {**_device_dict(stored.device), **changes}
    return Device.from_dict(data)


def _device_dict(device: Device) -> dict[str, Any]:
    return {
        "name": device.name,
        "host": device.host,
        "port": device.port,
        "user": device.user,
        "auth": device.auth,
        "key_file": device.key_file,
        "policy_id": device.policy_id,
        "bindings": [b.to_dict() for b in device.bindings],
    }


_SELECT = (
    "SELECT d.*, p.name AS policy_name, k.key_line, k.fingerprint, k.trusted_at, "
    "s.policy_name AS synced_policy, s.revision_id AS synced_revision_id, "
    "s.revision_label, s.bindings AS synced_bindings, s.managed_config, "
    "s.synced_at, f.hostname AS fact_hostname, f.model AS fact_model, "
    "f.version AS fact_version, f.serial AS fact_serial, f.supports_imap, "
    "f.checked_at "
    "FROM devices d "
    "LEFT JOIN policies p ON p.id = d.policy_id "
    "LEFT JOIN host_keys k ON k.device_id = d.id "
    "LEFT JOIN sync_states s ON s.device_id = d.id "
    "LEFT JOIN device_facts f ON f.device_id = d.id"
)


def _insert(db: Database, device: Device) -> int:
    stamp = now()
    try:
        cursor = db.execute(
            "INSERT INTO devices (name, host, port, user, auth, key_file, "
            "policy_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*_columns(device), stamp, stamp],
        )
    except sqlite3.IntegrityError as exc:
        raise _integrity(device, exc) from None
    _write_bindings(db, cursor.lastrowid, device.bindings)
    return cursor.lastrowid


def _update(db: Database, device_id: int, device: Device) -> None:
    try:
        db.execute(
            "UPDATE devices SET name = ?, host = ?, port = ?, user = ?, auth = ?, "
            "key_file = ?, policy_id = ?, updated_at = ? WHERE id = ?",
            [*_columns(device), now(), device_id],
        )
    except sqlite3.IntegrityError as exc:
        raise _integrity(device, exc) from None
    db.execute("DELETE FROM device_bindings WHERE device_id = ?", [device_id])
    _write_bindings(db, device_id, device.bindings)


def _columns(device: Device) -> list[Any]:
    return [
        device.name,
        device.host,
        device.port,
        device.user,
        device.auth,
        device.key_file,
        device.policy_id,
    ]


def _write_bindings(
    db: Database, device_id: int, bindings: tuple[SecurityBinding, ...]
) -> None:
    for position, b in enumerate(bindings):
        db.execute(
            "INSERT INTO device_bindings (device_id, position, from_zone, to_zone, "
            "security_policy, ssl_proxy, source_addresses, destination_addresses, "
            "applications, place_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                device_id,
                position,
                b.from_zone,
                b.to_zone,
                b.security_policy,
                b.ssl_proxy,
                *(" ".join(getattr(b, key)) for key in MATCH_LISTS),
                b.place_before,
            ],
        )


def _bindings_json(bindings: tuple[SecurityBinding, ...]) -> str:
    """Bindings as kept with a sync state or a pending sync."""
    return json.dumps([b.to_dict() for b in bindings])


def _bindings_from_json(text: str) -> tuple[SecurityBinding, ...]:
    return tuple(_binding_from_row(b) for b in json.loads(text))


def _binding_from_row(row: dict[str, Any]) -> SecurityBinding:
    # a NULL or absent match list, as in rows and sync states saved before
    # match lists were kept, is the default
    return SecurityBinding(
        from_zone=row["from_zone"],
        to_zone=row["to_zone"],
        security_policy=row["security_policy"],
        ssl_proxy=row.get("ssl_proxy") or "",
        **{key: tuple((row.get(key) or "").split()) for key in MATCH_LISTS},
        place_before=row.get("place_before") or "",
    )


def _integrity(device: Device, exc: sqlite3.IntegrityError) -> Exception:
    if "UNIQUE" in str(exc):
        return DuplicateName(f"A device named {device.name!r} already exists.")
    if "FOREIGN KEY" in str(exc):
        return NotFound("The policy chosen for the device no longer exists.")
    return exc


def _stored(db: Database, row: dict[str, Any]) -> StoredDevice:
    bindings = tuple(
        _binding_from_row(b)
        for b in db.query(
            "SELECT * FROM device_bindings WHERE device_id = ? ORDER BY position",
            [row["id"]],
        )
    )
    device = Device(
        name=row["name"],
        host=row["host"],
        port=row["port"],
        user=row["user"],
        auth=row["auth"],
        key_file=row["key_file"],
        policy_id=row["policy_id"],
        bindings=bindings,
    )
    host_key = None
    if row["key_line"] is not None:
        host_key = HostKey(row["key_line"], row["fingerprint"], row["trusted_at"])
    sync_state = None
    if row["synced_at"] is not None:
        sync_state = SyncState(
            policy_name=row["synced_policy"],
            revision_id=row["synced_revision_id"],
            revision_label=row["revision_label"],
            bindings=_bindings_from_json(row["synced_bindings"]),
            managed_config=row["managed_config"],
            synced_at=row["synced_at"],
        )
    facts = None
    if row["checked_at"] is not None:
        facts = KnownFacts(
            hostname=row["fact_hostname"],
            model=row["fact_model"],
            version=row["fact_version"],
            serial=row["fact_serial"],
            supports_imap=bool(row["supports_imap"]),
            checked_at=row["checked_at"],
        )
    return StoredDevice(
        id=row["id"],
        device=device,
        policy_name=row["policy_name"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        host_key=host_key,
        sync_state=sync_state,
        facts=facts,
        pending=_pending_from_row(row),
    )


def _pending_from_row(row: dict[str, Any]) -> PendingSync | None:
    if not row["pending_comment"]:
        return None
    bindings = None
    if row["pending_bindings"] is not None:
        bindings = _bindings_from_json(row["pending_bindings"])
    return PendingSync(
        comment=row["pending_comment"],
        revision_id=row["pending_revision_id"],
        revision_label=row["pending_label"],
        policy_name=row["pending_policy"],
        bindings=bindings,
        expected=row["pending_config"],
    )
