"""Validation through the editor: limits, hostile values, nothing stored."""

from __future__ import annotations

import html
import re

import pytest

from store.model import LIMITS, Policy

from .webui_support import current, edit_form, text

LONG_DOMAIN = "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"  # 189


def _post(client, app, **changes):
    return client.post("/policies/1", data=edit_form(client, app, **changes))


def _error_for(page: str, field_id: str) -> str:
    """The text of the error shown next to a field ('' when none)."""
    match = re.search(
        rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>',
        page,
        re.S,
    )
    return html.unescape(" ".join(match.group(1).split())) if match else ""


def _assert_nothing_stored(app):
    stored = current(app)
    assert stored.revision_number == 1
    assert stored.policy == Policy()


# (field, value at the limit, value one over, message for one over)
LIMIT_CASES = [
    ("name", "a" * 63, "a" * 64, "The name is longer than 63 characters."),
    (
        "inspection_profile",
        "p" * 63,
        "p" * 64,
        "The profile name is longer than 63 characters.",
    ),
    (
        "learn_more_url",
        "https://example.com/" + "u" * (LIMITS["learn_more_url"] - 20),
        "https://example.com/" + "u" * (LIMITS["learn_more_url"] - 19),
        "The URL is longer than 2048 characters.",
    ),
    ("subject", "s" * 200, "s" * 201, "This text is longer than 200 characters."),
    (
        "custom_message",
        "m" * 4000,
        "m" * 4001,
        "This text is longer than 4000 characters.",
    ),
    (
        "custom_link_text",
        "l" * 100,
        "l" * 101,
        "This text is longer than 100 characters.",
    ),
]


@pytest.mark.parametrize(("field", "at_limit", "over", "message"), LIMIT_CASES)
def test_text_limits(client, app, field, at_limit, over, message):
    assert len(at_limit) == LIMITS[field] and len(over) == LIMITS[field] + 1

    refused = _post(client, app, **{field: over})

    assert refused.status_code == 422
    assert _error_for(text(refused), field) == message
    assert 'aria-invalid="true"' in text(refused)
    assert f'aria-describedby="{field}-hint {field}-error"' in text(refused)
    _assert_nothing_stored(app)

    accepted = _post(client, app, **{field: at_limit})

    assert accepted.status_code == 302
    assert getattr(current(app).policy, field) == at_limit


def test_email_limit(client, app):
    at_limit = "a" * 64 + "@" + LONG_DOMAIN
    over = "a" * 64 + "@x" + LONG_DOMAIN
    assert len(at_limit) == LIMITS["email"] and len(over) == LIMITS["email"] + 1

    refused = _post(client, app, administrators=[{"email": over}])

    assert refused.status_code == 422
    assert _error_for(text(refused), "administrators-0-email") == (
        "An email address cannot be longer than 254 characters."
    )
    _assert_nothing_stored(app)
    accepted = _post(client, app, administrators=[{"email": at_limit}])
    assert accepted.status_code == 302
    assert current(app).policy.administrators[0].email == at_limit


def test_note_limit(client, app):
    form = edit_form(client, app, subject="Changed")
    form["note"] = "n" * 501

    refused = client.post("/policies/1", data=form)

    assert refused.status_code == 422
    assert _error_for(text(refused), "note") == (
        "This text is longer than 500 characters."
    )
    _assert_nothing_stored(app)
    form["note"] = "n" * 500
    assert client.post("/policies/1", data=form).status_code == 302


def test_server_count_limit(client, app):
    servers = [f"imap{i}.example.com" for i in range(LIMITS["servers"] + 1)]

    refused = _post(client, app, server_scope="specific", servers=servers)

    assert refused.status_code == 422
    assert _error_for(text(refused), "servers") == (
        "At most 200 IMAP servers can be listed."
    )
    _assert_nothing_stored(app)
    accepted = _post(client, app, server_scope="specific", servers=servers[:-1])
    assert accepted.status_code == 302
    assert len(current(app).policy.servers) == 200


def test_administrator_count_limit(client, app):
    admins = [{"email": f"a{i}@example.com"} for i in range(101)]

    refused = _post(client, app, administrators=admins)

    assert refused.status_code == 422
    assert _error_for(text(refused), "administrators") == (
        "At most 100 administrators can be listed."
    )
    _assert_nothing_stored(app)
    assert _post(client, app, administrators=admins[:-1]).status_code == 302


