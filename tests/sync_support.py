"""Shared pieces of the sync tests: targets for simulated devices and the
checks that a device ended exactly as intended or exactly as before."""

from __future__ import annotations

import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace

from lxml import etree

from deviceio import managed
from deviceio.render import Binding, render_load
from deviceio.sync import Credentials, DeviceTarget
from store.model import Policy
from tests.fakesrx import config as fakeconf
from tests.fakesrx.pytest_plugin import DEFAULT_PASSWORD, DEFAULT_USER
from tests.fakesrx.server import FakeSRX

PASSWORD = DEFAULT_PASSWORD


def a_policy(name: str = "imap-policy", **fields) -> Policy:
    return Policy(name=name, **fields)


def a_binding(name: str = "imap-scan", aamw: str = "imap-policy") -> Binding:
    return Binding("trust", "untrust", name, aamw, ssl_proxy_profile=None)


def host_key(srx: FakeSRX) -> str:
    return f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"


def make_target(
    srx: FakeSRX,
    *,
    name: str | None = None,
    policies: tuple[Policy, ...] | None = None,
    bindings: tuple[Binding, ...] | None = None,
    pinned: bool = True,
    password: str | None = PASSWORD,
    **extra,
) -> DeviceTarget:
    """A target for ``srx`` with one policy and one binding by default."""
    return DeviceTarget(
        name=name or srx.device.hostname,
        host=srx.host,
        port=srx.port,
        user=DEFAULT_USER,
        credentials=Credentials(password=password),
        pinned_host_key=host_key(srx) if pinned else None,
        policies=(a_policy(),) if policies is None else policies,
        bindings=(a_binding(),) if bindings is None else bindings,
        revision_label=extra.pop("revision_label", "imap-policy r1"),
        **extra,
    )


def synced(target: DeviceTarget, managed_config: str | None) -> DeviceTarget:
    """The target as the caller stores it after a sync."""
    return replace(target, last_synced=managed_config)


def intended(target: DeviceTarget) -> tuple[managed.Elements, set[managed.Key]]:
    load = render_load(
        target.policies,
        target.bindings,
        target.removed_policies,
        target.removed_bindings,
    )
    return managed.extract(load), managed.deletions(load)


def keys_of(target: DeviceTarget) -> set[managed.Key]:
    expected, removed = intended(target)
    return set(expected) | removed | managed.keys_in(target.last_synced)


def without(config: etree._Element, keys: set[managed.Key]) -> bytes:
    """The configuration with the managed elements taken out, canonical."""
    copy = deepcopy(config)
    for key, entry in list(_entries(copy)):
        if key not in keys:
            continue
        parent = entry.getparent()
        parent.remove(entry)
        if parent.tag == "policy" and parent.find("policy") is None:
            grandparent = parent.getparent()
            grandparent.remove(parent)
            parent = grandparent
        fakeconf.prune(parent)
    return fakeconf.canonical(copy)


def _entries(configuration: etree._Element):
    for element in configuration.iter("policy"):
        parent = element.getparent()
        if parent is None:
            continue
        name = element.findtext("name")
        if parent.tag == "advanced-anti-malware" and name:
            yield managed.policy_key(name), element
        elif (
            parent.tag == "policy"
            and name
            and parent.find("from-zone-name") is not None
        ):
            yield (
                managed.binding_key(
                    parent.findtext("from-zone-name"),
                    parent.findtext("to-zone-name"),
                    name,
                ),
                element,
            )


def holds_intended(srx: FakeSRX, target: DeviceTarget) -> bool:
    expected, removed = intended(target)
    found = managed.extract(srx.running_config())
    keys = set(expected) | removed
    return not managed.differing(expected, found, keys)


def assert_exact(srx: FakeSRX, target: DeviceTarget, before: etree._Element) -> None:
    """The device holds the intended managed elements and nothing else moved."""
    assert holds_intended(srx, target)
    keys = keys_of(target)
    assert without(srx.running_config(), keys) == without(before, keys)


def assert_unchanged(srx: FakeSRX, before: etree._Element) -> None:
    assert fakeconf.same(srx.running_config(), before)


def assert_clean(srx: FakeSRX) -> None:
    """No lock, no uncommitted change and, soon, no session left behind."""
    wait_for(lambda: srx.sessions == 0, 5)
    assert srx.lock_owner is None
    assert not srx.candidate_changed()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
