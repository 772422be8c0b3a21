"""Devices and sync through the web interface, against simulated SRX devices."""

from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace

import lxml.html
import paramiko
import pytest

import store
from store import audit
from store import devices as inv
from store.credentials import CredentialStore
from webui.devices import CREDENTIALS

from .devices_support import (
    JOB_RE,
    PASSWORD,
    DictKeyring,
    add_device,
    new_ed25519_pem,
    outcomes,
    trust_from_job_page,
    wait_job,
)
from .webui_support import open_store, text


def preview_and_sync(client, token, ids, **confirm) -> tuple[str, dict]:
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    job_id, state = wait_job(client, response)
    assert set(outcomes(state).values()) == {"previewed"}, state
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "Changes (show | compare)" in page and "[edit" in page
    names = list(outcomes(state))
    form = {
        "csrf_token": token,
        "device": names,
        "confirm_minutes": "3",
        "all_or_nothing": "yes",
    }
    form.update(confirm)
    return wait_job(client, client.post(f"/sync/jobs/{job_id}/sync", data=form))


def test_pages_render_with_no_devices(client):
    for url in ("/devices/", "/devices/new", "/devices/import", "/sync/", "/audit/"):
        assert client.get(url).status_code == 200, url
    assert "Devices" in text(client.get("/"))
    for url in ("/devices/", "/sync/", "/audit/"):
        assert '<a href="/devices/" aria-current="page">Devices</a>' in text(
            client.get(url)
        ), url


def test_the_form_reports_each_bad_field(client, token):
    response = client.post(
        "/devices/new",
        data={
            "csrf_token": token,
            "name": "1bad",
            "host": "not a host",
            "port": "70000",
            "user": "",
            "auth": "key_file",
            "key_file": "relative/id_rsa",
            "binding_rows": "1",
            "b0_from_zone": "trust",
            "b0_to_zone": "",
            "b0_security_policy": "p",
        },
    )
    page = text(response)
    assert response.status_code == 400
    for words in (
        "must start with a letter",
        "neither an IP address nor a valid hostname",
        "1 to 65535",
        "Enter the user name",
        "absolute path",
        "Enter the to-zone name",
        "Choose the policy",
    ):
        assert words in page, words


def test_the_form_limits_what_can_be_typed(client, token, creds):
    device_id = add_device(client, token, SimpleNamespace(host="192.0.2.1", port=830))

    for url in ("/devices/new", f"/devices/{device_id}/edit"):
        page = lxml.html.fromstring(text(client.get(url)))
        name = page.get_element_by_id("f-name")
        port = page.get_element_by_id("f-port")
        assert name.get("maxlength") == "63", url
        assert (port.get("min"), port.get("max")) == ("1", "65535"), url
        for field_id in ("f-name", "f-host", "f-user"):
            assert page.get_element_by_id(field_id).get("required") is not None
        for element in page.iter("input", "select", "textarea"):
            for attribute, value in element.attrib.items():
                assert attribute.replace("-", "").isalpha(), (url, attribute)
                assert not value.startswith('"'), (url, attribute, value)


def test_first_contact_trust_preview_sync_and_audit(client, token, creds, fakesrx):
    srx_a, srx_b = fakesrx(hostname="srx-a"), fakesrx(hostname="srx-b")
    ids = [add_device(client, token, srx_a), add_device(client, token, srx_b, "srx-b")]

    # first contact: nothing done until the administrator trusts the keys
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    job_id, state = wait_job(client, response)
    assert set(outcomes(state).values()) == {"hostkey-unknown"}
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert srx_a.fingerprint in page and srx_b.fingerprint in page
    trust_from_job_page(client, job_id)

    job_id, state = preview_and_sync(client, token, ids)

    assert outcomes(state) == {"srx-a": "synced", "srx-b": "synced"}
    assert state["percent"] == 100
    db = open_store(client.application)
    try:
        stored = inv.get_device_by_name(db, "srx-a")
        assert stored.host_key.fingerprint == srx_a.fingerprint
        assert stored.sync_state.revision_label == "imap-policy r1"
        entries = audit.list_entries(db, audit.AuditFilter(job_id=job_id))
        assert {e.outcome for e in entries} == {"synced"}
        assert all(e.revision_label == "imap-policy r1" for e in entries)
        assert all("commit" in [s.step for s in e.steps] for e in entries)
        assert "imap-policy" in entries[0].diff
        actions = {e.action for e in audit.list_entries(db)}
        assert {"preview", "sync", "trust-host-key"} <= actions
    finally:
        db.close()
    commits = srx_a.device.commit_history
    assert any("imap-policy r1" in (c.get("log") or "") for c in commits)

    # syncing again changes nothing
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    job_id, state = wait_job(client, response)
    assert "No changes" in text(client.get(f"/sync/jobs/{job_id}"))

    listing = text(client.get("/audit/?outcome=synced"))
    assert listing.count("<tr>") >= 3
    exported = client.get("/audit/export.csv?device=srx-a")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows and {r["device"] for r in rows} == {"srx-a"}


