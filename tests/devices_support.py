"""Shared by the device tests: a keyring in a dict, pages, jobs, the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from keyring.backend import KeyringBackend

from .desktop_support import ROOT
from .webui_support import csrf_token, text

PASSWORD = "fake-srx-password"
JOB_RE = re.compile(r"/sync/jobs/([A-Za-z0-9_-]+)$")


class DictKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict, for tests."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        del self.items[(service, username)]


def add_device(client, token, srx, name="srx-a", password=PASSWORD, **extra):
    form = {
        "csrf_token": token,
        "name": name,
        "host": srx.host,
        "port": str(srx.port),
        "user": "admin",
        "auth": "password",
        "password": password,
        "policy_id": "1",
        "binding_rows": "1",
        "b0_from_zone": "trust",
        "b0_to_zone": "untrust",
        "b0_security_policy": "imap-scan",
        "b0_ssl_proxy": "",
    }
    form.update(extra)
    response = client.post("/devices/new", data=form)
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def delete_elsewhere(client, device_id: int) -> None:
    """Delete a device as another window would."""
    token = csrf_token(client, f"/devices/{device_id}/delete")
    response = client.post(f"/devices/{device_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302


def wait_job(client, response) -> tuple[str, dict]:
    """Follow a redirect to a job page and wait for the job to finish."""
    assert response.status_code == 302, text(response)
    job_id = JOB_RE.search(response.headers["Location"]).group(1)
    deadline = time.monotonic() + 60
    while True:
        state = client.get(f"/sync/jobs/{job_id}/status").get_json()
        if state["done"]:
            return job_id, state
        assert time.monotonic() < deadline, state
        time.sleep(0.1)


def outcomes(state: dict) -> dict[str, str]:
    return {row["name"]: row["outcome"] for row in state["devices"]}


def trust_from_job_page(client, job_id: str, devices=None):
    """Tick the first-contact keys on a job page (all, or ``devices``) and
    trust them; returns the redirect."""
    page = text(client.get(f"/sync/jobs/{job_id}"))
    token = re.search(
        r'action="/sync/jobs/[^"]+/trust-keys".*?name="csrf_token" value="([^"]+)"',
        page,
        re.S,
    )
    assert token, page
    shown = re.findall(r'name="device" value="([^"]+)" id="trust-', page)
    response = client.post(
        f"/sync/jobs/{job_id}/trust-keys",
        data={"csrf_token": token.group(1), "device": devices or shown},
    )
    assert response.status_code == 302
    return response


def run_app(home: Path, data_dir: Path, *args: str, password: str | None = PASSWORD):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IMAPDESK_", "XDG_"))
    }
    env.update(
        HOME=str(home),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        # this computer has no keyring, whatever the machine running the tests
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    if password is not None:
        env["IMAPDESK_DEVICE_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "app.py", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_inventory(path: Path, devices) -> Path:
    lines = ["name,host,port,user,policy,bindings"]
    for srx in devices:
        lines.append(
            f"{srx.device.hostname},{srx.host},{srx.port},admin,imap-policy,"
            "trust>untrust:imap-scan"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def new_ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
