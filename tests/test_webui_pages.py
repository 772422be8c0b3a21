"""The policy pages through the test client: list, edit, lists, history."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import lxml.html

import store
from store.model import Administrator, Policy

from .webui_support import (
    csrf_token,
    current,
    edit_form,
    editor_form,
    input_tag,
    is_checked,
    open_store,
    text,
)


def test_launch_leads_to_the_policy_list(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "imap-policy" in text(response)
    assert 'href="/policies/new"' in text(response)


def test_every_page_renders(client):
    for url in (
        "/",
        "/policies/new",
        "/policies/1",
        "/policies/1/rename",
        "/policies/1/delete",
        "/policies/import",
        "/policies/1/history/",
        "/policies/1/previews/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<title>" in text(response)


def test_editor_shows_labels_limits_and_groups(client):
    page = text(client.get("/policies/1"))

    for label in (
        "Action to take",
        "IMAP Server",
        "IMAP Servers",
        "Learn More Link URL",
        "Subject",
        "Custom Message",
        "Custom Link Text",
        "Block Notifications",
        "Unblock Notifications",
        "Email Notifications for End Users",
        "Email Notifications for Administrators",
        "Inspection profile",
        "Verdict threshold",
        "Log IMAP notifications",
        "Fallback action",
    ):
        assert label in page, label
    assert 'maxlength="4000"' in page
    assert "Up to 4,000 characters." in page
    assert 'maxlength="200"' in page and 'maxlength="63"' in page
    tree = lxml.html.fromstring(page)
    current = tree.xpath('string(//nav[@class="tabs"]/a[@aria-current="page"])')
    assert current.strip() == "Settings"
    new = lxml.html.fromstring(text(client.get("/policies/new")))
    assert new.xpath('string(//nav[@class="breadcrumb"]/span[last()])') == (
        "New policy"
    )


def test_save_writes_one_revision_with_its_note(client, app):
    form = edit_form(client, app, subject="Attachment blocked", action="permit")
    form["note"] = "quieter subject"

    response = client.post("/policies/1", data=form)

    assert response.status_code == 302
    stored = current(app)
    assert stored.policy.subject == "Attachment blocked"
    assert stored.policy.action == "permit"
    assert stored.revision_number == 2
    page = text(client.get(response.location))
    assert "Saved policy imap-policy as revision 2." in page
    db = open_store(app)
    assert store.list_revisions(db, 1)[0].note == "quieter subject"
    db.close()


def test_saving_unchanged_writes_no_revision(client, app):
    response = client.post("/policies/1", data=edit_form(client, app))

    assert response.status_code == 302
    assert current(app).revision_number == 1
    assert "Nothing changed" in text(client.get(response.location))


def test_create_policy(client, app):
    token = csrf_token(client, "/policies/new")
    policy = Policy(name="branch", server_scope="specific", servers=("imap.example",))

    response = client.post("/policies/new", data=editor_form(policy, token))

    assert response.status_code == 302
    db = open_store(app)
    assert store.get_policy_by_name(db, "branch").policy == policy
    db.close()


def test_new_policy_with_taken_name_is_refused_next_to_the_name(client, app):
    token = csrf_token(client, "/policies/new")

    response = client.post(
        "/policies/new", data=editor_form(Policy(name="IMAP-policy"), token)
    )

    assert response.status_code == 422
    assert re.search(r'id="name-error">\s*A policy named', text(response))
    assert len(store.list_policies(open_store(app))) == 1


def test_add_server_keeps_other_unsaved_edits(client, app):
    form = edit_form(client, app, subject="Edited, not saved", servers=["imap.example"])
    form["note"] = "half-typed note"
    form["op"] = "add-server"

    response = client.post("/policies/1", data=form)

    page = text(response)
    assert response.status_code == 200
    assert 'value="Edited, not saved"' in page
    assert 'value="half-typed note"' in page
    assert 'id="servers-0"' in page and 'value="imap.example"' in page
    assert "autofocus" in input_tag(page, "servers-1")
    assert 'data-dirty="true"' in page
    assert current(app).revision_number == 1  # nothing saved


def test_remove_server_and_administrator_keep_other_rows(client, app):
    admins = [
        {"email": f"admin{i}@example.com", "block": True, "unblock": i != 1}
        for i in range(3)
    ]
    form = edit_form(
        client,
        app,
        server_scope="specific",
        servers=["a.example", "b.example", "c.example"],
        administrators=admins,
        custom_message="Typed\nbut not saved",
    )
    form["op"] = "remove-server-1"
    page = text(client.post("/policies/1", data=form))
    assert "b.example" not in page
    assert 'value="a.example"' in page and 'value="c.example"' in page

    form = {k: v for k, v in form.items() if not k.startswith("servers-")}
    form.update({"servers-0": "a.example", "servers-1": "c.example"})
    form["op"] = "remove-admin-0"
    page = text(client.post("/policies/1", data=form))

    assert "admin0@example.com" not in page
    assert 'value="admin1@example.com"' in page
    assert "Typed\nbut not saved" in page
    # admin1's Unblock box was off and stays off after moving up a row
    assert not is_checked(page, "administrators-0-unblock")
    assert is_checked(page, "administrators-0-block")
    assert is_checked(page, "administrators-1-unblock")
    assert current(app).revision_number == 1


def test_add_administrator_row_then_save_with_blank_rows_dropped(client, app):
    form = edit_form(client, app)
    form["op"] = "add-admin"
    page = text(client.post("/policies/1", data=form))
    assert 'id="administrators-0-email"' in page

    form.update(
        {
            "op": "save",
            "administrators-0-email": "soc@example.com",
            "administrators-0-block": "y",
            "administrators-1-email": "",
            "servers-0": "  ",
        }
    )
    response = client.post("/policies/1", data=form)

    assert response.status_code == 302
    assert current(app).policy.administrators == (
        Administrator("soc@example.com", block=True, unblock=False),
    )


def test_unknown_list_operation_is_a_friendly_400(client, app):
    form = edit_form(client, app)
    form["op"] = "drop-tables"

    response = client.post("/policies/1", data=form)

    assert response.status_code == 400
    assert "does not do" in text(response)


def test_internationalised_server_is_stored_in_ascii_and_shown_both_ways(client, app):
    form = edit_form(client, app, server_scope="specific", servers=["Bücher.example"])
    assert client.post("/policies/1", data=form).status_code == 302

    assert current(app).policy.servers == ("xn--bcher-kva.example",)
    page = text(client.get("/policies/1"))
    assert 'value="bücher.example"' in page
    assert "xn--bcher-kva.example" in page
    listing = text(client.get("/"))
    assert "bücher.example (xn--bcher-kva.example)" in listing


def test_stale_save_is_refused_and_keeps_the_edits(client, app):
    first_tab = edit_form(client, app, subject="From the first tab")
    second_tab = edit_form(client, app, subject="From the second tab")
    assert client.post("/policies/1", data=second_tab).status_code == 302

    response = client.post("/policies/1", data=first_tab)

    page = text(response)
    assert response.status_code == 409
    assert "saved in another window after you opened it" in page
    assert 'value="From the first tab"' in page
    assert current(app).policy.subject == "From the second tab"
    # saving again from the refused page is a deliberate overwrite
    again = re.search(r'name="base_revision" type="hidden" value="(\d+)"', page)
    first_tab["base_revision"] = again.group(1)
    assert client.post("/policies/1", data=first_tab).status_code == 302
    assert current(app).policy.subject == "From the first tab"


def test_missing_base_revision_is_refused(client, app):
    form = edit_form(client, app, subject="X")
    del form["base_revision"]

    response = client.post("/policies/1", data=form)

    assert response.status_code == 400
    assert current(app).revision_number == 1


def test_crlf_from_the_browser_counts_each_line_break_once(client, app):
    message = ("x" * 99 + "\r\n") * 40  # 4,000 characters once CRLF is LF
    form = edit_form(client, app, custom_message=message.rstrip("\r\n") + "x")

    response = client.post("/policies/1", data=form)

    assert response.status_code == 302
    assert "\r" not in current(app).policy.custom_message


def test_rename(client, app):
    token = csrf_token(client, "/policies/1/rename")
    response = client.post(
        "/policies/1/rename",
        data={"csrf_token": token, "name": "head-office", "base_revision": "1"},
    )

    assert response.status_code == 302
    stored = current(app)
    assert stored.policy.name == "head-office"
    db = open_store(app)
    assert store.list_revisions(db, 1)[0].note == "Renamed from imap-policy."
    db.close()


def test_rename_refuses_a_bad_name(client, app):
    token = csrf_token(client, "/policies/1/rename")
    response = client.post(
        "/policies/1/rename",
        data={"csrf_token": token, "name": "p; delete", "base_revision": "1"},
    )

    assert response.status_code == 422
    assert "must start with a letter" in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert current(app).policy.name == "imap-policy"


def test_delete_asks_then_deletes(client, app):
    page = text(client.get("/policies/1/delete"))
    assert "cannot be" in page and "Delete policy" in page

    token = csrf_token(client, "/policies/1/delete")
    response = client.post("/policies/1/delete", data={"csrf_token": token})

    assert response.status_code == 302
    assert store.list_policies(open_store(app)) == []
    assert "No policies yet" in text(client.get("/"))
    assert client.get("/policies/1").status_code == 404


def test_export_is_a_download_of_the_file_format(client):
    response = client.get("/policies/1/export.json")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="imap-policy.json"'
    )
    assert store.loads_policy(response.data) == Policy()
    assert "data-native-save" in text(client.get("/"))


def test_import_stores_a_valid_file(client, app):
    document = store.dumps_policy(Policy(name="imported", subject="Imported"))
    token = csrf_token(client, "/policies/import")

    response = client.post(
        "/policies/import",
        data={"csrf_token": token, "file": (io.BytesIO(document.encode()), "p.json")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    db = open_store(app)
    assert store.get_policy_by_name(db, "imported").policy.subject == "Imported"
    db.close()


def test_import_refuses_an_invalid_file_whole(client, app):
    document = json.loads(store.dumps_policy(Policy(name="bad")))
    document["policy"]["servers"] = ["10.0.0.1"]
    document["policy"]["server_scope"] = "specific"
    token = csrf_token(client, "/policies/import")
    page = text(client.get("/policies/import"))
    assert "data-native-open" in page

    response = client.post(
        "/policies/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(json.dumps(document).encode()), "bad.json"),
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "policy.servers[0]" in text(response)
    assert "IP address" in text(response)
    assert len(store.list_policies(open_store(app))) == 1


def test_import_without_a_file_says_so(client):
    token = csrf_token(client, "/policies/import")

    response = client.post("/policies/import", data={"csrf_token": token})

    assert response.status_code == 422
    assert "Choose a policy file to import." in text(response)


def _two_revisions(client, app):
    admins = [{"email": "soc@example.com", "block": True, "unblock": False}]
    form = edit_form(
        client,
        app,
        subject="Second",
        server_scope="specific",
        servers=["imap.example", "bücher.example"],
        administrators=admins,
        log_notifications=False,
    )
    form["note"] = "second revision"
    assert client.post("/policies/1", data=form).status_code == 302


def test_history_lists_revisions_and_compares_them(client, app):
    _two_revisions(client, app)

    page = text(client.get("/policies/1/history/"))
    assert "second revision" in page
    assert "First policy, with the default settings." in page

    db = open_store(app)
    old, new = sorted(r.id for r in store.list_revisions(db, 1))
    db.close()
    page = text(client.get(f"/policies/1/history/compare?a={new}&b={old}"))
    assert "Revision 1 → revision 2" in page
    assert "Malware Detected" in page and "Second" in page
    assert "bücher.example (xn--bcher-kva.example)" in page
    assert "soc@example.com: Block Notifications" in page
    assert "Log IMAP notifications" in page and "Off" in page


def test_compare_with_bad_arguments_is_friendly(client):
    assert client.get("/policies/1/history/compare?a=x&b=1").status_code == 400
    assert client.get("/policies/1/history/compare?a=1&b=999").status_code == 404


def test_restore_asks_then_makes_a_new_revision(client, app):
    _two_revisions(client, app)
    db = open_store(app)
    first = store.list_revisions(db, 1)[-1]
    db.close()
    url = f"/policies/1/history/{first.id}/restore"
    page = text(client.get(url))
    assert "Restore revision 1?" in page and "What changes" in page

    response = client.post(url, data={"csrf_token": csrf_token(client, url)})

    assert response.status_code == 302
    stored = current(app)
    assert stored.revision_number == 3
    assert stored.policy == Policy()
    page = text(client.get("/policies/1/history/"))
    assert "(restored from revision 1)" in page


def test_restore_of_another_policys_revision_is_not_found(client, app):
    db = open_store(app)
    other = store.create_policy(db, dataclasses.replace(Policy(), name="other"))
    db.close()
    url = f"/policies/1/history/{other.revision_id}/restore"

    assert client.get(url).status_code == 404


def test_error_pages_are_sentences_with_a_way_back(client):
    response = client.get("/policies/999")

    assert response.status_code == 404
    assert "There is no policy number 999." in text(response)
    assert 'href="/"' in text(response)
    assert client.get("/no/such/page").status_code == 404
    assert client.post("/").status_code in (400, 405)


def test_error_pages_lead_back_to_the_area_of_the_address(client):
    ways_back = {
        "/devices/999": ("/devices/", "Back to the device list"),
        "/devices/999/history": ("/devices/", "Back to the device list"),
        "/sync/jobs/no-such-job": ("/sync/", "Back to the sync page"),
        "/sync/nowhere": ("/sync/", "Back to the sync page"),
        "/policies/999": ("/", "Back to the policy list"),
        "/devicesx": ("/", "Back to the policy list"),
        "/no/such/page": ("/", "Back to the policy list"),
    }

    for url, way_back in ways_back.items():
        response = client.get(url)
        assert response.status_code == 404, url
        page = lxml.html.fromstring(text(response))
        (link,) = page.xpath('//section[contains(@class, "error-page")]//a')
        assert (link.get("href"), link.text_content().strip()) == way_back, url


def test_too_large_upload_is_a_friendly_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    token = csrf_token(client, "/policies/import")

    response = client.post(
        "/policies/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 5000), "big.json")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 413
    assert "larger than IMAP Desk accepts" in text(response)


def test_unexpected_error_is_a_calm_500(client, app, monkeypatch):
    def broken(db):
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "list_policies", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    response = client.get("/")

    assert response.status_code == 500
    assert "unexpected problem" in text(response)
    assert "boom" not in text(response) and "Traceback" not in text(response)


def test_preview_shows_unsaved_edits_without_saving(client, app):
    form = edit_form(
        client,
        app,
        subject="Preview <me>",
        learn_more_url="https://intranet.example/",
        custom_link_text="More",
    )
    form["op"] = "preview"

    response = client.post("/policies/1", data=form)

    page = text(response)
    assert response.status_code == 200
    assert "Preview, not saved yet" in page
    assert 'value="Preview &lt;me&gt;"' in page
    srcdoc = re.search(r'srcdoc="([^"]*)"', page).group(1)
    assert "Preview &amp;lt;me&amp;gt;" in srcdoc
    assert "https://intranet.example/" in srcdoc
    assert "sha256-" in response.headers["Content-Security-Policy"]
    assert current(app).revision_number == 1


def test_preview_of_invalid_edits_shows_the_errors(client, app):
    form = edit_form(client, app, learn_more_url="javascript:alert(1)")
    form["op"] = "preview"

    response = client.post("/policies/1", data=form)

    assert response.status_code == 422
    assert "must start with http:// or https://" in text(response)
    assert "<iframe" not in text(response)


def test_every_control_has_a_label(client, app):
    form = edit_form(
        client,
        app,
        server_scope="specific",
        servers=["imap.example"],
        administrators=[{"email": "soc@example.com"}],
    )
    form["op"] = "add-server"
    pages = [text(client.post("/policies/1", data=form))]
    pages += [text(client.get(url)) for url in ("/policies/1/previews/",)]

    for page in pages:
        controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", page)
        assert controls
        for control in controls:
            if re.search(r'type="(hidden|radio)"', control):
                continue
            field_id = re.search(r'\sid="([^"]+)"', control).group(1)
            wrapped = re.search(r"<label[^>]*>\s*" + re.escape(control), page)
            assert wrapped or f'for="{field_id}"' in page, control


def test_junos_tab_links_the_junos_configuration_page(client):
    page = text(client.get("/policies/1"))

    assert re.search(r'<a href="/policies/1/junos"\s*>Junos configuration</a>', page)


def test_delete_page_names_the_devices_that_use_the_policy(app, client):
    from store.devices import Device, create_device

    db = store.connect(app.config["DATABASE"])
    try:
        policy = store.list_policies(db)[0]
        create_device(
            db,
            Device(
                name="branch-srx", host="192.0.2.10", user="admin", policy_id=policy.id
            ),
        )
    finally:
        db.close()

    page = client.get(f"/policies/{policy.id}/delete").get_data(as_text=True)

    assert "branch-srx" in page
    assert "left with none assigned" in page


def test_not_found_pages_say_what_may_have_gone_from_their_area(client):
    gone = {
        "/devices/no-such-device": "The device may have been deleted.",
        "/sync/nowhere": "The device may have been deleted.",
        "/sync/jobs/some-job/nowhere": "The job may have been forgotten",
        "/policies/1/history/no-such-revision": "The policy or revision may have",
    }

    for url, sentence in gone.items():
        response = client.get(url)
        assert response.status_code == 404, url
        message = lxml.html.fromstring(text(response)).xpath(
            'string(//section[contains(@class, "error-page")])'
        )
        assert "There is nothing at this address." in message, url
        assert sentence in message, url
        others = set(gone.values()) - {sentence}
        assert not any(other in message for other in others), url
    page = text(client.get("/no/such/page"))
    assert "There is nothing at this address." in page
    assert "may have been" not in page
