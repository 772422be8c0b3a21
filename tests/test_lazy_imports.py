"""Start-up stays light: the device stack is imported only for device work.

junos-eznc's namespace-package hook creates an empty ``jnpr`` module in every
interpreter, so only ``jnpr.*`` submodules count as junos-eznc being loaded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from .desktop_support import ROOT

HEAVY = ("jnpr.", "ncclient", "paramiko", "webview", "PySide6")

CHECK = """
import sys
heavy = {heavy!r}
loaded = sorted(
    m for m in sys.modules
    if m.startswith(heavy) and m != "jnpr"
)
assert not loaded, "imported at start-up: " + ", ".join(loaded[:10])
print("light")
"""


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code) + CHECK.format(heavy=HEAVY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_start_up_is_light():
    result = run_python(
        """
        import app, store, webui
        app.build_parser()
        """
    )

    assert result.stdout.strip() == "light", result.stderr


def test_serving_the_policy_pages_is_light(tmp_path):
    result = run_python(
        f"""
        import app
        from webui import create_app

        flask_app = create_app({str(tmp_path)!r}, config={{
            "ALLOWED_HOSTS": ["localhost"], **app.app_config()}})
        client = flask_app.test_client()
        guard = flask_app.extensions["imapdesk_guard"]
        assert client.get("/launch/" + guard.launch_secret).status_code == 302
        for path in ("/", "/policies/1", "/policies/1/export.json", "/about"):
            assert client.get(path).status_code == 200, path
        """
    )

    assert result.stdout.strip() == "light", result.stderr


DEVICE_STACK = (
    "deviceio.sync",
    "deviceio.workflow",
    "deviceio.driver",
    "fleet.actions",
    "keyring",
)

SERVE = """
import sys

import app
import store
from store import devices
from webui import create_app

device_stack = {stack!r}


def loaded():
    return sorted(m for m in device_stack if m in sys.modules)


flask_app = create_app({data_dir!r}, config={{
    "ALLOWED_HOSTS": ["localhost"], **app.app_config()}})
assert not loaded(), "imported by create_app: " + ", ".join(loaded())

client = flask_app.test_client()
guard = flask_app.extensions["imapdesk_guard"]
assert client.get("/launch/" + guard.launch_secret).status_code == 302
for path in ("/", "/policies/1"):
    assert client.get(path).status_code == 200, path
assert not loaded(), "imported by the policy pages: " + ", ".join(loaded())

db = store.connect(flask_app.config["DATABASE"])
device = devices.Device.from_dict(
    {{"name": "srx1", "host": "192.0.2.1", "user": "admin", "policy_id": 1}}
)
stored = devices.create_device(db, device)
db.close()
for path in ("/devices/", f"/devices/{{stored.id}}", "/sync/"):
    assert client.get(path).status_code == 200, path
print("served")
"""


def test_policy_pages_leave_the_device_stack_unloaded(tmp_path):
    code = SERVE.format(stack=DEVICE_STACK, data_dir=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip() == "served", result.stderr


def test_every_deviceio_name_is_found_when_first_used():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import deviceio\n"
            "for name in deviceio.__all__:\n"
            "    getattr(deviceio, name)\n"
            "from deviceio import Binding, render_load\n"
            "print(sorted(deviceio._MODULE_OF) == sorted(deviceio.__all__))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip() == "True", result.stderr
