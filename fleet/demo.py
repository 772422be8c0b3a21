"""``app.py --demo``: the whole device workflow with no hardware.

Starts a few simulated SRX devices (``tests/fakesrx``, in this process, on
loopback ports) and a throw-away data folder whose inventory points at them.
Their password is made up for the run and kept in the in-memory credential
cache only. Their host keys are not trusted in advance, so the first contact
asks, as with a real device. Everything is deleted when IMAP Desk exits.
"""

from __future__ import annotations

import logging
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_DEVICES = (
    ("demo-paris", "23.4R1.9", "srx345"),
    ("demo-lyon", "21.4R3.15", "srx1500"),
    ("demo-nice", "19.4R3.11", "srx300"),
)
DEMO_USER = "netconf"


class DemoUnavailable(Exception):
    """The simulator is not there (an installed build has no tests folder)."""


@contextmanager
def running() -> Iterator[Path]:
    """Yield a data folder whose inventory points at running simulated devices."""
    fake_srx = _simulator()
    with tempfile.TemporaryDirectory(prefix="imapdesk-demo-") as folder:
        root = Path(folder)
        password = secrets.token_urlsafe(12)
        devices = []
        try:
            for name, version, model in DEMO_DEVICES:
                srx = fake_srx(
                    user=DEMO_USER,
                    password=password,
                    hostname=name,
                    version=version,
                    model=model,
                    state_dir=root / "devices" / name,
                )
                devices.append(srx.start())
            data_dir = root / "data"
            _fill_inventory(data_dir, devices, password)
            ports = ", ".join(str(srx.port) for srx in devices)
            print(
                f"Demo: {len(devices)} simulated SRX devices on 127.0.0.1 ports "
                f"{ports}; the data folder {data_dir} is deleted on exit.",
                flush=True,
            )
            yield data_dir
        finally:
            for srx in devices:
                srx.stop()


def _simulator():
    source = Path(__file__).resolve().parent.parent
    if not (source / "tests" / "fakesrx").is_dir():
        raise DemoUnavailable(
            "The demo needs a source checkout of IMAP Desk: its simulated SRX "
            "devices live in tests/fakesrx, which installed builds leave out."
        )
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))
    from tests.fakesrx import FakeSRX

    return FakeSRX


def _fill_inventory(data_dir: Path, devices: list, password: str) -> None:
    import store
    from store import devices as inventory
    from store.credentials import process_store

    data_dir.mkdir(parents=True)
    path = data_dir / store.DB_FILENAME
    store.init_db(path)
    db = store.connect(path)
    try:
        store.ensure_default_policy(db)
        policy = store.list_policies(db)[0]
        creds = process_store()
        for srx in devices:
            name = srx.device.hostname
            device = inventory.Device.from_dict(
                {
                    "name": name,
                    "host": srx.host,
                    "port": srx.port,
                    "user": DEMO_USER,
                    "policy_id": policy.id,
                    "bindings": [
                        {
                            "from_zone": "trust",
                            "to_zone": "untrust",
                            "security_policy": "imap-inspect",
                        }
                    ],
                }
            )
            inventory.create_device(db, device)
            creds.remember(name, password)
    finally:
        db.close()
