"""Previewing the three messages of the values typed in the editor, unsaved."""

from __future__ import annotations

import sqlite3

import lxml.html
import pytest

import store
from store.model import LIMITS, Policy

from .webui_support import csrf_token, current, edit_form, editor_form, text

MESSAGE = "First line <b>not bold</b>\n\nSecond paragraph."
ADMINS = [
    {"email": "soc@example.com", "block": True, "unblock": False},
    {"email": "desk@example.com", "block": False, "unblock": True},
]


def database(app) -> list[str]:
    """Every row of the application's database, as SQL."""
    connection = sqlite3.connect(app.config["DATABASE"])
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def typed_form(client, app, note: str = "", **changes) -> dict[str, str]:
    """The editor form of policy 1 with some values typed over, no button."""
    form = edit_form(
        client,
        app,
        **{
            "name": "branch-office",
            "subject": "Blocked: <attachment>",
            "custom_message": MESSAGE.replace("\n", "\r\n"),
            "administrators": ADMINS,
            "verdict_threshold": "7",
            **changes,
        },
    )
    del form["op"]
    form["note"] = note
    return form


def previews(page: str) -> dict[str, lxml.html.HtmlElement]:
    tree = lxml.html.fromstring(page)
    return {
        kind: tree.get_element_by_id(f"preview-{kind}")
        for kind in ("end-user", "admin-block", "admin-unblock")
    }


def headers(section) -> dict[str, str]:
    names = section.xpath(".//dl[@class='headers']/dt/text()")
    values = [dd.text_content() for dd in section.xpath(".//dl[@class='headers']/dd")]
    return dict(zip(names, values, strict=True))


def mail(section) -> tuple[lxml.html.HtmlElement, str]:
    """The HTML part, parsed from its frame, and the plain-text part."""
    frame = section.xpath(".//iframe")[0]
    plain = section.xpath(".//pre[@class='plain']")[0].text_content()
    return lxml.html.fromstring(frame.get("srcdoc")), plain


def textarea(tree, field_id: str) -> str:
    """A textarea's value, without the line break that may open its content."""
    content = tree.get_element_by_id(field_id).text_content()
    return content.removeprefix("\r").removeprefix("\n")


def back_form(page: str) -> tuple[str, dict[str, str]]:
    """Where the preview page's form goes, and what it sends to go back."""
    form = lxml.html.fromstring(page).xpath("//form[@method='post']")[0]
    data = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    data["op"] = "edit"
    return form.get("action"), data


def test_editor_offers_the_preview_without_scripts(client):
    page = lxml.html.fromstring(text(client.get("/policies/1")))

    (button,) = page.xpath("//button[@id='preview-messages']")
    assert button.get("type") == "submit"
    assert button.get("formaction") == "/policies/1/preview"
    assert button.get("accesskey") == "p"
    assert "Ctrl+Shift+P" in button.get("title")
    assert button.text_content() == "Preview messages"
    new = lxml.html.fromstring(text(client.get("/policies/new")))
    assert new.get_element_by_id("preview-messages").get("formaction") == (
        "/policies/new/preview"
    )


def test_preview_shows_the_typed_values_in_all_three_messages(client, app):
    before = database(app)

    response = client.post("/policies/1/preview", data=typed_form(client, app))

    assert response.status_code == 200
    page = text(response)
    assert "Preview, not saved" in page
    assert "Not saved." in page
    assert "are of the saved policy only" in page
    assert "Download .eml" not in page
    end_user, block, unblock = previews(page).values()
    assert headers(end_user)["Subject"] == "Blocked: <attachment>"
    html, plain = mail(end_user)
    assert html.xpath("//h1")[0].text_content() == "Blocked: <attachment>"
    assert [p.text_content() for p in html.xpath("//p")][:2] == [
        "First line <b>not bold</b>",
        "Second paragraph.",
    ]
    assert html.xpath("//b") == []
    assert plain.startswith(MESSAGE + "\n")
    assert headers(block)["To"] == "soc@example.com"
    assert headers(unblock)["To"] == "desk@example.com"
    for section in (block, unblock):
        html, plain = mail(section)
        for part in (html.text_content(), plain):
            assert "IMAP policy branch-office" in part
            assert "threshold 7 of 10" in part
    assert len(lxml.html.fromstring(page).xpath("//iframe[@sandbox='']")) == 3
    csp = response.headers["Content-Security-Policy"]
    assert "sha256-" in csp and "unsafe" not in csp
    assert database(app) == before
    assert current(app).revision_number == 1
    assert current(app).policy == Policy()


