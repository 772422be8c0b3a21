"""Every route and command, fed missing, malformed and hostile input.

Whatever arrives, the answer is a page with a sentence, never a 500 or a
traceback, and a request the application refuses leaves the policies, their
revisions and the devices exactly as they were.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keyring.backends import fail
from werkzeug.datastructures import MultiDict

import store
from deviceio.sync import DeviceResult, Outcome
from store import audit, inventory
from store import devices as inv
from store.credentials import CredentialStore
from store.model import Policy
from webui import create_app
from webui.devices import jobs

from .desktop_support import ROOT
from .webui_support import csrf_token, editor_form, open_store, text

# what a request may carry that no form of the application ever sends
GARBAGE = [
    "",
    "x" * 20_000,
    "a\x00b",
    "-1",
    "99999999999999999999999",
    "１２",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil.example")',
    "line\r\nX-Injected: yes",
]
# every field name any form of the application posts
FIELDS = [
    "name",
    "host",
    "port",
    "user",
    "auth",
    "key_file",
    "password",
    "policy_id",
    "binding_rows",
    "b0_from_zone",
    "b0_to_zone",
    "b0_security_policy",
    "b0_ssl_proxy",
    "note",
    "base_revision",
    "op",
    "action",
    "server_scope",
    "servers-0",
    "administrators-0-email",
    "administrators-0-block",
    "learn_more_url",
    "subject",
    "custom_message",
    "custom_link_text",
    "inspection_profile",
    "verdict_threshold",
    "log_notifications",
    "fallback_action",
    "fallback_log",
    "sender",
    "recipient",
    "attachment",
    "received_at",
    "threat_level",
    "candidates",
    "file_warnings",
    "filename",
    "chosen-0",
    "name-0",
    "device",
    "n",
    "confirm_minutes",
    "preview_job",
    "key_line",
    "confirm",
    "next",
    "overwrite_drift",
    "all_or_nothing",
]
QUERY_KEYS = ["a", "b", "device", "page", "since", "until", "job", "outcome"]
UNKNOWN_ID = "987654"
HUGE_ID = str(10**30)
TABLES = (
    "policies",
    "revisions",
    "devices",
    "device_bindings",
    "host_keys",
    "sync_states",
)


def _routes() -> list:
    # the routes as the application registers them, new ones included
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(folder)
        return sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)


ROUTES = _routes()


@pytest.fixture(autouse=True)
def no_file_manager(monkeypatch):
    """The About page's buttons must not open real windows."""
    opened: list[Path] = []
    monkeypatch.setattr("webui.about.open_folder", opened.append)
    return opened


