"""Importing and exporting the device inventory as CSV."""

from __future__ import annotations

import pytest

import store
from store import devices, inventory
from store.inventory import InvalidInventory

GOOD = (
    "name,host,port,user,policy,auth,key_file,bindings\r\n"
    "srx-paris,192.0.2.1,830,netconf,branch,password,,trust>untrust:mail\r\n"
    "srx-lyon,fw2.example.net,,netconf,branch,key_file,/home/a/.ssh/id_ed25519,"
    '"trust>untrust:mail:imaps; dmz>untrust:dmz-mail"\r\n'
    "\r\n"
    "srx-nice,fw3.example.net,2830,ops,branch,agent,,\r\n"
)


@pytest.fixture
def branch(db):
    return store.create_policy(db, store.Policy(name="branch"))


def test_a_good_file_is_imported(db, branch):
    result = inventory.import_inventory(db, GOOD.encode("utf-8-sig"))

    assert [d.name for d in result.added] == ["srx-paris", "srx-lyon", "srx-nice"]
    lyon = devices.get_device_by_name(db, "srx-lyon").device
    assert lyon.port == 830
    assert lyon.auth == "key_file"
    assert [(b.from_zone, b.security_policy, b.ssl_proxy) for b in lyon.bindings] == [
        ("trust", "mail", "imaps"),
        ("dmz", "dmz-mail", ""),
    ]
    assert lyon.policy_id == branch.id


def test_export_then_import_round_trips_and_updates(db, branch):
    inventory.import_inventory(db, GOOD)
    exported = inventory.export_inventory(devices.list_devices(db))

    result = inventory.import_inventory(db, exported)

    assert result.added == []
    assert sorted(d.name for d in result.updated) == [
        "srx-lyon",
        "srx-nice",
        "srx-paris",
    ]
    assert inventory.export_inventory(devices.list_devices(db)) == exported


def test_header_columns_may_come_in_any_order_and_case(db, branch):
    text = "User,POLICY,Name,Port,Host\nnetconf,branch,srx-a,,192.0.2.9\n"
    result = inventory.import_inventory(db, text)
    assert result.added[0].device.host == "192.0.2.9"


def test_every_bad_row_is_reported_and_nothing_is_stored(db, branch):
    text = (
        "name,host,port,user,policy,bindings\n"
        "srx-ok,192.0.2.1,,netconf,branch,\n"
        "srx-bad,not a host,99999,netconf,branch,\n"
        "srx-ok2,192.0.2.3,,netconf,nosuch,\n"
        "srx-ok,192.0.2.4,,netconf,branch,\n"
        "srx-zone,192.0.2.5,,netconf,branch,trust-untrust:mail\n"
    )
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)

    problems = {p.line: p.message for p in caught.value.problems}
    assert sorted(problems) == [3, 4, 5, 6]
    assert "Host:" in problems[3] and "NETCONF port:" in problems[3]
    assert "no policy named 'nosuch'" in problems[4]
    assert "already on line 2" in problems[5]
    assert "FROM-ZONE>TO-ZONE:POLICY" in problems[6]
    assert "nothing was changed" in str(caught.value)
    assert devices.list_devices(db) == []


def test_line_numbers_count_quoted_line_breaks(db, branch):
    text = (
        "name,host,port,user,policy,bindings\n"
        'srx-a,192.0.2.1,,netconf,branch,"trust>untrust:mail;\n'
        'dmz>untrust:mail"\n'
        "srx-b,192.0.2.2,,,branch,\n"
    )
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)
    assert [p.line for p in caught.value.problems] == [4]
    assert "User:" in caught.value.problems[0].message


def test_a_password_column_is_refused(db, branch):
    text = "name,host,port,user,policy,password\nsrx,192.0.2.1,,u,branch,hunter2\n"
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)
    assert "Passwords are never read" in str(caught.value.problems[0])
    assert "hunter2" not in str(caught.value.problems)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("name,host\n", "lacks the column(s): port, user, policy"),
        ("name,host,port,user,policy,colour\n", "'colour' is not part"),
        ("name,host,port,user,policy,name\n", "appears twice"),
        ("name,host,port,user,policy\n", "holds no devices"),
    ],
)
def test_header_problems(db, branch, text, words):
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)
    assert words in caught.value.problems[0].message
    assert caught.value.problems[0].line == 1


def test_a_file_that_is_not_utf8_names_its_line(db, branch):
    data = b"name,host,port,user,policy\nsrx,h\xe9te,,u,branch\n"
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, data)
    assert caught.value.problems[0].line == 2
    assert "UTF-8" in caught.value.problems[0].message


