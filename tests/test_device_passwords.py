"""A short device password is taken wherever it is typed, and never shown."""

from __future__ import annotations

from types import SimpleNamespace

from deviceio.sync import DeviceResult, Outcome
from fleet import actions
from store import devices as inv

from .devices_support import add_device, outcomes, run_app, wait_job, write_inventory
from .webui_support import open_store, text

# shorter than a Junos local account allows; a RADIUS, TACACS+ or LDAP
# account may still have it
SHORT = "Qz7#k"
SRX = SimpleNamespace(host="192.0.2.1", port=830)


def _form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "name": "srx-a",
        "host": SRX.host,
        "port": "830",
        "user": "admin",
        "auth": "password",
        "password": SHORT,
        "policy_id": "1",
        "binding_rows": "0",
    }
    form.update(changes)
    return form


def test_the_device_form_keeps_a_short_password(app, client, token, creds):
    response = client.post("/devices/new", data=_form(token))

    assert response.status_code == 302, text(response)
    assert creds.get("srx-a") == SHORT
    db = open_store(app)
    try:
        assert [d.name for d in inv.list_devices(db)] == ["srx-a"]
    finally:
        db.close()


def test_a_short_password_is_masked_in_error_texts(app, client, token, creds):
    client.post("/devices/new", data=_form(token))
    result = DeviceResult("srx-a", Outcome.FAILED, error=f"Login as {SHORT} failed")
    db = open_store(app)
    try:
        actions._clean(result, creds, inv.get_device_by_name(db, "srx-a"))
    finally:
        db.close()

    assert result.error == "Login as ******** failed"


def test_the_password_page_keeps_a_short_password(client, token, creds):
    device_id = add_device(client, token, SRX, password="")
    url = f"/devices/{device_id}/password"

    empty = client.post(url, data={"csrf_token": token, "password": ""})
    assert "Enter the password." in text(empty)
    assert creds.get("srx-a") is None
    kept = client.post(url, data={"csrf_token": token, "password": SHORT})

    assert kept.status_code == 302
    assert creds.get("srx-a") == SHORT


def test_the_sync_password_prompt_keeps_a_short_password(client, token, creds, fakesrx):
    srx = fakesrx(password=SHORT)
    device_id = add_device(client, token, srx, password="")
    asked = {"csrf_token": token, "device": [device_id]}

    empty = client.post("/sync/preview", data={**asked, f"password_{device_id}": ""})
    assert "Enter a password for every device listed." in text(empty)
    response = client.post(
        "/sync/preview", data={**asked, f"password_{device_id}": SHORT}
    )

    _, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "hostkey-unknown"}
    assert creds.get("srx-a") == SHORT


def test_a_short_password_in_the_environment_is_used(tmp_path, data_dir, fakesrx):
    home = tmp_path / "home"
    home.mkdir()
    inventory = write_inventory(
        tmp_path / "devices.csv", fakesrx.many(1, password=SHORT)
    )
    assert run_app(home, data_dir, "devices", "import", str(inventory)).returncode == 0

    synced = run_app(
        home,
        data_dir,
        "sync",
        "--policy",
        "imap-policy",
        "--accept-new-host-keys",
        password=SHORT,
    )
    drift = run_app(home, data_dir, "drift", password=SHORT)

    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "srx-1: synced" in synced.stdout
    assert drift.returncode == 0, drift.stdout + drift.stderr
    for result in (synced, drift):
        assert SHORT not in result.stdout + result.stderr
