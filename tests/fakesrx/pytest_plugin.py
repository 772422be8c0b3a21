"""The ``fakesrx`` pytest fixture: simulated SRX devices for one test.

Register it in ``tests/conftest.py`` with
``pytest_plugins = ["tests.fakesrx.pytest_plugin"]``.

    def test_sync(fakesrx):
        srx = fakesrx(hostname="branch-1")          # one device
        fleet = fakesrx.many(10)                    # ten more
        with Device(**fakesrx.pyez_args(srx)) as dev:
            ...

Devices listen on free loopback ports, run in this process and are stopped
after the test.  ``pyez_args`` gives PyEZ arguments that ignore the user's
``~/.ssh/config``, SSH agent and keys; ``verify_host_key=True`` adds a
known_hosts file holding the device's key.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from .faults import Faults
from .server import FakeSRX

DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "fake-srx-password"


class SRXFactory:
    """Starts devices for a test and remembers them to stop them afterwards."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.devices: list[FakeSRX] = []
        self.ssh_config = folder / "ssh_config"
        self.known_hosts = folder / "known_hosts"
        self.ssh_config.write_text("")
        self.known_hosts.write_text("")

    def __call__(self, **options) -> FakeSRX:
        """Start one device; ``FakeSRX`` options apply."""
        options.setdefault("user", DEFAULT_USER)
        options.setdefault("password", DEFAULT_PASSWORD)
        options.setdefault("hostname", f"srx-{len(self.devices) + 1}")
        srx = FakeSRX(**options).start()
        self.devices.append(srx)
        return srx

    def many(self, count: int, **options) -> list[FakeSRX]:
        """Start ``count`` devices named srx-1, srx-2..., each with own faults."""
        faults = options.pop("faults", None) or Faults()
        return [self(faults=replace(faults), **options) for _ in range(count)]

    def state_dir(self, name: str) -> Path:
        """A folder under the test's temporary folder for a device's state."""
        path = self.folder / "state" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pyez_args(
        self,
        srx: FakeSRX,
        *,
        verify_host_key: bool = False,
        user: str = DEFAULT_USER,
        password: str | None = DEFAULT_PASSWORD,
        **extra,
    ) -> dict:
        """Keyword arguments for ``jnpr.junos.Device``, hermetic from ~/.ssh."""
        if verify_host_key:
            self.known_hosts.write_text(
                "".join(d.known_hosts_line() + "\n" for d in self.devices)
            )
            self.ssh_config.write_text(
                f"Host *\n    UserKnownHostsFile {self.known_hosts}\n"
            )
        args = dict(
            host=srx.host,
            port=srx.port,
            user=user,
            ssh_config=str(self.ssh_config),
            allow_agent=False,
            look_for_keys=False,
            hostkey_verify=verify_host_key,
            gather_facts=False,
        )
        if password is not None:
            args["passwd"] = password
        args.update(extra)
        return args

    def stop_all(self) -> None:
        for srx in self.devices:
            srx.stop()


@pytest.fixture
def fakesrx(tmp_path_factory) -> SRXFactory:
    """A factory starting simulated SRX devices, stopped after the test."""
    factory = SRXFactory(tmp_path_factory.mktemp("fakesrx"))
    yield factory
    factory.stop_all()