def test_extra_cells_are_refused(db, branch):
    text = "name,host,port,user,policy\nsrx,192.0.2.1,,u,branch,surplus\n"
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)
    assert "6 cells" in caught.value.problems[0].message


MATCHED = (
    "name,host,port,user,policy,bindings,source_addresses,"
    "destination_addresses,applications\r\n"
    'srx-paris,192.0.2.1,830,netconf,branch,"trust>untrust:mail; dmz>untrust:dmz",'
    'lan-nets;,"; mail-1 mail-2",any;\r\n'
)


def test_match_lists_are_read_per_binding_and_written_back(db, branch):
    inventory.import_inventory(db, MATCHED)

    paris = devices.get_device_by_name(db, "srx-paris").device
    assert [
        (b.source_addresses, b.destination_addresses, b.applications)
        for b in paris.bindings
    ] == [(("lan-nets",), (), ("any",)), ((), ("mail-1", "mail-2"), ())]
    exported = inventory.export_inventory(devices.list_devices(db))
    assert exported.splitlines()[1].endswith(
        "trust>untrust:mail; dmz>untrust:dmz,lan-nets;,; mail-1 mail-2,any;,"
    )
    inventory.import_inventory(db, exported)
    assert devices.get_device_by_name(db, "srx-paris").device == paris
    assert inventory.export_inventory(devices.list_devices(db)) == exported


def test_a_file_without_match_columns_keeps_each_bindings_match_lists(db, branch):
    inventory.import_inventory(db, MATCHED)
    text = (
        "name,host,port,user,policy,bindings\n"
        "srx-paris,192.0.2.1,,netconf,branch,dmz>untrust:dmz; guest>untrust:mail\n"
    )

    inventory.import_inventory(db, text)

    paris = devices.get_device_by_name(db, "srx-paris").device
    assert [(b.from_zone, b.destination_addresses) for b in paris.bindings] == [
        ("dmz", ("mail-1", "mail-2")),
        ("guest", ()),
    ]
    assert paris.bindings[1].applications == ()


def test_a_file_without_bindings_keeps_them_whole(db, branch):
    inventory.import_inventory(db, MATCHED)
    before = devices.get_device_by_name(db, "srx-paris").device.bindings
    inventory.import_inventory(
        db, "name,host,port,user,policy\nsrx-paris,192.0.2.7,,netconf,branch\n"
    )
    assert devices.get_device_by_name(db, "srx-paris").device.bindings == before


@pytest.mark.parametrize(
    ("header", "cells", "words"),
    [
        ("bindings,applications", "a>b:p; c>d:q,any", "1 entry for 2 bindings"),
        ("bindings,applications", ",any", "1 entry for 0 bindings"),
        ("bindings,source_addresses", "a>b:p,lan<x>", "Binding 1: 'lan<x>'"),
        (
            "bindings,applications",
            "a>b:p,any any",
            "Binding 1: The application any is listed",
        ),
    ],
)
def test_bad_match_lists_are_reported_by_line(db, branch, header, cells, words):
    text = f"name,host,port,user,policy,{header}\nsrx,192.0.2.1,,u,branch,{cells}\n"
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)
    assert caught.value.problems[0].line == 2
    assert words in caught.value.problems[0].message
    assert devices.list_devices(db) == []


def test_a_match_column_needs_the_bindings_column(db, branch):
    text = "name,host,port,user,policy,applications\nsrx,192.0.2.1,,u,branch,any\n"
    with pytest.raises(InvalidInventory) as caught:
        inventory.import_inventory(db, text)
    assert "applications need the bindings column" in caught.value.problems[0].message


def test_place_before_is_read_per_binding_and_kept_without_its_column(db, branch):
    text = (
        "name,host,port,user,policy,bindings,place_before\n"
        "srx-paris,192.0.2.1,,netconf,branch,trust>untrust:mail; dmz>untrust:dmz,"
        "deny-all;\n"
    )
    inventory.import_inventory(db, text)
    paris = devices.get_device_by_name(db, "srx-paris").device
    assert [b.place_before for b in paris.bindings] == ["deny-all", ""]
    exported = inventory.export_inventory(devices.list_devices(db))
    assert exported.splitlines()[1].endswith(",deny-all;")

    inventory.import_inventory(
        db,
        "name,host,port,user,policy,bindings\n"
        "srx-paris,192.0.2.1,,netconf,branch,trust>untrust:mail\n",
    )
    again = devices.get_device_by_name(db, "srx-paris").device
    assert [b.place_before for b in again.bindings] == ["deny-all"]