def test_one_failure_does_not_stop_the_others(client, token, creds, fakesrx):
    good, bad = fakesrx(hostname="good"), fakesrx(hostname="bad")
    ids = [
        add_device(client, token, good, "good"),
        add_device(client, token, bad, "bad"),
    ]
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    trust_from_job_page(client, wait_job(client, response)[0])
    bad.faults.commit_error = "simulated commit failure"

    _, state = preview_and_sync(client, token, ids, all_or_nothing="")

    assert outcomes(state) == {"good": "synced", "bad": "failed"}


def test_connection_test_shows_facts(client, token, creds, fakesrx):
    srx = fakesrx(hostname="branch-7", model="srx1500", version="21.4R3.15")
    device_id = add_device(client, token, srx)
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"
    client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line},
    )

    response = client.post(f"/devices/{device_id}/test", data={"csrf_token": token})
    page = text(client.get(response.headers["Location"]))

    assert "branch-7" in page and "srx1500" in page and "21.4R3.15" in page
    assert "IMAP supported" in page


def test_an_old_release_is_explained(client, token, creds, fakesrx):
    srx = fakesrx(version="15.1X49-D170.4")
    device_id = add_device(client, token, srx)
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"
    client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line},
    )
    response = client.post(f"/devices/{device_id}/test", data={"csrf_token": token})
    page = text(client.get(response.headers["Location"]))
    assert "18.1" in page


def test_first_key_from_the_device_page(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = add_device(client, token, srx)

    page = text(
        client.post(f"/devices/{device_id}/hostkey", data={"csrf_token": token})
    )

    assert srx.fingerprint in page and "Trust this key" in page


def test_a_changed_key_is_refused_until_deliberately_retrusted(
    client, token, creds, fakesrx
):
    srx = fakesrx()
    device_id = add_device(client, token, srx)
    other = paramiko.Ed25519Key.from_private_key(io.StringIO(new_ed25519_pem()))
    db = open_store(client.application)
    inv.trust_host_key(
        db, device_id, f"ssh-ed25519 {other.get_base64()}", other.fingerprint
    )
    db.close()
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"

    response = client.post(f"/devices/{device_id}/test", data={"csrf_token": token})
    page = text(response)
    assert "different host key" in page and srx.fingerprint in page

    # the plain trust action refuses to replace a pinned key
    refused = client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line},
    )
    assert "explicit confirmation" in text(client.get(refused.headers["Location"]))
    unconfirmed = client.post(
        f"/devices/{device_id}/hostkey/retrust",
        data={"csrf_token": token, "key_line": key_line},
    )
    assert "Tick the box" in text(unconfirmed)

    client.post(
        f"/devices/{device_id}/hostkey/retrust",
        data={"csrf_token": token, "key_line": key_line, "confirm": "yes"},
    )
    db = open_store(client.application)
    try:
        assert inv.get_device(db, device_id).host_key.fingerprint == srx.fingerprint
    finally:
        db.close()


def _synced_device(client, token, srx) -> int:
    device_id = add_device(client, token, srx)
    response = client.post(
        "/sync/preview", data={"csrf_token": token, "device": [device_id]}
    )
    trust_from_job_page(client, wait_job(client, response)[0])
    _, state = preview_and_sync(client, token, [device_id])
    assert outcomes(state) == {"srx-a": "synced"}
    return device_id


def test_drift_then_overwrite(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = _synced_device(client, token, srx)
    srx.device.commit_external_change(
        "set services advanced-anti-malware policy imap-policy verdict-threshold 9"
    )

    response = client.post("/sync/drift", data={"csrf_token": token})
    job_id, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "drifted"}
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "verdict-threshold 9" in page
    assert "Overwrite" in page and "Import device version" in page

    response = client.post(
        "/sync/preview",
        data={"csrf_token": token, "device": [device_id], "overwrite_drift": "yes"},
    )
    preview_id, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "previewed"}
    response = client.post(
        f"/sync/jobs/{preview_id}/sync",
        data={"csrf_token": token, "device": ["srx-a"], "confirm_minutes": "5"},
    )
    _, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "synced"}
    _, state = wait_job(client, client.post("/sync/drift", data={"csrf_token": token}))
    assert outcomes(state) == {"srx-a": "no-change"}


