"""Editing a device that another window deleted meanwhile."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from store import devices as inv
from webui import devices as device_pages

from .devices_support import PASSWORD, add_device, delete_elsewhere
from .webui_support import csrf_token, input_tag, open_store, text

NOWHERE = SimpleNamespace(host="192.0.2.1", port=830)
TYPED_PASSWORD = "typed-again-secret"


@pytest.fixture
def device_id(client, creds) -> int:
    return add_device(client, csrf_token(client, "/devices/new"), NOWHERE)


def edited_form(token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "srx-a",
        "host": "198.51.100.7",
        "port": "8830",
        "user": "netops",
        "auth": "password",
        "password": TYPED_PASSWORD,
        "policy_id": "1",
        "binding_rows": "2",
        "b0_from_zone": "trust",
        "b0_to_zone": "untrust",
        "b0_security_policy": "imap-scan",
        "b0_ssl_proxy": "",
        "b1_from_zone": "guest",
        "b1_to_zone": "untrust",
        "b1_security_policy": "guest-imap",
        "b1_ssl_proxy": "imaps-proxy",
    }


def assert_kept_as_new(page: str) -> None:
    assert "srx-a was deleted in another window" in page
    assert "Save again to add it back as a new device" in page
    assert 'action="/devices/new"' in page
    assert 'value="198.51.100.7"' in input_tag(page, "f-host")
    assert 'value="8830"' in input_tag(page, "f-port")
    assert 'value="netops"' in input_tag(page, "f-user")
    assert 'value="guest-imap"' in page and 'value="imaps-proxy"' in page
    assert TYPED_PASSWORD not in page and PASSWORD not in page
    assert 'value="' not in input_tag(page, "f-password")


def save_again(client, page: str) -> int:
    form = edited_form(re.search(r'name="csrf_token" value="([^"]+)"', page)[1])
    response = client.post("/devices/new", data=form)
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def assert_added_back(client, creds, new_id: int) -> None:
    db = open_store(client.application)
    try:
        stored = inv.get_device(db, new_id)
    finally:
        db.close()
    device = stored.device
    assert (device.host, device.port, device.user) == ("198.51.100.7", 8830, "netops")
    assert [(b.from_zone, b.security_policy, b.ssl_proxy) for b in device.bindings] == [
        ("trust", "imap-scan", ""),
        ("guest", "guest-imap", "imaps-proxy"),
    ]
    assert creds.get("srx-a") == TYPED_PASSWORD


def test_saving_a_device_deleted_elsewhere_keeps_what_was_typed(
    client, creds, device_id
):
    token = csrf_token(client, f"/devices/{device_id}/edit")
    delete_elsewhere(client, device_id)

    response = client.post(f"/devices/{device_id}/edit", data=edited_form(token))

    assert response.status_code == 409
    page = text(response)
    assert_kept_as_new(page)
    assert_added_back(client, creds, save_again(client, page))


def test_a_device_deleted_while_its_save_runs(client, creds, device_id, monkeypatch):
    token = csrf_token(client, f"/devices/{device_id}/edit")
    db = open_store(client.application)
    try:
        before = inv.get_device(db, device_id)
    finally:
        db.close()
    delete_elsewhere(client, device_id)
    # the page read the device just before the other window deleted it
    monkeypatch.setattr(device_pages, "load_device", lambda _: before)

    response = client.post(f"/devices/{device_id}/edit", data=edited_form(token))

    assert response.status_code == 409
    page = text(response)
    assert_kept_as_new(page)
    monkeypatch.undo()
    assert_added_back(client, creds, save_again(client, page))


def test_opening_a_deleted_device_says_so(client, creds, device_id):
    delete_elsewhere(client, device_id)

    for url in (f"/devices/{device_id}", f"/devices/{device_id}/edit"):
        response = client.get(url)
        assert response.status_code == 404
        page = text(response)
        assert f"There is no device number {device_id}." in page, url
        assert "It may have been deleted." in page
