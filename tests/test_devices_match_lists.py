"""What a binding's security policy matches: the device form, CSV, sync, import."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from keyring.backends import fail

import store
from deviceio.sync import Outcome, SyncOptions
from fleet import actions
from store import devices as inv
from store.credentials import CredentialStore

from .devices_support import PASSWORD, add_device
from .webui_support import csrf_token, input_tag, open_store, text

MATCHED = {
    "b0_source_addresses": "lan-nets  branch-10.1.0.0/16",
    "b0_destination_addresses": "",
    "b0_applications": "any",
}
NOWHERE = SimpleNamespace(host="192.0.2.1", port=830)


def stored_device(app, device_id: int) -> inv.StoredDevice:
    db = open_store(app)
    try:
        return inv.get_device(db, device_id)
    finally:
        db.close()


def test_the_form_saves_and_shows_match_lists(client, creds):
    token = csrf_token(client, "/devices/new")
    device_id = add_device(client, token, NOWHERE, **MATCHED)

    binding = stored_device(client.application, device_id).device.bindings[0]
    assert binding.source_addresses == ("lan-nets", "branch-10.1.0.0/16")
    assert binding.destination_addresses == ()
    assert binding.applications == ("any",)
    page = text(client.get(f"/devices/{device_id}/edit"))
    tag = input_tag(page, "b0-source_addresses")
    assert 'value="lan-nets branch-10.1.0.0/16"' in tag
    assert 'placeholder="any"' in input_tag(page, "b0-destination_addresses")
    assert 'value="any"' in input_tag(page, "b0-applications")
    shown = text(client.get(f"/devices/{device_id}"))
    assert "destination any, applications any" in shown


def test_a_bad_match_list_is_shown_at_its_field_and_nothing_is_saved(client, creds):
    token = csrf_token(client, "/devices/new")
    device_id = add_device(client, token, NOWHERE, **MATCHED)
    before = stored_device(client.application, device_id)
    form = {
        "csrf_token": token,
        "name": "srx-a",
        "host": "192.0.2.1",
        "port": "830",
        "user": "admin",
        "auth": "password",
        "policy_id": "1",
        "binding_rows": "1",
        "b0_from_zone": "trust",
        "b0_to_zone": "untrust",
        "b0_security_policy": "imap-scan",
        "b0_applications": 'junos-imap "><script>',
    }

    response = client.post(f"/devices/{device_id}/edit", data=form)

    assert response.status_code == 400
    page = text(response)
    assert "<script>" not in page
    tag = input_tag(page, "b0-applications")
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="b0-applications-error"' in tag
    assert 'id="b0-applications-error">' in page
    assert "is not a valid application name" in page
    after = stored_device(client.application, device_id)
    assert after.device == before.device and after.updated_at == before.updated_at


def test_match_lists_go_through_csv_and_back_to_the_form(client, creds):
    token = csrf_token(client, "/devices/new")
    device_id = add_device(client, token, NOWHERE, **MATCHED)
    before = stored_device(client.application, device_id).device
    exported = text(client.get("/devices/export.csv"))
    assert "lan-nets branch-10.1.0.0/16" in exported
    client.post(f"/devices/{device_id}/delete", data={"csrf_token": token}).close()

    response = client.post(
        "/devices/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(exported.encode()), "devices.csv"),
        },
    )

    assert response.status_code == 302, text(response)
    db = open_store(client.application)
    try:
        again = inv.get_device_by_name(db, "srx-a")
    finally:
        db.close()
    assert again.device == before
    page = text(client.get(f"/devices/{again.id}/edit"))
    assert 'value="lan-nets branch-10.1.0.0/16"' in input_tag(
        page, "b0-source_addresses"
    )


# -- against a simulated SRX ------------------------------------------------------


@pytest.fixture
def kept() -> CredentialStore:
    creds = CredentialStore(fail.Keyring())
    creds.remember("srx-a", PASSWORD)
    return creds


def add_simulated(db, srx, **binding) -> inv.StoredDevice:
    store.create_policy(db, store.Policy(name="imap-policy"))
    data = {"from_zone": "trust", "to_zone": "untrust", "security_policy": "imap-scan"}
    device = inv.Device.from_dict(
        {
            "name": "srx-a",
            "host": srx.host,
            "port": srx.port,
            "user": "admin",
            "policy_id": 1,
            "bindings": [{**data, **binding}],
        }
    )
    return inv.create_device(db, device)


def sync(db, kept, device_id: int):
    stored = inv.get_device(db, device_id)
    options = SyncOptions(accept_new_host_key=True, confirm_minutes=1)
    return actions.sync_devices(db, [stored], options, kept)[0]


def match_of(srx) -> dict[str, list[str]]:
    running = srx.device.running_config()
    found = running.xpath(
        "security/policies/policy[from-zone-name='trust'][to-zone-name='untrust']"
        "/policy[name='imap-scan']/match"
    )
    assert len(found) == 1
    return {
        tag: [e.text for e in found[0].findall(tag)]
        for tag in ("source-address", "destination-address", "application")
    }


def test_a_sync_leaves_exactly_the_match_lists_on_the_device(db, kept, fakesrx):
    srx = fakesrx()
    stored = add_simulated(
        db,
        srx,
        source_addresses="lan-nets branch-nets",
        destination_addresses="mail-servers",
        applications="junos-imaps",
    )

    result = sync(db, kept, stored.id)

    assert result.outcome is Outcome.SYNCED, result.error
    assert match_of(srx) == {
        "source-address": ["lan-nets", "branch-nets"],
        "destination-address": ["mail-servers"],
        "application": ["junos-imaps"],
    }
    assert sync(db, kept, stored.id).outcome is Outcome.NO_CHANGE


def test_an_imported_match_is_kept_by_the_next_sync(db, kept, fakesrx):
    srx = fakesrx()
    stored = add_simulated(db, srx)
    assert sync(db, kept, stored.id).outcome is Outcome.SYNCED
    path = "security policies from-zone trust to-zone untrust policy imap-scan"
    srx.device.commit_external_change(
        f"delete {path} match application\nset {path} match application any"
    )
    on_device = match_of(srx)

    found = actions.import_device_version(db, inv.get_device(db, stored.id), kept)

    assert found.bindings_changed
    binding = inv.get_device(db, stored.id).device.bindings[0]
    assert binding.applications == ("any",)
    assert binding.source_addresses == binding.destination_addresses == ()
    result = sync(db, kept, stored.id)
    assert result.outcome is Outcome.NO_CHANGE, result.error
    assert result.diff == ""
    assert (
        match_of(srx)
        == on_device
        == {
            "source-address": ["any"],
            "destination-address": ["any"],
            "application": ["any"],
        }
    )


def test_the_form_saves_where_a_new_security_policy_goes(client, creds):
    token = csrf_token(client, "/devices/new")
    device_id = add_device(client, token, NOWHERE, b0_place_before="deny-all")

    binding = stored_device(client.application, device_id).device.bindings[0]
    assert binding.place_before == "deny-all"
    page = text(client.get(f"/devices/{device_id}/edit"))
    assert 'value="deny-all"' in input_tag(page, "b0-place_before")
    assert "created before policy deny-all" in text(client.get(f"/devices/{device_id}"))


def test_the_form_refuses_policies_placed_in_a_circle_next_to_the_field(client, creds):
    token = csrf_token(client, "/devices/new")
    form = {
        "csrf_token": token,
        "name": "srx-a",
        "host": NOWHERE.host,
        "port": "830",
        "user": "admin",
        "auth": "password",
        "password": PASSWORD,
        "policy_id": "1",
        "binding_rows": "2",
    }
    for i, (name, before) in enumerate((("imap-a", "imap-b"), ("imap-b", "imap-a"))):
        form.update(
            {
                f"b{i}_from_zone": "trust",
                f"b{i}_to_zone": "untrust",
                f"b{i}_security_policy": name,
                f"b{i}_place_before": before,
            }
        )

    response = client.post("/devices/new", data=form)

    assert response.status_code == 400
    page = text(response)
    assert 'id="b0-place_before-error">These security policies are placed' in page
    assert "imap-b before imap-a before imap-b." in page
    db = open_store(client.application)
    try:
        assert inv.list_devices(db) == []
    finally:
        db.close()


def test_a_placed_binding_is_created_there_and_keeps_its_place_on_import(
    db, kept, fakesrx
):
    srx = fakesrx()
    stored = add_simulated(db, srx, place_before="allow-outbound")

    assert sync(db, kept, stored.id).outcome is Outcome.SYNCED
    running = srx.device.running_config()
    names = running.xpath(
        "security/policies/policy[from-zone-name='trust'][to-zone-name='untrust']"
        "/policy/name/text()"
    )
    assert names[:2] == ["imap-scan", "allow-outbound"]
    found = actions.import_device_version(db, inv.get_device(db, stored.id), kept)
    assert not found.bindings_changed
    binding = inv.get_device(db, stored.id).device.bindings[0]
    assert binding.place_before == "allow-outbound"
