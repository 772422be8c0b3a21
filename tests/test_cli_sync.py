"""The device commands (devices, sync, drift, rollback), run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

import store
from store import audit
from store import devices as inv

from .desktop_support import ROOT
from .devices_support import PASSWORD, run_app, write_inventory


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder of its own, so logs and settings stay in the test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def open_db(data_dir: Path):
    return store.connect(data_dir / store.DB_FILENAME)


def test_import_and_list(tmp_path, home, data_dir, fakesrx):
    devices = fakesrx.many(2)
    csv_file = write_inventory(tmp_path / "devices.csv", devices)

    imported = run_app(home, data_dir, "devices", "import", str(csv_file))
    listed = run_app(home, data_dir, "devices", "list")

    assert imported.returncode == 0, imported.stderr
    assert "2 devices added, 0 updated" in imported.stdout
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "HOST", "USER"]
    assert [line.split()[0] for line in lines[1:]] == ["srx-1", "srx-2"]
    assert "not trusted" in listed.stdout


def test_a_bad_file_is_reported_by_line_and_not_imported(tmp_path, home, data_dir):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "name,host,port,user,policy\n"
        "srx-1,192.0.2.1,,admin,imap-policy\n"
        "srx-2,192.0.2.2,99999,admin,imap-policy\n"
        "srx-3,,830,admin,nosuch\n"
    )

    result = run_app(home, data_dir, "devices", "import", str(csv_file))

    assert result.returncode == 2
    assert f"{csv_file}:3: NETCONF port:" in result.stderr
    assert f"{csv_file}:4: Policy: there is no policy named 'nosuch'" in result.stderr
    assert "nothing was changed" in result.stderr
    listed = run_app(home, data_dir, "devices", "list")
    assert len(listed.stdout.splitlines()) == 1


def _import(tmp_path, home, data_dir, devices) -> None:
    csv_file = write_inventory(tmp_path / "devices.csv", devices)
    assert run_app(home, data_dir, "devices", "import", str(csv_file)).returncode == 0


def test_sync_needs_trusted_keys(tmp_path, home, data_dir, fakesrx):
    _import(tmp_path, home, data_dir, fakesrx.many(1))

    result = run_app(home, data_dir, "sync", "--policy", "imap-policy")

    assert result.returncode == 1
    assert "srx-1: hostkey-unknown" in result.stdout
    assert "0 of 1 devices in sync." in result.stdout


def test_sync_with_accept_new_host_keys(tmp_path, home, data_dir, fakesrx):
    devices = fakesrx.many(2)
    _import(tmp_path, home, data_dir, devices)

    first = run_app(
        home, data_dir, "sync", "--policy", "imap-policy", "--accept-new-host-keys"
    )
    again = run_app(home, data_dir, "sync", "--policy", "imap-policy")

    assert first.returncode == 0, first.stdout + first.stderr
    assert "srx-1: commit ok" in first.stdout
    assert "srx-2: synced" in first.stdout
    assert "2 of 2 devices in sync." in first.stdout
    assert again.returncode == 0, again.stdout
    assert "srx-1: no-change" in again.stdout
    db = open_db(data_dir)
    try:
        pinned = {d.name: d.host_key.fingerprint for d in inv.list_devices(db)}
        assert pinned == {d.device.hostname: d.fingerprint for d in devices}
        assert {e.source for e in audit.list_entries(db)} == {"cli"}
    finally:
        db.close()


def test_preview_changes_nothing(tmp_path, home, data_dir, fakesrx):
    (srx,) = fakesrx.many(1)
    _import(tmp_path, home, data_dir, [srx])

    result = run_app(
        home,
        data_dir,
        "sync",
        "--policy",
        "imap-policy",
        "--preview",
        "--accept-new-host-keys",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "srx-1: previewed" in result.stdout
    assert "imap-policy" in result.stdout
    assert srx.device.running_config().find(".//advanced-anti-malware") is None


def test_one_failure_makes_the_status_non_zero(tmp_path, home, data_dir, fakesrx):
    good, bad = fakesrx.many(2)
    _import(tmp_path, home, data_dir, [good, bad])
    bad.faults.commit_error = "simulated commit failure"

    result = run_app(
        home,
        data_dir,
        "sync",
        "--policy",
        "imap-policy",
        "--accept-new-host-keys",
        "--each-on-its-own",
    )

    assert result.returncode == 1
    assert "srx-1: synced" in result.stdout
    assert "srx-2: failed" in result.stdout
    assert "1 of 2 devices in sync." in result.stdout


def test_a_changed_key_still_fails(tmp_path, home, data_dir, fakesrx):
    devices = fakesrx.many(2)
    _import(tmp_path, home, data_dir, devices)
    first = run_app(
        home, data_dir, "sync", "--policy", "imap-policy", "--accept-new-host-keys"
    )
    assert first.returncode == 0
    devices[1].faults.wrong_host_key = True

    result = run_app(
        home,
        data_dir,
        "sync",
        "--policy",
        "imap-policy",
        "--device",
        "srx-2",
        "--accept-new-host-keys",
    )

    assert result.returncode == 1
    assert "srx-2: hostkey-changed" in result.stdout
    db = open_db(data_dir)
    try:
        stored = inv.get_device_by_name(db, "srx-2")
        assert stored.host_key.fingerprint == devices[1].fingerprint
    finally:
        db.close()


def test_no_password_and_no_terminal_is_a_clear_error(
    tmp_path, home, data_dir, fakesrx
):
    _import(tmp_path, home, data_dir, fakesrx.many(1))

    result = run_app(home, data_dir, "sync", "--policy", "imap-policy", password=None)

    assert result.returncode == 2
    assert "No password for srx-1: set IMAPDESK_DEVICE_PASSWORD" in result.stderr


def test_device_selection_is_checked(tmp_path, home, data_dir, fakesrx):
    _import(tmp_path, home, data_dir, fakesrx.many(1))

    unknown = run_app(home, data_dir, "sync", "--policy", "nosuch")
    missing = run_app(
        home, data_dir, "sync", "--policy", "imap-policy", "--device", "srx-9"
    )

    assert unknown.returncode == 2 and "no policy named 'nosuch'" in unknown.stderr
    assert missing.returncode == 2 and "no device named 'srx-9'" in missing.stderr


def test_demo_serves_simulated_devices_and_cleans_up(home):
    import http.cookiejar
    import re
    import signal
    import urllib.request

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IMAPDESK_", "XDG_"))
    }
    env.update(HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    process = subprocess.Popen(
        [sys.executable, "app.py", "--demo", "--no-window"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        demo_line = process.stdout.readline()
        ready_line = process.stdout.readline()
        folder = Path(re.search(r"data folder (\S+) is deleted", demo_line).group(1))
        url = re.search(r"Open (\S+)", ready_line).group(1)
        assert (folder / store.DB_FILENAME).exists()

        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        opener.open(url, timeout=30).read()
        page = opener.open(url.split("/launch/")[0] + "/devices/", timeout=30)
        listing = page.read().decode()
        for name in ("demo-paris", "demo-lyon", "demo-nice"):
            assert name in listing
        assert "no password yet" not in listing
        assert "not trusted yet" in listing
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert not folder.exists()


def test_sync_with_an_ssh_key_file_needs_no_password(tmp_path, home, data_dir, fakesrx):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    srx = fakesrx(password=None, public_key=public.decode())
    csv_file = tmp_path / "keyed.csv"
    csv_file.write_text(
        "name,host,port,user,policy,auth,key_file\n"
        f"srx-1,{srx.host},{srx.port},admin,imap-policy,key_file,{key_file}\n"
    )
    assert run_app(home, data_dir, "devices", "import", str(csv_file)).returncode == 0

    result = run_app(
        home,
        data_dir,
        "sync",
        "--policy",
        "imap-policy",
        "--accept-new-host-keys",
        password=None,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "srx-1: synced" in result.stdout


THRESHOLD_9 = (
    "set services advanced-anti-malware policy imap-policy verdict-threshold 9"
)


def _synced(tmp_path, home, data_dir, fakesrx, count=1):
    devices = fakesrx.many(count)
    _import(tmp_path, home, data_dir, devices)
    synced = run_app(
        home, data_dir, "sync", "--policy", "imap-policy", "--accept-new-host-keys"
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    return devices


def test_drift_on_devices_in_sync(tmp_path, home, data_dir, fakesrx):
    _synced(tmp_path, home, data_dir, fakesrx, 2)

    result = run_app(home, data_dir, "drift")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "srx-1: in sync" in result.stdout
    assert "srx-2: in sync" in result.stdout
    assert "2 of 2 devices in sync." in result.stdout


def test_drift_shows_a_change_made_by_someone_else(tmp_path, home, data_dir, fakesrx):
    _, changed = _synced(tmp_path, home, data_dir, fakesrx, 2)
    changed.commit_external_change(THRESHOLD_9)

    result = run_app(home, data_dir, "drift")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "srx-1: in sync" in result.stdout
    assert "srx-2: drifted: srx-2 was changed outside IMAP Desk" in result.stdout
    assert "verdict-threshold 9" in result.stdout
    assert "1 of 2 devices in sync." in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    db = open_db(data_dir)
    try:
        checks = [e for e in audit.list_entries(db) if e.action == "check-drift"]
        assert {(e.device_name, e.outcome) for e in checks} == {
            ("srx-1", "no-change"),
            ("srx-2", "drifted"),
        }
    finally:
        db.close()


def test_drift_of_one_device_and_an_unknown_one(tmp_path, home, data_dir, fakesrx):
    _, changed = _synced(tmp_path, home, data_dir, fakesrx, 2)
    changed.commit_external_change(THRESHOLD_9)

    one = run_app(home, data_dir, "drift", "--device", "srx-1")
    unknown = run_app(home, data_dir, "drift", "--device", "srx-9")

    assert one.returncode == 0, one.stdout + one.stderr
    assert "srx-2" not in one.stdout
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    assert unknown.stderr == "imapdesk: There is no device named 'srx-9'.\n"


def test_drift_with_no_devices_says_so(home, data_dir):
    result = run_app(home, data_dir, "drift")
    usage = run_app(home, data_dir, "drift", "--help")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "imapdesk: There are no devices to check; add one in the window or "
        "with `devices import`."
    )
    assert "2 when there is no device to check" in " ".join(usage.stdout.split())


def test_drift_uses_pinned_keys_only(tmp_path, home, data_dir, fakesrx):
    devices = _synced(tmp_path, home, data_dir, fakesrx, 2)
    db = open_db(data_dir)
    try:
        inv.forget_host_key(db, inv.get_device_by_name(db, "srx-1").id)
    finally:
        db.close()
    devices[1].faults.wrong_host_key = True

    refused = run_app(home, data_dir, "drift")
    accepted = run_app(home, data_dir, "drift", "--accept-new-host-keys")

    assert refused.returncode == 1
    assert "srx-1: failed:" in refused.stdout
    assert "srx-2: failed:" in refused.stdout
    assert accepted.returncode == 1
    assert "srx-1: in sync" in accepted.stdout
    assert "srx-2: failed:" in accepted.stdout
    db = open_db(data_dir)
    try:
        pinned = {d.name: d.host_key.fingerprint for d in inv.list_devices(db)}
        assert pinned == {d.device.hostname: d.fingerprint for d in devices}
    finally:
        db.close()


def test_rollback_preview_changes_nothing(tmp_path, home, data_dir, fakesrx):
    (srx,) = _synced(tmp_path, home, data_dir, fakesrx)
    before = srx.running_config()
    history = len(srx.device.commit_history)

    result = run_app(home, data_dir, "rollback", "--device", "srx-1", "2", "--preview")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "srx-1: commit 2:" in result.stdout
    assert "srx-1: previewed" in result.stdout
    assert "imap-policy" in result.stdout
    assert "nothing was committed on srx-1" in result.stdout
    assert etree.tostring(srx.running_config()) == etree.tostring(before)
    assert len(srx.device.commit_history) == history
    assert PASSWORD not in result.stdout + result.stderr


def test_rollback_returns_to_the_earlier_configuration(
    tmp_path, home, data_dir, fakesrx
):
    (srx,) = _synced(tmp_path, home, data_dir, fakesrx)
    synced = etree.tostring(srx.running_config())
    srx.commit_external_change(THRESHOLD_9)

    result = run_app(home, data_dir, "rollback", "--device", "srx-1", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "srx-1: confirm ok" in result.stdout
    assert "srx-1: synced" in result.stdout
    assert "verdict-threshold 9" in result.stdout
    assert "srx-1 is back at commit 1, confirmed." in result.stdout
    assert etree.tostring(srx.running_config()) == synced
    assert not srx.device.confirm_pending
    assert PASSWORD not in result.stdout + result.stderr
    db = open_db(data_dir)
    try:
        (entry,) = [e for e in audit.list_entries(db) if e.action == "rollback"]
        assert (entry.device_name, entry.outcome, entry.source) == (
            "srx-1",
            "synced",
            "cli",
        )
    finally:
        db.close()
    again = run_app(home, data_dir, "drift")
    assert again.returncode == 0, again.stdout


def test_rollback_arguments_are_checked(tmp_path, home, data_dir, fakesrx):
    (srx,) = _synced(tmp_path, home, data_dir, fakesrx)
    history = len(srx.device.commit_history)

    unknown = run_app(home, data_dir, "rollback", "--device", "srx-9", "1")
    too_far = run_app(home, data_dir, "rollback", "--device", "srx-1", "40")
    out_of_range = run_app(home, data_dir, "rollback", "--device", "srx-1", "50")

    assert unknown.returncode == 2
    assert unknown.stderr == "imapdesk: There is no device named 'srx-9'.\n"
    assert too_far.returncode == 2
    assert "there is no commit 40" in too_far.stderr
    assert out_of_range.returncode == 2
    assert "rollbacks 1 to 49" in out_of_range.stderr
    assert len(srx.device.commit_history) == history


def test_drift_of_a_device_never_synced_is_not_in_sync(
    tmp_path, home, data_dir, fakesrx
):
    _import(tmp_path, home, data_dir, fakesrx.many(1))

    result = run_app(home, data_dir, "drift")

    assert result.returncode == 1
    assert "srx-1: not checked: IMAP Desk has not synced this device" in result.stdout
    assert "0 of 1 devices in sync." in result.stdout
