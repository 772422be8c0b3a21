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
