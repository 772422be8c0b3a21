"""Sync targets built from the inventory, its policies and the credentials."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlite_utils import Database

import store
from deviceio.render import ANY, DEFAULT_APPLICATIONS, Binding
from deviceio.sync import Credentials, DeviceResult, DeviceTarget, Outcome
from store.credentials import CredentialStore
from store.devices import MATCH_LISTS, SecurityBinding, StoredDevice

from .errors import MissingPasswords, TargetError

log = logging.getLogger(__name__)


def revision_label(stored_policy: store.StoredPolicy) -> str:
    """How a policy revision is named on devices and in the audit log."""
    return f"{stored_policy.policy.name} r{stored_policy.revision_number}"


def missing_passwords(
    devices: Iterable[StoredDevice], creds: CredentialStore
) -> list[StoredDevice]:
    """The devices that need a password that is not known."""
    return [d for d in devices if d.device.auth == "password" and not creds.has(d.name)]


def deleted_before_reached(names: Iterable[str]) -> list[DeviceResult]:
    """Results for devices deleted after a job was started, before it ran.

    Nothing was done on them; each is reported cancelled.
    """
    return [
        DeviceResult(
            name,
            Outcome.CANCELLED,
            error=f"{name} was deleted in another window before the work "
            "reached it; nothing was done on it.",
        )
        for name in names
    ]


def credentials_for(stored: StoredDevice, creds: CredentialStore) -> Credentials:
    """How to log in to the device.

    :raises MissingPasswords: when its password is not known.
    """
    device = stored.device
    if device.auth == "key_file":
        # the key's passphrase, when it has one, is kept like a password
        return Credentials(key_file=device.key_file, password=creds.get(stored.name))
    if device.auth == "agent":
        return Credentials(use_agent=True)
    password = creds.get(stored.name)
    if password is None:
        raise MissingPasswords([stored])
    return Credentials(password=password)


def build_target(
    db: Database,
    stored: StoredDevice,
    creds: CredentialStore,
    *,
    need_policy: bool = True,
) -> DeviceTarget:
    """The sync target for a device: its policy, bindings and what to remove.

    :param need_policy: False for work that only reads the device (tests,
        host keys, commit history), which does not need a policy assigned.
    :raises TargetError: when the device has no policy and one is needed.
    :raises MissingPasswords:
    """
    device = stored.device
    credentials = credentials_for(stored, creds)
    policies: tuple[store.Policy, ...] = ()
    bindings: tuple[Binding, ...] = ()
    label = ""
    if device.policy_id is None:
        if need_policy:
            raise TargetError(
                f"{stored.name} has no policy assigned; choose one on its page "
                "before syncing it."
            )
    else:
        current = store.get_policy(db, device.policy_id)
        policies = (current.policy,)
        label = revision_label(current)
        bindings = tuple(to_binding(b, current.policy.name) for b in device.bindings)
    removed_policies, removed_bindings = _removals(stored, policies, bindings)
    pending = stored.pending
    state = stored.sync_state
    return DeviceTarget(
        name=stored.name,
        host=device.host,
        port=device.port,
        user=device.user,
        credentials=credentials,
        pinned_host_key=stored.host_key.key_line if stored.host_key else None,
        policies=policies,
        bindings=bindings,
        removed_policies=removed_policies,
        removed_bindings=removed_bindings,
        last_synced=state.managed_config if state else None,
        revision_label=label,
        pending_comment=pending.comment if pending else None,
        pending_expected=pending.expected if pending else None,
    )


def to_binding(binding: SecurityBinding, aamw_policy: str) -> Binding:
    """The device-side form of an inventory binding.

    An empty match list takes the default :class:`Binding` has for it.
    """
    match_lists = {key: getattr(binding, key) for key in MATCH_LISTS}
    return Binding(
        from_zone=binding.from_zone,
        to_zone=binding.to_zone,
        policy_name=binding.security_policy,
        aamw_policy=aamw_policy,
        ssl_proxy_profile=binding.ssl_proxy or None,
        place_before=binding.place_before or None,
        **{key: names for key, names in match_lists.items() if names},
    )


def from_binding(binding: Binding, place_before: str = "") -> SecurityBinding:
    """The inventory form of a binding read from a device.

    A match list equal to the default is kept empty, so that it follows the
    default rather than pinning it.

    :param place_before: where the inventory places the security policy when
        a sync creates it, which a device's configuration does not tell.
    """
    defaults = {
        "source_addresses": ANY,
        "destination_addresses": ANY,
        "applications": DEFAULT_APPLICATIONS,
    }
    return SecurityBinding(
        from_zone=binding.from_zone,
        to_zone=binding.to_zone,
        security_policy=binding.policy_name,
        ssl_proxy=binding.ssl_proxy_profile or "",
        place_before=place_before,
        **{
            key: () if getattr(binding, key) == default else getattr(binding, key)
            for key, default in defaults.items()
        },
    )


def _removals(
    stored: StoredDevice,
    policies: tuple[store.Policy, ...],
    bindings: tuple[Binding, ...],
) -> tuple[tuple[str, ...], tuple[Binding, ...]]:
    # what the last sync put on the device and the inventory no longer holds
    state = stored.sync_state
    if state is None:
        return (), ()
    names = {p.name for p in policies}
    removed_policies = () if state.policy_name in names else (state.policy_name,)
    keys = {b.key for b in bindings}
    removed_bindings = tuple(
        to_binding(b, state.policy_name)
        for b in state.bindings
        if (b.from_zone, b.to_zone, b.security_policy) not in keys
    )
    return removed_policies, removed_bindings
