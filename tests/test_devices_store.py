"""The device inventory in the store: validation, saving, host keys, sync state."""

from __future__ import annotations

import json
import sqlite3

import pytest

import store
from store import devices
from store.devices import Device, SecurityBinding, SyncState


def _device(**changes) -> Device:
    data = {
        "name": "srx-paris",
        "host": "fw1.example.net",
        "user": "netconf",
        "bindings": [
            {"from_zone": "trust", "to_zone": "untrust", "security_policy": "mail"}
        ],
    }
    data.update(changes)
    return Device.from_dict(data)


def test_defaults_and_normalisation():
    device = _device(host=" FW1.Example.NET. ", port="")
    assert device.host == "fw1.example.net"
    assert device.port == 830
    assert device.auth == "password"
    assert device.bindings == (SecurityBinding("trust", "untrust", "mail"),)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("192.0.2.7", "192.0.2.7"), ("[2001:db8::1]", "2001:db8::1"), ("srx", "srx")],
)
def test_hosts_may_be_ip_literals(host, expected):
    assert _device(host=host).host == expected


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": ""}, "name", "Enter a name"),
        ({"name": "1st"}, "name", "start with a letter"),
        ({"name": "a" * 64}, "name", "63"),
        ({"host": "bad host"}, "host", "neither"),
        ({"host": "2001:db8::zz"}, "host", "not a valid IP"),
        ({"port": "0"}, "port", "1 to 65535"),
        ({"port": "ssh"}, "port", "1 to 65535"),
        ({"user": "a b"}, "user", "Junos user"),
        ({"auth": "token"}, "auth", "password, key_file, agent"),
        ({"auth": "key_file"}, "key_file", "Enter the path"),
        ({"auth": "key_file", "key_file": "id_rsa"}, "key_file", "absolute"),
    ],
)
def test_each_field_is_checked(changes, field, words):
    with pytest.raises(store.ValidationError) as caught:
        _device(**changes)
    assert words in caught.value.errors[field]


def test_binding_names_follow_junos_rules():
    bad = {"from_zone": "a b", "to_zone": "x" * 64, "security_policy": "-p"}
    with pytest.raises(store.ValidationError) as caught:
        _device(bindings=[bad])
    errors = caught.value.errors
    assert set(errors) == {
        "bindings[0].from_zone",
        "bindings[0].to_zone",
        "bindings[0].security_policy",
    }
    assert "longer than 63" in errors["bindings[0].to_zone"]


def test_a_binding_listed_twice_is_refused():
    one = {"from_zone": "a", "to_zone": "b", "security_policy": "p"}
    with pytest.raises(store.ValidationError) as caught:
        _device(bindings=[one, dict(one, ssl_proxy="inspect")])
    assert "listed twice" in caught.value.errors["bindings[1]"]


def test_create_read_update_delete(db):
    policy = store.create_policy(db, store.Policy(name="branch"))
    stored = devices.create_device(db, _device(policy_id=policy.id))
    assert stored.policy_name == "branch"
    assert devices.get_device_by_name(db, "SRX-PARIS").id == stored.id

    changed = devices.with_settings(stored, port=10830, bindings=[])
    updated = devices.update_device(db, stored.id, changed)
    assert updated.device.port == 10830 and updated.device.bindings == ()

    devices.delete_device(db, stored.id)
    assert devices.list_devices(db) == []


def test_existing_devices_keeps_the_order_given_and_names_the_missing_ids(db):
    paris = devices.create_device(db, _device())
    lyon = devices.create_device(db, _device(name="srx-lyon"))
    gone = devices.create_device(db, _device(name="srx-nice"))
    devices.delete_device(db, gone.id)

    found, missing = devices.existing_devices(
        db, [lyon.id, gone.id, paris.id, lyon.id, 2**63]
    )

    assert [d.name for d in found] == ["srx-lyon", "srx-paris"]
    assert missing == [gone.id, 2**63]


def test_names_are_unique_without_regard_to_case(db):
    devices.create_device(db, _device())
    with pytest.raises(store.DuplicateName):
        devices.create_device(db, _device(name="SRX-Paris"))


def test_deleting_a_policy_unassigns_it(db):
    policy = store.create_policy(db, store.Policy(name="branch"))
    stored = devices.create_device(db, _device(policy_id=policy.id))
    store.delete_policy(db, policy.id)
    again = devices.get_device(db, stored.id)
    assert again.device.policy_id is None and again.policy_name is None


def test_host_key_and_sync_state_survive_an_edit(db):
    stored = devices.create_device(db, _device())
    devices.trust_host_key(db, stored.id, "ssh-ed25519 AAAA", "SHA256:abc")
    state = SyncState(
        policy_name="branch",
        revision_id=None,
        revision_label="branch r1",
        bindings=stored.device.bindings,
        managed_config="<configuration/>",
        synced_at="2026-01-01T00:00:00+00:00",
    )
    devices.record_sync_state(db, stored.id, state)
    devices.update_device(db, stored.id, devices.with_settings(stored, user="admin"))

    again = devices.get_device(db, stored.id)
    assert again.host_key.fingerprint == "SHA256:abc"
    assert again.sync_state == state


def test_bindings_are_deleted_with_their_device(db):
    stored = devices.create_device(db, _device())
    devices.delete_device(db, stored.id)
    count = db.execute("SELECT count(*) FROM device_bindings").fetchone()[0]
    assert count == 0


def test_auth_method_is_constrained_by_the_database(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO devices (name, host, user, auth, created_at, updated_at) "
            "VALUES ('x', 'h', 'u', 'telnet', '', '')"
        )