@pytest.fixture
def seeded(app, client, creds) -> dict[str, str]:
    """A second policy with two revisions, a device, an audit entry and a job."""
    db = open_store(app)
    try:
        second = store.create_policy(db, Policy(name="second"))
        store.save_policy(db, second.id, Policy(name="second", action="permit"))
        device = inv.create_device(
            db,
            inv.Device.from_dict(
                {
                    # nothing listens there: a contact fails at once
                    "name": "srx-robust",
                    "host": "127.0.0.1",
                    "port": "1",
                    "user": "admin",
                    "policy_id": 1,
                    "bindings": [
                        {
                            "from_zone": "trust",
                            "to_zone": "untrust",
                            "security_policy": "imap-scan",
                        }
                    ],
                }
            ),
        )
        entry = audit.record(
            db,
            action="test-connection",
            device_name=device.name,
            outcome="failed",
            started_at="2026-12-01T10:00:00+00:00",
            finished_at="2026-12-01T10:00:01+00:00",
        )
        revision = store.list_revisions(db, second.id)[-1].id
    finally:
        db.close()
    with client.application.app_context():
        job = jobs().start(
            "preview",
            "Preview of 1 device",
            [device.name],
            lambda job: [
                DeviceResult(device.name, Outcome.PREVIEWED, diff="[edit]\n+ x")
            ],
            {"ids": [device.id]},
        )
    assert job.done.wait(5)
    return {
        "policy_id": str(second.id),
        "revision_id": str(revision),
        "device_id": str(device.id),
        "entry_id": str(entry),
        "job_id": job.id,
        "kind": "end-user",
        "fmt": "xml",
        "which": "data",
        "filename": "app.css",
        "token": "not-the-launch-secret",
    }


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of the tables a refused request must leave alone."""
    db = open_store(app)
    try:
        return {
            table: [tuple(row) for row in db.execute(f"SELECT * FROM {table}")]
            for table in TABLES
        }
    finally:
        db.close()


def check(response) -> None:
    """No server error and no traceback, whatever was sent."""
    body = text(response)
    assert response.status_code < 500, body[:2000]
    assert "Traceback" not in body and 'File "' not in body, body[:2000]


class Prober:
    """Sends requests and checks that refused ones changed nothing."""

    def __init__(self, app, client):
        self.app = app
        self.client = client
        self.before = snapshot(app)

    def send(self, method: str, url: str, **kwargs):
        response = getattr(self.client, method)(url, **kwargs)
        check(response)
        after = snapshot(self.app)
        if response.status_code >= 400 or method == "get":
            assert after == self.before, f"{method.upper()} {url} changed the data"
        self.before = after
        return response


def urls(rule, valid: dict[str, str]) -> list[str]:
    """The rule with valid values, then with one value at a time made wrong."""
    values = {name: valid[name] for name in rule.arguments}
    built = [rule.build(values, append_unknown=False)[1]]
    for name in rule.arguments:
        if name.endswith("_id") and name != "job_id":
            wrong = ["0", "-1", UNKNOWN_ID, HUGE_ID]
        else:
            wrong = ["x" * 300, "..", "%00"]
        for value in wrong:
            built.append(rule.build({**values, name: value}, append_unknown=False)[1])
    return built


@pytest.mark.parametrize("rule", ROUTES, ids=lambda rule: rule.endpoint)
def test_no_route_fails_on_bad_input(app, client, seeded, rule):
    token = csrf_token(client)
    prober = Prober(app, client)
    fields = [*FIELDS, f"password_{seeded['device_id']}"]
    first, *wrong_urls = urls(rule, seeded)
    for url in wrong_urls:
        if "GET" in rule.methods:
            prober.send("get", url)
        if "POST" in rule.methods:
            prober.send("post", url, data={"csrf_token": token, "note": "x"})
    if "GET" in rule.methods:
        prober.send("get", first)
        for value in GARBAGE:
            prober.send("get", first, query_string=dict.fromkeys(QUERY_KEYS, value))
        # invalid UTF-8, percent-encoded as a browser would pass it on
        prober.send("get", first + "?" + "&".join(f"{k}=%ff%c3" for k in QUERY_KEYS))
    if "POST" not in rule.methods:
        return
    for value in GARBAGE:
        prober.send(
            "post", first, data={"csrf_token": token, **dict.fromkeys(fields, value)}
        )
    duplicated = MultiDict([("csrf_token", token)])
    for name, value in itertools.product(fields, ("1", "two", "")):
        duplicated.add(name, value)
    prober.send("post", first, data=duplicated)
    raw = f"csrf_token={token}&name=\xff\xfe&device=\xc3&note=%ff%fe".encode("latin-1")
    prober.send(
        "post", first, data=raw, content_type="application/x-www-form-urlencoded"
    )
    as_json = prober.send(
        "post",
        first,
        json={name: [1, {"a": None}] for name in fields},
        headers={"X-CSRFToken": token},
    )
    assert as_json.status_code == 415
    for content in (b"", b"\x00\xff\xfe\x01" * 256, b"\xef\xbb\xbf"):
        prober.send(
            "post",
            first,
            data={"csrf_token": token, "file": (io.BytesIO(content), "f.json")},
            content_type="multipart/form-data",
        )
    oversized = prober.send(
        "post",
        first,
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 5_000_000), "f.csv")},
        content_type="multipart/form-data",
    )
    assert oversized.status_code == 413
    prober.send("post", first, data={"csrf_token": "forged"})
    # last, as a browser would send it: some routes need nothing more
    prober.send("post", first, data={"csrf_token": token})


UPLOADS = [
    b"",
    b"\x00" * 64,
    bytes(range(256)) * 8,
    b"\xef\xbb\xbf",
    "café".encode("latin-1"),
    b"{}",
    b"[]",
    b"null",
    b'{"format": "imapdesk-policy", "version": 1, "policy": []}',
    b'{"format": "imapdesk-policy", "version": 1, "policy": {"name": 5}}',
    b'{"format": "imapdesk-policy", "version": 99}',
    b"name,host,port,user,policy\nsrx,\x00,1,u,imap-policy\n",
    b"name,host,port,user,policy,password\nsrx,h.example,1,u,imap-policy,pw\n",
    b'name,host\n"unterminated,x\n',
    b"set services advanced-anti-malware policy\n",
    b"<configuration><services><advanced-anti-malware>",
    b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b"<configuration>&e;</configuration>",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
]


@pytest.mark.parametrize(
    "url", ["/policies/import", "/policies/import-configuration", "/devices/import"]
)
def test_uploads_are_refused_whole(app, client, seeded, url):
    token = csrf_token(client)
    prober = Prober(app, client)
    for content in UPLOADS:
        response = prober.send(
            "post",
            url,
            data={"csrf_token": token, "file": (io.BytesIO(content), "upload.bin")},
            content_type="multipart/form-data",
        )
        assert response.status_code in (200, 400, 422), content[:40]
        assert 'class="alert alert-error"' in text(response) or (
            'class="field-error"' in text(response)
        )


def test_tampered_review_pages_are_refused(app, client, seeded):
    token = csrf_token(client)
    prober = Prober(app, client)
    good = {"policy": Policy(name="fresh").to_dict(), "unknown": [], "warnings": []}
    good["managed"] = True
    candidates = [
        "",
        "not json",
        "5",
        '{"a": 1}',
        json.dumps([{**good, "unknown": 5}]),
        json.dumps([{**good, "warnings": None}]),
        json.dumps([{**good, "policy": {"name": 5}}]),
        json.dumps([{**good, "policy": "x"}]),
        json.dumps([]),
        json.dumps([good, good]) + "\x00",
    ]
    for value in candidates:
        form = {"csrf_token": token, "candidates": value, "chosen-0": "y"}
        response = prober.send(
            "post", "/policies/import-configuration/confirm", data=form
        )
        assert response.status_code == 400, value
    for chosen in ({}, {"chosen-0": "y", "name-0": "imap-policy"}):
        form = {"csrf_token": token, "candidates": json.dumps([good]), **chosen}
        response = prober.send(
            "post", "/policies/import-configuration/confirm", data=form
        )
        assert response.status_code == 422


FORM_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(
        lambda s: s * 700
    ),
    st.sampled_from(GARBAGE),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(field=st.sampled_from(sorted(Policy().to_dict()) + ["note"]), value=FORM_TEXT)
def test_the_editor_never_fails_on_a_field(app, client, field, value):
    stored_before = snapshot(app)
    db = open_store(app)
    try:
        current = store.get_policy(db, 1)
    finally:
        db.close()
    form = editor_form(current.policy, csrf_token(client, "/policies/1"))
    form["base_revision"] = str(current.revision_id)
    where = {"servers": "servers-0", "administrators": "administrators-0-email"}
    form[where.get(field, field)] = value
    response = client.post("/policies/1", data=form)
    check(response)
    if response.status_code != 302:
        assert response.status_code == 422
        assert snapshot(app) == stored_before


DEVICE_FIELDS = ["name", "host", "port", "user", "auth", "key_file", "policy_id"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    field=st.sampled_from([*DEVICE_FIELDS, "binding_rows", "b0_from_zone"]),
    value=FORM_TEXT,
)
def test_the_device_form_never_fails_on_a_field(app, client, creds, field, value):
    before = snapshot(app)
    form = {
        "csrf_token": csrf_token(client, "/devices/new"),
        "name": "srx-new",
        "host": "srx.example",
        "port": "830",
        "user": "admin",
        "auth": "password",
        "policy_id": "1",
        "binding_rows": "1",
        "b0_from_zone": "trust",
        "b0_to_zone": "untrust",
        "b0_security_policy": "imap-scan",
        field: value,
    }
    response = client.post("/devices/new", data=form)
    check(response)
    if response.status_code != 302:
        assert response.status_code == 400
        assert snapshot(app) == before
        if field in DEVICE_FIELDS:
            assert 'class="field-error"' in text(response), text(response)


def test_a_device_form_for_a_deleted_policy_keeps_what_was_typed(app, client, creds):
    token = csrf_token(client, "/devices/new")
    form = {
        "csrf_token": token,
        "name": "srx-typed",
        "host": "srx-typed.example",
        "port": "830",
        "user": "admin",
        "auth": "password",
        "policy_id": UNKNOWN_ID,
        "binding_rows": "0",
    }
    for policy_id in (UNKNOWN_ID, HUGE_ID, "-1"):
        response = client.post("/devices/new", data={**form, "policy_id": policy_id})
        assert response.status_code == 400
        page = text(response)
        assert "srx-typed.example" in page
        assert "choose another one" in page or "Choose one of the policies" in page


def test_an_audit_page_past_the_end_shows_the_last(client):
    for page in ("0", "-5", "abc", "99999", HUGE_ID):
        response = client.get("/audit/", query_string={"page": page})
        assert response.status_code == 200


def test_a_failed_configuration_import_stores_none_of_its_policies(app, client):
    token = csrf_token(client)
    candidates = [
        {"policy": Policy(name=name).to_dict(), "unknown": [], "warnings": []}
        for name in ("first-new", "second-new")
    ]
    for candidate in candidates:
        candidate["managed"] = True
    db = open_store(app)
    try:
        # another window takes the second name after the review was shown
        store.create_policy(db, Policy(name="second-new"))
        before = snapshot(app)
        form = {
            "csrf_token": token,
            "candidates": json.dumps(candidates),
            "chosen-0": "y",
            "name-0": "first-new",
            "chosen-1": "y",
            "name-1": "second-new",
        }
        # a clash at the insert itself leaves nothing behind either
        with pytest.raises(store.DuplicateName):
            store.create_policies(
                db, [Policy(name="first-new"), Policy(name="second-new")]
            )
        assert snapshot(app) == before
        response = client.post("/policies/import-configuration/confirm", data=form)
        assert response.status_code == 422
        assert snapshot(app) == before
    finally:
        db.close()


# -- the command line -------------------------------------------------------------


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "XDG_STATE_HOME": str(home / "state"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "binary.dat").write_bytes(b"\x00\xff\xfe\x01" * 64)
    (folder / "empty.json").write_bytes(b"")
    (folder / "wrong.json").write_text(
        '{"format": "imapdesk-policy", "version": 1, "policy": {"name": 5}}'
    )
    (folder / "nul.csv").write_bytes(
        b"name,host,port,user,policy\nsrx,\x00,1,admin,imap-policy\n"
    )
    (folder / "a-folder").mkdir()
    broken = folder / "broken"
    broken.mkdir()
    (broken / store.DB_FILENAME).write_bytes(b"\x00\xff not a database " * 100)
    data = folder / "data"
    assert run_cli(folder, "policies", "--data-dir", str(data)).returncode == 0
    return folder


CLI_CASES = [
    ("export", "--policy", "nope"),
    ("export", "--policy", "imap-policy", "--format", "xml", "--device", "nope"),
    ("export", "--policy", "imap-policy", "--out", "{files}/a-folder"),
    ("export", "--policy", "imap-policy", "--out", "{files}/missing/x.json"),
    ("export", "--policy", "imap-policy", "--device", "srx"),
    ("export", "--policy", "a\x01b"),
    ("import", "{files}/missing.json"),
    ("import", "{files}/a-folder"),
    ("import", "{files}/binary.dat"),
    ("import", "{files}/empty.json"),
    ("import", "{files}/wrong.json"),
    ("import", "{files}/nul.csv", "--policy", "x"),
    ("import", "/dev/zero"),
    ("devices", "import", "{files}/binary.dat"),
    ("devices", "import", "{files}/nul.csv"),
    ("devices", "import", "{files}/a-folder"),
    ("devices", "import", "/dev/zero"),
    ("devices", "export", "--out", "{files}/missing/x.csv"),
    ("sync", "--policy", "nope"),
    ("sync", "--policy", "imap-policy"),
    ("sync", "--policy", "imap-policy", "--confirm-minutes", "0"),
    ("sync", "--policy", "imap-policy", "--device", "nope"),
    ("policies", "--data-dir", "{files}/binary.dat"),
    ("policies", "--data-dir", "{files}/broken"),
    ("devices", "list", "--data-dir", "{files}/broken"),
]


@pytest.mark.parametrize("args", CLI_CASES, ids=lambda args: " ".join(args)[:60])
def test_bad_commands_say_why_in_one_sentence(cli_files, args):
    args = [arg.format(files=cli_files) for arg in args]
    if "--data-dir" not in args:
        args += ["--data-dir", str(cli_files / "data")]
    result = run_cli(cli_files, *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("imapdesk: ") and last.endswith("."), result.stderr
    assert last[len("imapdesk: ")][0].isupper()


@pytest.mark.parametrize(
    "args",
    [
        ("export",),
        ("sync", "--policy", "x", "--confirm-minutes", "soon"),
        ("--no-window", "--port", "99999"),
        ("--no-window", "--port", "-1"),
        ("devices",),
        ("frobnicate",),
    ],
)
def test_bad_arguments_get_a_usage_line(cli_files, args):
    result = run_cli(cli_files, *args, "--data-dir", str(cli_files / "data"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr.strip().splitlines()[-1]


# -- exports and the store ----------------------------------------------------------


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_audit_csv_cells_never_start_a_formula(db, lead):
    texts = {
        key: f"{lead}{key}(1)"
        for key in ("device_name", "host", "policy_name", "revision_label")
    }
    texts.update(
        comment=f"{lead}SUM(A1)", error=f"{lead}cmd", diff=f"{lead} x", source=lead
    )
    audit.record(
        db,
        action="sync",
        outcome=f"{lead}failed",
        started_at="2026-12-01T10:00:00+00:00",
        finished_at="2026-12-01T10:00:01+00:00",
        job_id=f"{lead}job",
        **texts,
    )
    exported = audit.export_csv(audit.list_entries(db))
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert len(rows) == 2
    for cell in rows[1]:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), rows[1]


def test_inventory_csv_cells_cannot_start_a_formula(app, client, seeded):
    # every column is validated so that none can start with a formula sign
    exported = text(client.get("/devices/export.csv"))
    for row in list(csv.reader(io.StringIO(exported, newline="")))[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row


def test_ids_beyond_sqlite_are_simply_not_found(db):
    for getter in (store.get_policy, store.get_revision, inv.get_device):
        for row_id in (2**63, -(2**63) - 1, 10**30):
            with pytest.raises(store.NotFound):
                getter(db, row_id)
    with pytest.raises(store.NotFound):
        audit.get_entry(db, 2**64)


def test_an_unreadable_database_is_a_store_error(tmp_path):
    path = tmp_path / store.DB_FILENAME
    path.write_bytes(b"\x00\xff not a database " * 100)
    with pytest.raises(store.DatabaseUnreadable, match="cannot be opened"):
        store.init_db(path)
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / store.DB_FILENAME).write_bytes(path.read_bytes())
    with pytest.raises(store.StoreError):
        create_app(app_dir)


# -- jobs -------------------------------------------------------------------------


def finished_job(client, kind: str, device: str, outcome: Outcome, data: dict):
    with client.application.app_context():
        job = jobs().start(
            kind, kind, [device], lambda job: [DeviceResult(device, outcome)], data
        )
    assert job.done.wait(5)
    return job


def test_a_preview_is_synced_once(client, seeded):
    token = csrf_token(client)
    form = {"csrf_token": token, "device": "srx-robust", "confirm_minutes": "5"}
    url = f"/sync/jobs/{seeded['job_id']}/sync"
    first = client.post(url, data=form)
    assert first.status_code == 302 and "/sync/jobs/" in first.headers["Location"]
    assert seeded["job_id"] not in first.headers["Location"]
    again = client.post(url, data=form, follow_redirects=True)
    assert "already synced from this preview" in text(again)


def test_a_rollback_needs_a_preview_of_that_rollback(client, seeded):
    token = csrf_token(client)
    device_id = int(seeded["device_id"])
    data = {"n": 3, "device_id": device_id}
    committed = finished_job(client, "rollback", "srx-robust", Outcome.SYNCED, data)
    other = finished_job(
        client,
        "rollback-preview",
        "srx-robust",
        Outcome.PREVIEWED,
        {**data, "device_id": device_id + 1},
    )
    for job in (committed, other):
        response = client.post(
            f"/devices/{device_id}/rollback",
            data={"csrf_token": token, "n": "3", "preview_job": job.id},
        )
        assert response.status_code == 400
        assert "Preview the rollback again" in text(response)


def test_a_policy_deleted_during_an_inventory_import_changes_nothing(db, monkeypatch):
    gone = store.create_policy(db, Policy(name="gone"))
    checked = inventory.save_inventory

    def delete_then_save(db_, devices):
        store.delete_policy(db_, gone.id)
        return checked(db_, devices)

    monkeypatch.setattr(inventory, "save_inventory", delete_then_save)
    data = b"name,host,port,user,policy\nsrx-late,srx.example,830,admin,gone\n"
    with pytest.raises(inventory.InvalidInventory) as raised:
        inventory.import_inventory(db, data)
    assert "no longer exists" in raised.value.problems[0].message
    assert inv.list_devices(db) == []


def test_edits_to_a_policy_deleted_meanwhile_are_kept_on_the_page(app, client):
    db = open_store(app)
    try:
        doomed = store.create_policy(db, Policy(name="doomed"))
        form = editor_form(
            Policy(name="doomed", subject="Typed before the delete"),
            csrf_token(client, f"/policies/{doomed.id}"),
            doomed.revision_id,
        )
        store.delete_policy(db, doomed.id)
        before = snapshot(app)
        response = client.post(f"/policies/{doomed.id}", data=form)
        assert response.status_code == 409
        page = text(response)
        assert "deleted in another window" in page
        assert "Typed before the delete" in page
        assert 'action="/policies/new"' in page
        assert snapshot(app) == before
    finally:
        db.close()


def test_a_key_passphrase_in_the_keyring_is_scrubbed_from_errors(db):
    from fleet import actions

    from .devices_support import DictKeyring

    kept = CredentialStore(DictKeyring())
    stored = inv.create_device(
        db,
        inv.Device.from_dict(
            {
                "name": "srx-key",
                "host": "srx-key.example",
                "user": "admin",
                "auth": "key_file",
                "key_file": "/home/admin/.ssh/id_ed25519",
            }
        ),
    )
    assert kept.save(stored.name, "passphrase-of-the-key") == "keyring"
    result = DeviceResult(
        stored.name, Outcome.FAILED, error="Bad key: passphrase-of-the-key"
    )
    actions._clean(result, kept, stored)
    assert "passphrase-of-the-key" not in result.error


def test_an_inventory_without_optional_columns_keeps_those_settings(db):
    store.ensure_default_policy(db)
    inv.create_device(
        db,
        inv.Device.from_dict(
            {
                "name": "srx-keep",
                "host": "old.example",
                "user": "admin",
                "auth": "key_file",
                "key_file": "/home/admin/.ssh/id_ed25519",
                "policy_id": 1,
                "bindings": [
                    {"from_zone": "a", "to_zone": "b", "security_policy": "c"}
                ],
            }
        ),
    )
    data = b"name,host,port,user,policy\nsrx-keep,new.example,,admin,imap-policy\n"
    inventory.import_inventory(db, data)
    kept = inv.get_device_by_name(db, "srx-keep").device
    assert kept.host == "new.example"
    assert (kept.auth, kept.key_file) == ("key_file", "/home/admin/.ssh/id_ed25519")
    assert [b.security_policy for b in kept.bindings] == ["c"]
    # a column that is there, even blank, says what the device should have
    blank = (
        b"name,host,port,user,policy,bindings,auth\n"
        b"srx-keep,new.example,,admin,imap-policy,,agent\n"
    )
    inventory.import_inventory(db, blank)
    changed = inv.get_device_by_name(db, "srx-keep").device
    assert (changed.auth, changed.key_file, changed.bindings) == ("agent", "", ())


def test_a_sync_records_the_revision_it_sent(app, monkeypatch):
    from deviceio.sync import SyncOptions
    from fleet import actions

    db = open_store(app)
    try:
        stored = inv.create_device(
            db,
            inv.Device.from_dict(
                {"name": "srx-r", "host": "srx-r.example", "user": "a", "policy_id": 1}
            ),
        )
        kept = CredentialStore(fail.Keyring())
        kept.remember(stored.name, "pw-of-srx-r")
        build = actions.build_target

        def build_then_save_elsewhere(*args, **kwargs):
            target = build(*args, **kwargs)
            # another window saves the policy while the sync is being set up
            other = open_store(app)
            try:
                store.save_policy(other, 1, Policy(subject="Saved meanwhile"))
            finally:
                other.close()
            return target

        def sent(targets, options, on_event, cancel):
            return [
                DeviceResult(t.name, Outcome.SYNCED, managed_config="<x/>")
                for t in targets
            ]

        monkeypatch.setattr(actions, "build_target", build_then_save_elsewhere)
        monkeypatch.setattr(actions.devsync, "run_sync", sent)
        actions.sync_devices(db, [stored], SyncOptions(), kept)
        state = inv.get_device(db, stored.id).sync_state
        first = store.list_revisions(db, 1)[-1]
        assert (state.revision_label, state.revision_id) == ("imap-policy r1", first.id)
    finally:
        db.close()


def focused(page: str) -> str:
    """The one tag of a page that takes the keyboard first."""
    assert page.count("autofocus") == 1
    start = page.rindex("<", 0, page.index("autofocus"))
    return page[start : page.index(">", start) + 1]


def test_the_device_form_focuses_the_first_field_to_correct(client, creds):
    assert 'id="f-name"' in focused(text(client.get("/devices/new")))
    token = csrf_token(client, "/devices/new")
    form = {"csrf_token": token, "name": "srx-ok", "host": "", "user": "admin"}
    page = text(client.post("/devices/new", data={**form, "policy_id": "1"}))
    assert 'id="f-host"' in focused(page)
    page = text(client.post("/devices/new", data={**form, "host": "h.example"}))
    assert 'id="f-policy"' in focused(page)


def test_a_failed_import_of_a_device_version_keeps_nothing(app, monkeypatch):
    from deviceio import render
    from fleet import actions

    db = open_store(app)
    try:
        stored = inv.create_device(
            db,
            inv.Device.from_dict(
                {"name": "srx-v", "host": "srx-v.example", "user": "a", "policy_id": 1}
            ),
        )
        kept = CredentialStore(fail.Keyring())
        kept.remember(stored.name, "pw-of-srx-v")
        binding = render.Binding("trust", "untrust", "imap-scan", "imap-policy")
        on_device = render.export(Policy(subject="From the device"), [binding], "xml")
        monkeypatch.setattr(actions.devsync, "fetch_managed", lambda target: on_device)
        before = snapshot(app)

        def disk_full(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(actions.inventory, "record_sync_state", disk_full)
        with pytest.raises(OSError):
            actions.import_device_version(db, stored, kept)
        assert snapshot(app) == before
        assert not db.conn.in_transaction
        monkeypatch.undo()
        monkeypatch.setattr(actions.devsync, "fetch_managed", lambda target: on_device)
        found = actions.import_device_version(db, stored, kept)
        assert found.changed and found.bindings_changed
        assert store.get_policy(db, 1).policy.subject == "From the device"
        assert inv.get_device(db, stored.id).sync_state is not None
    finally:
        db.close()
