"""A device password Junos would refuse never enters IMAP Desk."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import store
from store import audit
from store import devices as inv

from .devices_support import add_device, run_app
from .webui_support import open_store, text

SHORT = "Qz7#k"
REFUSED = "Junos passwords have at least 6 characters."
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


def test_check_password():
    assert inv.check_password("six-ch") == "six-ch"
    for given in ("", "a", SHORT):
        with pytest.raises(ValueError, match=REFUSED) as caught:
            inv.check_password(given)
    assert SHORT not in str(caught.value)


def test_the_device_form_refuses_a_short_password(app, client, token, creds):
    response = client.post("/devices/new", data=_form(token))

    assert response.status_code == 400
    page = text(response)
    assert f'<p class="field-error" id="f-password-error">{REFUSED}</p>' in page
    assert SHORT not in page
    assert creds.get("srx-a") is None
    db = open_store(app)
    try:
        assert inv.list_devices(db) == []
    finally:
        db.close()


def test_a_short_key_passphrase_is_not_a_junos_password(client, token, creds):
    form = _form(token, auth="key_file", key_file="/home/admin/.ssh/id_ed25519")

    response = client.post("/devices/new", data=form)

    assert response.status_code == 302, text(response)
    assert creds.get("srx-a") == SHORT


def test_the_password_page_refuses_a_short_password(client, token, creds):
    device_id = add_device(client, token, SRX, password="")
    url = f"/devices/{device_id}/password"

    refused = client.post(url, data={"csrf_token": token, "password": SHORT})
    kept = client.post(url, data={"csrf_token": token, "password": "six-ch"})

    assert refused.status_code == 400
    assert f'<p class="field-error" id="f-password-error">{REFUSED}</p>' in text(
        refused
    )
    assert SHORT not in text(refused)
    assert kept.status_code == 302
    assert creds.get("srx-a") == "six-ch"


def test_the_sync_password_prompt_refuses_a_short_password(client, token, creds):
    device_id = add_device(client, token, SRX, password="")

    response = client.post(
        "/sync/preview",
        data={
            "csrf_token": token,
            "device": [device_id],
            f"password_{device_id}": SHORT,
        },
    )

    assert response.status_code == 200
    page = text(response)
    assert f'name="password_{device_id}"' in page
    error = f'<p class="field-error" id="pw-{device_id}-error">{REFUSED}</p>'
    assert error in page
    assert "Enter a password for every device listed." not in page
    assert SHORT not in page
    assert creds.get("srx-a") is None


def test_a_short_password_in_the_environment_stops_the_command(tmp_path, data_dir):
    home = tmp_path / "home"
    home.mkdir()
    inventory = tmp_path / "devices.csv"
    inventory.write_text(
        "name,host,port,user,policy\nsrx-1,192.0.2.1,830,admin,imap-policy\n"
    )
    assert run_app(home, data_dir, "devices", "import", str(inventory)).returncode == 0

    result = run_app(home, data_dir, "sync", "--policy", "imap-policy", password=SHORT)

    assert result.returncode == 2
    assert result.stderr == (
        f"imapdesk: IMAPDESK_DEVICE_PASSWORD is too short: {REFUSED}\n"
    )
    assert SHORT not in result.stdout + result.stderr
    db = store.connect(data_dir / store.DB_FILENAME)
    try:
        assert audit.count_entries(db) == 0
    finally:
        db.close()