def test_drift_then_import_device_version(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = _synced_device(client, token, srx)
    srx.device.commit_external_change(
        "set services advanced-anti-malware policy imap-policy verdict-threshold 9"
    )

    response = client.post(
        f"/devices/{device_id}/import-version", data={"csrf_token": token}
    )

    assert "revision 2" in text(client.get(response.headers["Location"]))
    db = open_store(client.application)
    try:
        stored = store.get_policy(db, 1)
        assert stored.policy.verdict_threshold == "9"
        assert "Imported from device srx-a" in store.list_revisions(db, 1)[0].note
    finally:
        db.close()
    _, state = wait_job(client, client.post("/sync/drift", data={"csrf_token": token}))
    assert outcomes(state) == {"srx-a": "no-change"}


def test_rollback_after_preview(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = _synced_device(client, token, srx)

    history = text(client.get(f"/devices/{device_id}/history"))
    assert "imap-policy r1" in history and "Preview rollback 2" in history

    response = client.post(
        f"/devices/{device_id}/rollback/preview", data={"csrf_token": token, "n": "2"}
    )
    preview_id, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "previewed"}
    assert "imap-policy" in text(client.get(f"/sync/jobs/{preview_id}"))

    response = client.post(
        f"/devices/{device_id}/rollback",
        data={"csrf_token": token, "n": "2", "preview_job": preview_id},
    )
    _, state = wait_job(client, response)

    assert outcomes(state) == {"srx-a": "synced"}
    running = srx.device.running_config()
    assert running.find(".//advanced-anti-malware") is None


def test_cancel_stops_a_job(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = add_device(client, token, srx)
    response = client.post(
        "/sync/preview", data={"csrf_token": token, "device": [device_id]}
    )
    trust_from_job_page(client, wait_job(client, response)[0])
    srx.faults.latency = 0.3

    response = client.post(
        "/sync/preview", data={"csrf_token": token, "device": [device_id]}
    )
    job_id = JOB_RE.search(response.headers["Location"]).group(1)
    cancelled = client.post(
        f"/sync/jobs/{job_id}/cancel",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert cancelled.get_json()["id"] == job_id
    _, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "cancelled"}


def test_missing_passwords_are_asked_for(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = add_device(client, token, srx, password="")

    page = text(
        client.post("/sync/preview", data={"csrf_token": token, "device": [device_id]})
    )
    assert f'name="password_{device_id}"' in page
    assert "kept in memory only" in page

    response = client.post(
        "/sync/preview",
        data={
            "csrf_token": token,
            "device": [device_id],
            f"password_{device_id}": PASSWORD,
        },
    )
    _, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "hostkey-unknown"}
    assert creds.get("srx-a") == PASSWORD


def test_passwords_go_to_the_keyring_when_there_is_one(app, client, token, fakesrx):
    ring = DictKeyring()
    app.extensions[CREDENTIALS] = CredentialStore(ring)
    add_device(client, token, fakesrx(), password="in-the-ring")
    assert ring.items == {("imapdesk", "srx-a"): "in-the-ring"}


def test_csv_import_export_through_the_pages(client, token):
    good = (
        "name,host,port,user,policy,bindings\n"
        "srx-1,192.0.2.1,,admin,imap-policy,trust>untrust:mail\n"
    )
    bad = "name,host,port,user,policy\nsrx-2,192.0.2.2,,admin,nosuch\n"

    response = client.post(
        "/devices/import",
        data={"csrf_token": token, "file": (io.BytesIO(bad.encode()), "bad.csv")},
    )
    assert response.status_code == 400
    assert "Line 2: Policy: there is no policy named" in text(response)

    response = client.post(
        "/devices/import",
        data={"csrf_token": token, "file": (io.BytesIO(good.encode()), "good.csv")},
    )
    assert response.status_code == 302
    exported = text(client.get("/devices/export.csv"))
    assert exported.splitlines()[1] == (
        "srx-1,192.0.2.1,830,admin,imap-policy,password,,trust>untrust:mail,,,,"
    )


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://x"])
def test_trust_never_redirects_elsewhere(client, token, creds, fakesrx, target):
    srx = fakesrx()
    device_id = add_device(client, token, srx)
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"

    response = client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line, "next": target},
    )

    assert response.headers["Location"] == f"/devices/{device_id}"