def _with_match_lists(**lists) -> Device:
    binding = {"from_zone": "trust", "to_zone": "untrust", "security_policy": "mail"}
    return _device(bindings=[{**binding, **lists}])


def test_match_lists_are_names_separated_by_spaces():
    device = _with_match_lists(
        source_addresses=" lan-10.0.0.0/8  branch-nets ",
        destination_addresses="",
        applications=["any"],
    )
    binding = device.bindings[0]
    assert binding.source_addresses == ("lan-10.0.0.0/8", "branch-nets")
    assert binding.destination_addresses == ()
    assert binding.applications == ("any",)
    assert binding.to_dict()["source_addresses"] == "lan-10.0.0.0/8 branch-nets"


@pytest.mark.parametrize(
    ("lists", "field", "words"),
    [
        ({"source_addresses": "lan;drop"}, "source_addresses", "not a valid source"),
        ({"destination_addresses": "-x"}, "destination_addresses", "starting with"),
        ({"applications": "junos-imap junos-imap"}, "applications", "listed twice"),
        ({"applications": "a" * 64}, "applications", "1 to 63"),
        ({"applications": "<b>"}, "applications", "not a valid application"),
    ],
)
def test_match_lists_follow_the_rules_of_the_rendered_binding(lists, field, words):
    from deviceio.render import ADDRESS_RE

    assert devices.MATCH_NAME_RE.pattern == ADDRESS_RE.pattern
    with pytest.raises(store.ValidationError) as caught:
        _with_match_lists(**lists)
    assert words in caught.value.errors[f"bindings[0].{field}"]


def test_match_lists_are_stored_with_the_binding_and_its_sync_state(db):
    device = _with_match_lists(
        source_addresses="lan", destination_addresses="mail-servers"
    )
    stored = devices.create_device(db, device)
    assert stored.device.bindings[0] == SecurityBinding(
        "trust",
        "untrust",
        "mail",
        source_addresses=("lan",),
        destination_addresses=("mail-servers",),
    )
    state = SyncState(
        policy_name="branch",
        revision_id=None,
        revision_label="branch r1",
        bindings=stored.device.bindings,
        managed_config="<configuration/>",
        synced_at="2026-01-01T00:00:00+00:00",
    )
    devices.record_sync_state(db, stored.id, state)
    assert devices.get_device(db, stored.id).sync_state == state


def test_bindings_saved_before_match_lists_were_kept_take_the_defaults(data_dir):
    path = data_dir / store.DB_FILENAME
    db = store.connect(path)
    try:
        store.db.migrations.apply(db, stop_before="m006_binding_match_lists")
        db.execute(
            "INSERT INTO devices (name, host, user, auth, created_at, updated_at) "
            "VALUES ('srx-old', 'fw.example.net', 'netconf', 'password', '', '')"
        )
        db.execute(
            "INSERT INTO device_bindings (device_id, position, from_zone, to_zone, "
            "security_policy) VALUES (1, 0, 'trust', 'untrust', 'mail')"
        )
        old_state = [
            {
                "from_zone": "trust",
                "to_zone": "untrust",
                "security_policy": "mail",
                "ssl_proxy": "",
            }
        ]
        db.execute(
            "INSERT INTO sync_states (device_id, policy_name, revision_label, "
            "bindings, managed_config, synced_at) "
            "VALUES (1, 'branch', 'branch r1', ?, '', '')",
            [json.dumps(old_state)],
        )
        store.db.migrations.apply(db)
        stored = devices.get_device(db, 1)
    finally:
        db.close()
    expected = (SecurityBinding("trust", "untrust", "mail"),)
    assert stored.device.bindings == expected
    assert stored.sync_state.bindings == expected


def test_a_binding_may_name_the_policy_a_new_one_goes_before(db):
    binding = {"from_zone": "trust", "to_zone": "untrust", "security_policy": "mail"}
    stored = devices.create_device(
        db, _device(bindings=[{**binding, "place_before": " deny-all "}])
    )
    assert stored.device.bindings[0].place_before == "deny-all"
    assert stored.device.bindings[0].to_dict()["place_before"] == "deny-all"
    for bad, words in (("mail", "before itself"), ("deny all", "may hold only")):
        with pytest.raises(store.ValidationError) as caught:
            _device(bindings=[{**binding, "place_before": bad}])
        assert words in caught.value.errors["bindings[0].place_before"]


def _placed(name: str, before: str, from_zone: str = "trust") -> dict[str, str]:
    return {
        "from_zone": from_zone,
        "to_zone": "untrust",
        "security_policy": name,
        "place_before": before,
    }


def test_bindings_placed_before_one_another_in_a_circle_are_refused():
    circle = [_placed("imap-a", "imap-b"), _placed("imap-b", "imap-a")]

    with pytest.raises(store.ValidationError) as caught:
        _device(bindings=circle)

    errors = caught.value.errors
    assert set(errors) == {"bindings[0].place_before", "bindings[1].place_before"}
    first = errors["bindings[0].place_before"]
    assert "in a circle: imap-a before imap-b before imap-a" in first
    assert "imap-b before imap-a before imap-b" in errors["bindings[1].place_before"]


def test_a_chain_of_placements_or_one_across_zone_pairs_is_no_circle():
    chain = [_placed("imap-a", "imap-b"), _placed("imap-b", "deny-all")]
    across = [_placed("imap-a", "imap-b"), _placed("imap-b", "imap-a", "dmz")]

    assert [b.place_before for b in _device(bindings=chain).bindings] == [
        "imap-b",
        "deny-all",
    ]
    assert len(_device(bindings=across).bindings) == 2
