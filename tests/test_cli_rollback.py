"""Rolling back: host keys on first contact, and failed history reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import fail
from lxml import etree

import store
from deviceio.errors import ConnectionLost, DeviceError
from fleet import actions
from store import audit
from store import devices as inv
from store.credentials import CredentialStore

from .devices_support import PASSWORD, run_app, write_inventory

THRESHOLD_9 = (
    "set services advanced-anti-malware policy imap-policy verdict-threshold 9"
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _import(tmp_path, home, data_dir, devices) -> None:
    csv_file = write_inventory(tmp_path / "devices.csv", devices)
    assert run_app(home, data_dir, "devices", "import", str(csv_file)).returncode == 0


def _stored(data_dir: Path, name: str = "srx-1"):
    db = store.connect(data_dir / store.DB_FILENAME)
    try:
        return inv.get_device_by_name(db, name), audit.list_entries(db)
    finally:
        db.close()


def test_rollback_trusts_and_pins_a_first_key_when_told(
    tmp_path, home, data_dir, fakesrx
):
    (srx,) = fakesrx.many(1)
    _import(tmp_path, home, data_dir, [srx])
    srx.commit_external_change(THRESHOLD_9)
    before = etree.tostring(srx.running_config())

    refused = run_app(home, data_dir, "rollback", "--device", "srx-1", "1")
    assert refused.returncode == 1
    assert "srx-1: failed:" in refused.stdout
    assert _stored(data_dir)[0].host_key is None
    assert etree.tostring(srx.running_config()) == before

    result = run_app(
        home, data_dir, "rollback", "--device", "srx-1", "1", "--accept-new-host-keys"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "srx-1 is back at commit 1, confirmed." in result.stdout
    assert "verdict-threshold" not in etree.tostring(srx.running_config()).decode()
    stored, entries = _stored(data_dir)
    assert stored.host_key.fingerprint == srx.fingerprint
    actions = [(e.action, e.outcome, e.source) for e in entries]
    assert ("trust-host-key", "trusted", "cli") in actions
    assert ("rollback", "synced", "cli") in actions


def test_rollback_refuses_a_changed_key_even_when_told_to_accept_new_ones(
    tmp_path, home, data_dir, fakesrx
):
    srx = _changed_and_pinned(tmp_path, home, data_dir, fakesrx)
    before = etree.tostring(srx.running_config())
    history = len(srx.device.commit_history)
    srx.faults.wrong_host_key = True

    result = run_app(
        home, data_dir, "rollback", "--device", "srx-1", "1", "--accept-new-host-keys"
    )

    assert result.returncode == 1
    assert "srx-1: failed:" in result.stdout
    assert "back at commit" not in result.stdout
    assert etree.tostring(srx.running_config()) == before
    assert len(srx.device.commit_history) == history
    assert _stored(data_dir)[0].host_key.fingerprint == srx.fingerprint


def test_a_failed_history_read_is_audited_as_the_rollback(
    tmp_path, home, data_dir, fakesrx
):
    srx = _changed_and_pinned(tmp_path, home, data_dir, fakesrx)
    srx.faults.drop_at_rpc = "get-commit-information"

    result = run_app(home, data_dir, "rollback", "--device", "srx-1", "1")

    assert result.returncode == 1
    (entry,) = [e for e in _stored(data_dir)[1] if e.action == "rollback"]
    assert (entry.device_name, entry.outcome, entry.source) == (
        "srx-1",
        "failed",
        "cli",
    )
    assert entry.revision_label == "rollback 1"
    (step,) = entry.steps
    assert (step.step, step.status, step.message) == ("history", "failed", entry.error)
    assert entry.error and f"srx-1: failed: {entry.error}" in result.stdout
    assert PASSWORD not in entry.error + result.stdout + result.stderr


def test_a_failed_history_read_is_recorded_scrubbed(db, fakesrx):
    # a password that happens to be a word of the error it must not show in
    srx = fakesrx(password="connection")
    store.ensure_default_policy(db)
    device = {"name": "srx-1", "host": srx.host, "port": srx.port, "user": "admin"}
    stored = inv.create_device(db, inv.Device.from_dict(device))
    creds = CredentialStore(fail.Keyring())
    creds.remember("srx-1", "connection")
    srx.faults.drop_at_rpc = "get-commit-information"

    with pytest.raises(DeviceError) as caught:
        actions.history_for_rollback(
            db,
            stored,
            creds,
            3,
            preview=True,
            accept_new_host_key=True,
            context=actions.Context("window", "job-1"),
        )

    (entry,) = audit.list_entries(db, audit.AuditFilter(action="rollback-preview"))
    assert entry.error == str(caught.value)
    assert isinstance(caught.value, ConnectionLost), "the class of the error stays"
    assert caught.value.device == "srx-1"
    assert entry.error.startswith("The ******** to srx-1 was lost")
    assert "connection" not in entry.error + entry.steps[0].message
    assert (entry.revision_label, entry.source, entry.job_id) == (
        "rollback 3",
        "window",
        "job-1",
    )
    assert inv.get_device(db, stored.id).host_key is None


def _changed_and_pinned(tmp_path, home, data_dir, fakesrx):
    """One device in the inventory, changed by someone else since, its host
    key pinned by a rollback preview."""
    (srx,) = fakesrx.many(1)
    _import(tmp_path, home, data_dir, [srx])
    srx.commit_external_change(THRESHOLD_9)
    preview = run_app(
        home,
        data_dir,
        "rollback",
        "--device",
        "srx-1",
        "1",
        "--preview",
        "--accept-new-host-keys",
    )
    assert preview.returncode == 0, preview.stdout + preview.stderr
    return srx