def test_a_bad_key_line_is_refused(client, token, creds, fakesrx):
    device_id = add_device(client, token, fakesrx())
    response = client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": "ssh-ed25519 not-base64!"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("reject_credentials", "password"),
        ("netconf_disabled", "netconf"),
        ("refuse_connections", "refused"),
    ],
)
def test_connection_failures_are_explained(client, token, creds, fakesrx, fault, words):
    srx = fakesrx()
    device_id = add_device(client, token, srx)
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"
    client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line},
    )
    setattr(srx.faults, fault, True)

    response = client.post(f"/devices/{device_id}/test", data={"csrf_token": token})
    page = text(client.get(response.headers["Location"]))

    alert = re.search(r'<div class="alert alert-error"[^>]*>(.*?)</div>', page, re.S)
    assert alert, page
    assert words in alert.group(1).lower()
    assert alert.group(1).strip().endswith(".")


def test_a_key_file_with_a_passphrase(client, token, creds, fakesrx, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.BestAvailableEncryption(b"key-passphrase"),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    srx = fakesrx(password=None, public_key=public.decode())
    device_id = add_device(
        client,
        token,
        srx,
        password="key-passphrase",
        auth="key_file",
        key_file=str(key_file),
    )
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"
    client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line},
    )

    response = client.post(f"/devices/{device_id}/test", data={"csrf_token": token})

    assert "which supports IMAP policies" in text(
        client.get(response.headers["Location"])
    )


def test_trusting_only_the_ticked_first_contact_keys(client, token, creds, fakesrx):
    srx_a, srx_b = fakesrx(hostname="srx-a"), fakesrx(hostname="srx-b")
    ids = [add_device(client, token, srx_a), add_device(client, token, srx_b, "srx-b")]
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    job_id, _ = wait_job(client, response)

    response = trust_from_job_page(client, job_id, devices=["srx-b"])

    # back to the sync page with both devices still chosen
    location = response.headers["Location"]
    assert all(f"device={i}" in location for i in ids)
    db = open_store(client.application)
    try:
        assert inv.get_device_by_name(db, "srx-a").host_key is None
        pinned = inv.get_device_by_name(db, "srx-b").host_key
        assert pinned.fingerprint == srx_b.fingerprint
    finally:
        db.close()
    # a key typed into the form is never what gets trusted
    page = text(client.get(f"/sync/jobs/{job_id}"))
    token2 = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post(
        f"/sync/jobs/{job_id}/trust-keys",
        data={"csrf_token": token2, "device": "srx-a", "key_line": "ssh-ed25519 AAAA"},
    )
    db = open_store(client.application)
    try:
        assert inv.get_device_by_name(db, "srx-a").host_key.fingerprint == (
            srx_a.fingerprint
        )
    finally:
        db.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "test"), ("get", "history"), ("post", "pending")],
)
def test_device_actions_without_a_password_ask_for_it(
    client, token, creds, fakesrx, method, path
):
    device_id = add_device(client, token, fakesrx(), password="")

    response = getattr(client, method)(
        f"/devices/{device_id}/{path}", data={"csrf_token": token}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/devices/{device_id}/password"
    page = text(client.get(response.headers["Location"]))
    assert "Enter the device&#39;s password first." in page


def test_an_unreachable_device_is_explained_on_its_page(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = add_device(client, token, srx)
    srx.faults.refuse_connections = True

    response = client.get(f"/devices/{device_id}/history")

    assert response.headers["Location"] == f"/devices/{device_id}"
    page = text(client.get(response.headers["Location"]))
    assert f"refused a connection on port {srx.port}" in page


def test_a_failed_history_read_is_in_the_audit_log(client, token, creds, fakesrx):
    srx = fakesrx()
    device_id = add_device(client, token, srx)
    key_line = f"{srx.host_key.get_name()} {srx.host_key.get_base64()}"
    client.post(
        f"/devices/{device_id}/hostkey/trust",
        data={"csrf_token": token, "key_line": key_line},
    )
    srx.faults.drop_at_rpc = "get-commit-information"

    response = client.get(f"/devices/{device_id}/history")

    assert response.headers["Location"] == f"/devices/{device_id}"
    db = open_store(client.application)
    try:
        (entry,) = audit.list_entries(db, audit.AuditFilter(action="read-history"))
        assert not audit.list_entries(db, audit.AuditFilter(action="rollback-preview"))
    finally:
        db.close()
    assert (entry.device_name, entry.outcome, entry.source) == (
        "srx-a",
        "failed",
        "window",
    )
    (step,) = entry.steps
    assert (step.step, step.status, step.message) == ("history", "failed", entry.error)
    assert entry.error in text(client.get(response.headers["Location"]))
    assert PASSWORD not in entry.error
