"""Fixtures shared by the test modules: a data folder, an app and its client."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import fail

import store
from store.credentials import CredentialStore
from webui import create_app
from webui.devices import CREDENTIALS

from .webui_support import csrf_token

# the simulated SRX devices: the ``fakesrx`` fixture
pytest_plugins = ["tests.fakesrx.pytest_plugin"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data folder for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def db(data_dir: Path):
    """A store connection on a fresh database file."""
    path = data_dir / store.DB_FILENAME
    store.init_db(path)
    connection = store.connect(path)
    yield connection
    connection.close()


@pytest.fixture
def app(data_dir: Path):
    """The application over a fresh data folder, as the window would see it."""
    return create_app(data_dir, config={"ALLOWED_HOSTS": ["localhost"]})


@pytest.fixture
def client(app):
    """A test client that has been through the launch exchange."""
    client = app.test_client()
    guard = app.extensions["imapdesk_guard"]
    response = client.get(f"/launch/{guard.launch_secret}")
    assert response.status_code == 302
    return client


@pytest.fixture
def anonymous_client(app):
    """A test client that never got the launch secret."""
    return app.test_client()


@pytest.fixture
def creds(app) -> CredentialStore:
    """No keyring on this computer: the passwords a test types stay in memory."""
    kept = CredentialStore(fail.Keyring())
    app.extensions[CREDENTIALS] = kept
    return kept


@pytest.fixture
def token(client) -> str:
    """A CSRF token for the window's forms."""
    return csrf_token(client, "/devices/new")