def test_back_to_the_editor_keeps_the_typed_values(client, app):
    preview = text(client.post("/policies/1/preview", data=typed_form(client, app)))
    action, data = back_form(preview)

    response = client.post(action, data=data)

    assert action == "/policies/1"
    assert response.status_code == 200
    page = lxml.html.fromstring(text(response))
    assert page.get_element_by_id("name").get("value") == "branch-office"
    assert page.get_element_by_id("subject").get("value") == "Blocked: <attachment>"
    assert textarea(page, "custom_message") == MESSAGE
    assert page.get_element_by_id("verdict_threshold").value == "7"
    emails = [page.get_element_by_id(f"administrators-{i}-email") for i in (0, 1)]
    assert [e.get("value") for e in emails] == [a["email"] for a in ADMINS]
    assert page.get_element_by_id("administrators-0-block").checked
    assert not page.get_element_by_id("administrators-0-unblock").checked
    assert not page.get_element_by_id("administrators-1-block").checked
    assert page.get_element_by_id("preview-messages").get("autofocus") is not None
    assert "You have unsaved changes." in text(response)
    assert current(app).revision_number == 1


def test_saving_from_the_preview_saves_the_typed_values(client, app):
    preview = text(client.post("/policies/1/preview", data=typed_form(client, app)))
    action, data = back_form(preview)
    data["op"] = "save"

    response = client.post(action, data=data)

    assert response.status_code == 302
    stored = current(app)
    assert stored.revision_number == 2
    assert stored.policy.subject == "Blocked: <attachment>"
    assert stored.policy.custom_message == MESSAGE


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"learn_more_url": "javascript:alert(1)"}, "learn_more_url", "http://"),
        ({"name": "bad name!"}, "name", "letter"),
        ({"subject": "two\nlines"}, "subject", "one line"),
        ({"note": "n" * (LIMITS["note"] + 1)}, "note", "longer than"),
        (
            {"administrators": [{"email": "not-an-address"}]},
            "administrators-0-email",
            "",
        ),
    ],
)
def test_invalid_values_show_errors_and_store_nothing(
    client, app, changes, field_id, message
):
    before = database(app)
    form = typed_form(client, app, **changes)

    response = client.post("/policies/1/preview", data=form)

    assert response.status_code == 422
    page = text(response)
    tree = lxml.html.fromstring(page)
    assert message in tree.get_element_by_id(f"{field_id}-error").text_content()
    assert tree.get_element_by_id(field_id).get("aria-invalid") == "true"
    assert "Nothing was saved." in page
    assert "<iframe" not in page
    assert tree.xpath("//form[@data-guard]")[0].get("action") == "/policies/1"
    assert textarea(tree, "custom_message") == MESSAGE
    assert database(app) == before


def test_a_name_another_policy_has_is_refused_as_saving_refuses_it(client, app):
    db = store.connect(app.config["DATABASE"])
    store.create_policy(db, Policy(name="other"))
    db.close()
    before = database(app)

    response = client.post(
        "/policies/1/preview", data=typed_form(client, app, name="OTHER")
    )

    assert response.status_code == 422
    assert "already exists" in text(response)
    assert database(app) == before


def test_preview_of_a_new_policy_creates_nothing(client, app):
    before = database(app)
    token = csrf_token(client)
    form = editor_form(Policy(name="fresh", subject="Fresh subject"), token)
    del form["op"]

    response = client.post("/policies/new/preview", data=form)

    assert response.status_code == 200
    assert headers(previews(text(response))["end-user"])["Subject"] == "Fresh subject"
    action, data = back_form(text(response))
    assert action == "/policies/new"
    assert database(app) == before
    back = client.post(action, data=data)
    assert "Create policy" in text(back)
    assert 'value="fresh"' in text(back)
    refused = client.post("/policies/new/preview", data={**form, "name": "imap-policy"})
    assert refused.status_code == 422
    assert "already exists" in text(refused)
    assert database(app) == before


@pytest.mark.parametrize(
    "junk",
    [
        {"verdict_threshold": "eleven"},
        {"action": "explode"},
        {"servers-0": "imap.example\r\nBcc: x"},
        {"administrators-0-block": "maybe"},
        {"base_revision": "not a number"},
        {"servers-99999": "x.example"},
    ],
)
def test_unexpected_values_never_fail_the_page(client, app, junk):
    before = database(app)
    form = {**typed_form(client, app), **junk}

    response = client.post("/policies/1/preview", data=form)

    assert response.status_code in (200, 422)
    assert database(app) == before


def test_preview_of_a_policy_deleted_meanwhile_keeps_the_typed_values(client, app):
    form = typed_form(client, app)
    db = store.connect(app.config["DATABASE"])
    store.delete_policy(db, 1)
    db.close()

    response = client.post("/policies/1/preview", data=form)

    assert response.status_code == 409
    assert "deleted in another window" in text(response)
    assert 'value="branch-office"' in text(response)


def test_preview_needs_the_form_token(client, app):
    form = typed_form(client, app)
    del form["csrf_token"]

    response = client.post("/policies/1/preview", data=form)

    assert response.status_code == 400


def test_preview_address_leads_back_to_the_editor(client):
    assert client.get("/policies/1/preview").location == "/policies/1"
    assert client.get("/policies/new/preview").location == "/policies/new"
