"""The local server's guards seen through the pages: Host, launch, CSRF, CSP."""

from __future__ import annotations

import http.client
import logging
import re
from urllib.parse import urlsplit

import pytest

from store.model import Policy
from webui import create_app
from webui.server import LocalServer

from .webui_support import csrf_token, current, edit_form, text

PAGES = (
    "/",
    "/policies/new",
    "/policies/1",
    "/policies/1/rename",
    "/policies/1/delete",
    "/policies/import",
    "/policies/1/history/",
    "/policies/1/previews/",
)


@pytest.fixture
def csrf_app(data_dir):
    """An application with CSRF protection switched on explicitly."""
    return create_app(
        data_dir, config={"ALLOWED_HOSTS": ["localhost"], "WTF_CSRF_ENABLED": True}
    )


@pytest.fixture
def csrf_client(csrf_app):
    client = csrf_app.test_client()
    guard = csrf_app.extensions["imapdesk_guard"]
    assert client.get(f"/launch/{guard.launch_secret}").status_code == 302
    return client


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1", "localhost:9999"])
def test_foreign_host_is_refused(client, host):
    response = client.get("/", headers={"Host": host})

    assert response.status_code == 400
    assert "not served here" in text(response)
    assert "imap-policy" not in text(response)


def test_request_without_the_launch_cookie_is_refused(anonymous_client, app):
    for url in PAGES:
        response = anonymous_client.get(url)
        assert response.status_code == 403, url
        assert "answers only its own window" in text(response)
        assert "imap-policy" not in text(response)
    forged = {"name": "stolen", "subject": "x", "base_revision": "1", "op": "save"}
    response = anonymous_client.post("/policies/1", data=forged)
    # the CSRF check runs first and refuses it before the cookie check would
    assert response.status_code in (400, 403)
    assert current(app).revision_number == 1


def test_launch_secret_works_only_once(client, app):
    guard = app.extensions["imapdesk_guard"]
    second = app.test_client()

    response = second.get(f"/launch/{guard.launch_secret}")

    assert response.status_code == 403
    assert "already been used" in text(response)
    assert second.get("/").status_code == 403


def test_wrong_launch_secret_is_refused(anonymous_client):
    response = anonymous_client.get("/launch/not-the-secret")

    assert response.status_code == 403


def test_launch_cookie_is_httponly_and_strict(app):
    guard = app.extensions["imapdesk_guard"]
    response = app.test_client().get(f"/launch/{guard.launch_secret}")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert guard.launch_secret not in cookie


def test_post_without_csrf_token_is_refused_and_stores_nothing(csrf_client, csrf_app):
    form = edit_form(csrf_client, csrf_app, subject="Forged")
    del form["csrf_token"]

    response = csrf_client.post("/policies/1", data=form)

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert "Reload the page" in text(response)
    assert current(csrf_app).policy == Policy()


def test_post_with_a_wrong_csrf_token_is_refused(csrf_client, csrf_app):
    form = edit_form(csrf_client, csrf_app, subject="Forged")
    form["csrf_token"] = "x" + form["csrf_token"][1:]

    assert csrf_client.post("/policies/1", data=form).status_code == 400
    assert current(csrf_app).revision_number == 1


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/policies/1/delete", {}),
        ("/policies/1/rename", {"name": "renamed", "base_revision": "1"}),
        ("/policies/new", {"name": "created", "subject": "x", "op": "save"}),
        ("/policies/1/previews/", {"sender": "a@example.com"}),
        ("/policies/import", {}),
    ],
)
def test_every_form_needs_its_token(csrf_client, csrf_app, url, data):
    response = csrf_client.post(url, data=data)

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert current(csrf_app).policy == Policy()


def test_token_from_another_session_is_refused(csrf_app, csrf_client):
    token = csrf_token(csrf_client, "/policies/1/delete")
    other = csrf_app.test_client()
    other.set_cookie(
        "imapdesk_auth", csrf_app.extensions["imapdesk_guard"].cookie_value
    )

    response = other.post("/policies/1/delete", data={"csrf_token": token})

    assert response.status_code == 400
    assert current(csrf_app).revision_number == 1


def test_pages_are_strict_about_scripts_and_outside_requests(client):
    for url in PAGES:
        response = client.get(url)
        page = text(response)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'self'" in csp
        assert not re.search(r"<script(?![^>]*\ssrc=)", page), url
        assert not re.search(r"\son[a-z]+=", page), url
        assert not re.search(r'(src|href)="(https?:)?//', page), url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_preview_page_allows_only_the_email_stylesheet(client):
    from webui.messages import EMAIL_CSS_HASH

    csp = client.get("/policies/1/previews/").headers["Content-Security-Policy"]
    other = client.get("/policies/1").headers["Content-Security-Policy"]

    assert f"style-src 'self' '{EMAIL_CSS_HASH}';" in csp
    assert "style-src 'self';" in other
    assert "unsafe" not in csp


def test_preview_frames_are_sandboxed_without_scripts(client):
    page = text(client.get("/policies/1/previews/"))

    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 3
    for frame in frames:
        assert re.search(r"\ssandbox[\s>]", frame)
        assert "allow-scripts" not in frame and "allow-same-origin" not in frame


def test_server_log_leaves_out_the_launch_secret(data_dir, caplog):
    server = LocalServer(create_app(data_dir))
    server.start()
    try:
        with caplog.at_level(logging.INFO):
            connection = http.client.HTTPConnection("127.0.0.1", server.port)
            connection.request("GET", urlsplit(server.launch_url).path)
            assert connection.getresponse().status == 302
            connection.close()
    finally:
        server.shutdown()

    secret = server.app.extensions["imapdesk_guard"].launch_secret
    assert "/launch/(secret)" in caplog.text
    assert secret not in caplog.text