# (field, hostile value, field id the message sits next to, part of it)
REFUSED_CASES = [
    ("name", "p; delete", "name", "must start with a letter"),
    ("name", "<script>x</script>", "name", "must start with a letter"),
    ("name", "a\x00b", "name", "must start with a letter"),
    ("name", "", "name", "Enter a policy name."),
    ("learn_more_url", "javascript:alert(1)", "learn_more_url", "http:// or https://"),
    ("learn_more_url", "JaVaScRiPt:alert(1)", "learn_more_url", "http:// or https://"),
    ("learn_more_url", "data:text/html,<b>x</b>", "learn_more_url", "http://"),
    ("learn_more_url", "https://", "learn_more_url", "must name a web site"),
    ("learn_more_url", "https://a.example/\x07", "learn_more_url", "control"),
    ("subject", "Hi\r\nBcc: victim@example.com", "subject", "must be one line"),
    ("subject", "Hi\nBcc: victim@example.com", "subject", "must be one line"),
    ("subject", "Bell\x07", "subject", "must be one line"),
    ("subject", "Right-to-left\u202eoverride", "subject", "must be one line"),
    ("subject", "   ", "subject", "Enter a subject"),
    ("custom_message", "Null\x00byte", "custom_message", "control characters"),
    ("custom_link_text", "tab\there", "custom_link_text", "must be one line"),
    ("inspection_profile", "prof ile", "inspection_profile", "must start with"),
    ("action", "destroy", "action", "must be one of: block, permit."),
    ("server_scope", "some", "server_scope", "must be one of: all, specific."),
    ("verdict_threshold", "11", "verdict_threshold", "must be one of"),
    ("fallback_action", "drop", "fallback_action", "must be one of: permit, block."),
]


@pytest.mark.parametrize(("field", "value", "field_id", "message"), REFUSED_CASES)
def test_hostile_values_are_refused_next_to_their_field(
    client, app, field, value, field_id, message
):
    response = _post(client, app, **{field: value})

    assert response.status_code == 422
    assert message in _error_for(text(response), field_id)
    assert "Nothing was saved." in text(response)
    assert "<script>x</script>" not in text(response)
    _assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("10.0.0.1", "is an IP address"),
        ("2001:db8::1", "is an IP address"),
        ("[2001:db8::1]", "is an IP address"),
        ("[::1]", "is an IP address"),
        ("fe80::1%eth0", "is an IP address"),
        ("imap server.example", "cannot hold spaces"),
        ("-bad-.example", "not a valid hostname"),
        ("<script>.example", "not a valid hostname"),
        ("a" * 64 + ".example", "not a valid hostname"),
        ("imap.example\x00", "control characters"),
    ],
)
def test_bad_servers_are_refused_on_their_row(client, app, server, message):
    servers = ["good.example", server]

    response = _post(client, app, server_scope="specific", servers=servers)

    page = text(response)
    assert response.status_code == 422
    assert message in _error_for(page, "servers-1")
    assert _error_for(page, "servers-0") == ""
    assert "IMAP server 2:" in page  # in the summary at the top
    _assert_nothing_stored(app)


def test_duplicate_server_and_administrator_are_refused(client, app):
    response = _post(
        client,
        app,
        server_scope="specific",
        servers=["imap.example", "IMAP.example."],
        administrators=[{"email": "a@example.com"}, {"email": "A@example.com"}],
    )

    page = text(response)
    assert "imap.example is already listed." in _error_for(page, "servers-1")
    assert "already listed" in _error_for(page, "administrators-1-email")
    _assert_nothing_stored(app)


def test_specific_scope_needs_a_server(client, app):
    response = _post(client, app, server_scope="specific", servers=[])

    assert _error_for(text(response), "servers") == (
        "Add at least one IMAP server, or choose all IMAP servers."
    )
    _assert_nothing_stored(app)


@pytest.mark.parametrize("email", ["not-an-email", "<script>@x", "a@b@c", "a@10.0.0.1"])
def test_bad_administrator_email_is_refused_on_its_row(client, app, email):
    response = _post(client, app, administrators=[{"email": email}])

    assert response.status_code == 422
    assert "not a valid email address" in _error_for(
        text(response), "administrators-0-email"
    )
    _assert_nothing_stored(app)


def test_refused_form_keeps_every_typed_value(client, app):
    response = _post(
        client,
        app,
        subject="Kept <b>as typed</b>",
        learn_more_url="javascript:alert(1)",
        server_scope="specific",
        servers=["keep.example", "10.1.1.1"],
    )

    page = text(response)
    assert 'value="Kept &lt;b&gt;as typed&lt;/b&gt;"' in page
    assert 'value="javascript:alert(1)"' in page
    assert 'value="keep.example"' in page and 'value="10.1.1.1"' in page
    assert 'data-dirty="true"' in page


def test_markup_and_non_ascii_are_stored_and_shown_escaped(client, app):
    hostile = {
        "subject": 'Schädlich <script>alert("s")</script> – 警告',
        "custom_message": "<img src=x onerror=alert(1)>\n\n\"quoted\" & 'single'",
        "custom_link_text": "</a><a href='javascript:alert(1)'>click",
        "learn_more_url": 'https://example.com/?q="><script>alert(1)</script>',
    }

    response = _post(client, app, **hostile)

    assert response.status_code == 302
    stored = current(app).policy
    for key, value in hostile.items():
        assert getattr(stored, key) == value
    for url in ("/policies/1", "/policies/1/previews/", "/policies/1/history/"):
        page = text(client.get(url))
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page, url
        assert "<a href='javascript" not in page, url
    editor = text(client.get("/policies/1"))
    assert "Schädlich &lt;script&gt;" in editor
    assert "警告" in editor
