"""A device password never reaches the database, the logs or any export."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from keyring.backends import fail

import store
from store.credentials import CredentialStore
from webui.devices import CREDENTIALS

from .devices_support import (
    add_device,
    run_app,
    trust_from_job_page,
    wait_job,
    write_inventory,
)
from .webui_support import csrf_token, text

SECRET = "Xq7-never-store-this-9Lm"


@pytest.fixture
def debug_log(tmp_path: Path):
    """Every log record of this process, at DEBUG, in a file."""
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def _leaks(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and SECRET.encode() in path.read_bytes():
            found.append(str(path))
    return found


def test_the_password_is_nowhere_on_disk(
    app, client, data_dir, tmp_path, debug_log, fakesrx
):
    app.extensions[CREDENTIALS] = CredentialStore(fail.Keyring())
    token = csrf_token(client, "/devices/new")
    right = fakesrx(hostname="right", password=SECRET)
    wrong = fakesrx(hostname="wrong", password="something-else")
    ids = [
        add_device(client, token, right, "right", password=SECRET),
        add_device(client, token, wrong, "wrong", password=SECRET),
    ]
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    trust_from_job_page(client, wait_job(client, response)[0])

    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    job_id, state = wait_job(client, response)
    outcomes = {row["name"]: row["outcome"] for row in state["devices"]}
    assert outcomes == {"right": "previewed", "wrong": "failed"}
    response = client.post(
        f"/sync/jobs/{job_id}/sync",
        data={"csrf_token": token, "device": ["right"], "confirm_minutes": "5"},
    )
    wait_job(client, response)
    for device_id in ids:
        client.post(f"/devices/{device_id}/test", data={"csrf_token": token})

    # the command line too, with its own log file
    home = tmp_path / "home"
    home.mkdir()
    csv_file = write_inventory(tmp_path / "more.csv", [fakesrx(hostname="cli")])
    assert run_app(home, data_dir, "devices", "import", str(csv_file)).returncode == 0
    run_app(
        home,
        data_dir,
        "sync",
        "--policy",
        "imap-policy",
        "--accept-new-host-keys",
        password=SECRET,
    )

    exports = tmp_path / "exports"
    exports.mkdir()
    for name, url in (
        ("inventory.csv", "/devices/export.csv"),
        ("audit.csv", "/audit/export.csv"),
        ("audit.html", "/audit/"),
        ("devices.html", "/devices/"),
        ("job.json", f"/sync/jobs/{job_id}/status"),
        ("job.html", f"/sync/jobs/{job_id}"),
    ):
        (exports / name).write_bytes(client.get(url).get_data())
    for entry in range(1, 20):
        response = client.get(f"/audit/{entry}")
        if response.status_code == 200:
            (exports / f"entry-{entry}.html").write_bytes(response.get_data())
    cli_export = run_app(home, data_dir, "devices", "export")
    (exports / "cli-inventory.csv").write_text(cli_export.stdout)

    log_files = list((home / "state").rglob("*.log"))
    assert log_files, "the command line wrote no log file"
    assert debug_log.stat().st_size > 0
    assert "wrong" in text(client.get("/audit/?outcome=failed"))
    # the database with its write-ahead log, every log, every export
    assert _leaks(data_dir) == []
    assert _leaks(home) == []
    assert _leaks(exports) == []
    assert SECRET.encode() not in debug_log.read_bytes()
    db = store.connect(data_dir / store.DB_FILENAME)
    try:
        dumped = "\n".join(db.conn.iterdump())
    finally:
        db.close()
    assert SECRET not in dumped
