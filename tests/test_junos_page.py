"""The Junos configuration page, its downloads, and the import of a saved
device configuration through the review step."""

from __future__ import annotations

import dataclasses
import html
import io
import re
from collections import OrderedDict

import pytest

import store
from deviceio import render, yang
from store import devices as inv
from store.model import Administrator, Policy
from webui import junos

from .webui_support import csrf_token, open_store, text

HOSTILE = "<script>alert(1)</script>"
FULL = Policy(
    name="full-policy",
    action="permit",
    server_scope="specific",
    servers=("imap.example.com", "mail.example.org"),
    learn_more_url="https://example.com/help?a=1&b=2",
    subject='Blocked: "malware" found; don\'t open',
    custom_message="Line one.\n\nLine two with { braces } and # hash.",
    custom_link_text="More",
    administrators=(
        Administrator("soc@example.com"),
        Administrator("noc@example.com", block=True, unblock=False),
    ),
    inspection_profile="imap_profile",
    verdict_threshold="7",
    log_notifications=False,
    fallback_action="block",
    fallback_log=False,
)
HAND_WRITTEN = b"""<rpc-reply><configuration>
  <services><advanced-anti-malware>
    <policy>
      <name>handmade</name>
      <imap><inspection-profile>corp_profile</inspection-profile></imap>
      <verdict-threshold>4</verdict-threshold>
      <fallback-options><action>block</action></fallback-options>
    </policy>
  </advanced-anti-malware></services>
</configuration></rpc-reply>
"""
TWO_POLICIES = b"""services {
    advanced-anti-malware {
        policy first-one {
            imap {
                inspection-profile p1;
            }
        }
        policy second-one {
            imap {
                inspection-profile p2;
            }
            verdict-threshold 9;
        }
    }
}
"""
IMPORT_URL = "/policies/import-configuration"


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch):
    """Each test starts with no YANG check remembered."""
    monkeypatch.setattr(junos, "_checks", OrderedDict())


def add_policy(app, policy: Policy) -> store.StoredPolicy:
    db = open_store(app)
    try:
        return store.create_policy(db, policy)
    finally:
        db.close()


def policy_names(app) -> list[str]:
    db = open_store(app)
    try:
        return [s.policy.name for s in store.list_policies(db)]
    finally:
        db.close()


def stored_policy(app, name: str) -> Policy:
    db = open_store(app)
    try:
        return store.get_policy_by_name(db, name).policy
    finally:
        db.close()


def add_device(app, policy_id: int) -> inv.StoredDevice:
    db = open_store(app)
    try:
        device = inv.Device.from_dict(
            {
                "name": "srx-paris",
                "host": "192.0.2.10",
                "user": "admin",
                "policy_id": policy_id,
                "bindings": [
                    {
                        "from_zone": "trust",
                        "to_zone": "untrust",
                        "security_policy": "imap-scan",
                        "ssl_proxy": "imaps-proxy",
                    }
                ],
            }
        )
        return inv.create_device(db, device)
    finally:
        db.close()


def upload(client, data: bytes, filename: str = "srx.conf"):
    token = csrf_token(client, IMPORT_URL)
    return client.post(
        IMPORT_URL,
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def review_form(page: str) -> dict[str, str]:
    """The hidden fields and names of a review page, nothing chosen yet."""
    form = {}
    for name in ("csrf_token", "candidates", "file_warnings", "filename"):
        match = re.search(rf'name="{name}" value="([^"]*)"', page)
        assert match, name
        form[name] = html.unescape(match.group(1))
    for index, value in re.findall(r'name="name-(\d+)" value="([^"]*)"', page):
        form[f"name-{index}"] = html.unescape(value)
    return form


def confirm(client, form: dict[str, str], *chosen: int):
    data = dict(form)
    for index in chosen:
        data[f"chosen-{index}"] = "y"
    return client.post(f"{IMPORT_URL}/confirm", data=data)


def models_or_skip(release: str) -> None:
    if yang.find_models(release) is None:
        pytest.skip(f"the Junos {release} YANG models are not installed")


# the page


def test_page_shows_every_format_with_copy_and_download(client, app):
    stored = add_policy(app, FULL)

    response = client.get(f"/policies/{stored.id}/junos")
    page = text(response)

    assert response.status_code == 200
    assert re.search(r'aria-current="page"\s*>Junos configuration</a>', page)
    for fmt in ("set", "text", "xml"):
        shown = re.search(rf'<pre[^>]*id="config-{fmt}"[^>]*>(.*?)</pre>', page, re.S)
        assert shown, fmt
        assert html.unescape(shown.group(1)) == render.export(FULL, (), fmt)
        assert f'data-copy="config-{fmt}"' in page
        link = re.search(
            rf'<a[^>]*href="/policies/{stored.id}/junos\.{fmt}"[^>]*>', page
        )
        assert link and "data-native-save" in link.group(0), fmt
    assert f'href="/policies/{stored.id}/export.json"' in page
    assert "/static/junos.js" in page
    assert "<script>" not in page.split("</head>")[1]


@pytest.mark.parametrize(
    ("fmt", "mimetype", "suffix"),
    [
        ("xml", "application/xml", "xml"),
        ("set", "text/plain", "set"),
        ("text", "text/plain", "conf"),
    ],
)
def test_downloads_are_attachments(client, app, fmt, mimetype, suffix):
    stored = add_policy(app, FULL)

    response = client.get(f"/policies/{stored.id}/junos.{fmt}")

    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="full-policy.{suffix}"'
    )
    assert text(response) == render.export(FULL, (), fmt)


def test_unknown_format_and_policy_are_not_found(client):
    assert client.get("/policies/1/junos.pdf").status_code == 404
    assert client.get("/policies/99/junos").status_code == 404
    assert client.get("/policies/99/junos.xml").status_code == 404


def test_device_bindings_are_added_on_request(client, app):
    stored = add_policy(app, FULL)
    device = add_device(app, stored.id)

    plain = text(client.get(f"/policies/{stored.id}/junos.set"))
    page = text(client.get(f"/policies/{stored.id}/junos?device={device.id}"))
    response = client.get(f"/policies/{stored.id}/junos.set?device={device.id}")

    assert "imap-scan" not in plain
    assert "srx-paris" in page
    assert f"junos.xml?device={device.id}" in page
    assert "advanced-anti-malware-policy full-policy" in text(response)
    assert "ssl-proxy profile-name imaps-proxy" in text(response)
    assert (
        'filename="full-policy-srx-paris.set"'
        in (response.headers["Content-Disposition"])
    )
    other = client.get(f"/policies/1/junos?device={device.id}")
    assert other.status_code == 404


def test_page_shows_where_each_setting_takes_effect(client, app):
    stored = add_policy(app, FULL)

    page = text(client.get(f"/policies/{stored.id}/junos"))
    table = re.search(r'<table class="table junos-enforcement">.*?</table>', page, re.S)

    assert table
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td><span class="enforced[^"]*">([^<]+)',
        table.group(0),
    )
    places = dict(rows)
    assert places["Inspection profile"] == "Enforced by the SRX"
    assert places["Verdict threshold"] == "Enforced by the SRX"
    assert places["Fallback action"] == "Enforced by the SRX"
    assert places["Action to take"] == "Applied by ATP Cloud"
    assert places["Custom Message"] == "Applied by ATP Cloud"
    assert places["Administrators"] == "Applied by ATP Cloud"
    assert len(places) == 14
    # the SRX's settings come first
    assert [p for _, p in rows] == sorted(
        (p for _, p in rows), key=lambda p: p != "Enforced by the SRX"
    )


def test_page_shows_the_yang_check_of_both_releases(client, app):
    for release in yang.RELEASES:
        models_or_skip(release)
    stored = add_policy(app, FULL)

    page = text(client.get(f"/policies/{stored.id}/junos"))

    for release in yang.RELEASES:
        assert f"Junos {release}: valid." in page


def test_yang_check_is_done_once_per_revision(client, app, monkeypatch):
    calls = []
    monkeypatch.setattr(yang, "validate", lambda xml, release: calls.append(1) or [])
    stored = add_policy(app, FULL)

    client.get(f"/policies/{stored.id}/junos")
    client.get(f"/policies/{stored.id}/junos")
    assert len(calls) == len(yang.RELEASES)

    db = open_store(app)
    store.save_policy(db, stored.id, dataclasses.replace(FULL, verdict_threshold="3"))
    db.close()
    client.get(f"/policies/{stored.id}/junos")
    assert len(calls) == 2 * len(yang.RELEASES)


def test_page_says_when_the_check_cannot_run(client, monkeypatch):
    monkeypatch.setattr(yang.shutil, "which", lambda name: None)

    response = client.get("/policies/1/junos")

    assert response.status_code == 200
    for release in yang.RELEASES:
        assert f"Junos {release}: not checked." in text(response)
    assert "yanglint is not installed" in text(response)


def test_page_shows_refusals_of_the_models(client, monkeypatch):
    refusal = yang.YangError("error", "/configuration/services", "Invalid value")
    monkeypatch.setattr(yang, "validate", lambda xml, release: [refusal])

    page = text(client.get("/policies/1/junos"))

    assert "not valid." in page
    assert "error at /configuration/services: Invalid value" in page


def test_hostile_values_are_escaped_in_the_configuration(client, app):
    hostile = Policy(
        name="hostile",
        subject=HOSTILE,
        custom_message=f"Hello {HOSTILE}\nbye",
        custom_link_text='"><img src=x onerror=alert(1)>',
    )
    stored = add_policy(app, hostile)

    page = text(client.get(f"/policies/{stored.id}/junos"))

    assert HOSTILE not in page
    assert "<img src=x" not in page
    body = page.split("</head>")[1]
    assert "<script" not in body
    for fmt in ("set", "text", "xml"):
        shown = re.search(rf'id="config-{fmt}"[^>]*>(.*?)</pre>', page, re.S)
        assert html.unescape(shown.group(1)) == render.export(hostile, (), fmt)
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("release", yang.RELEASES)
def test_every_exported_xml_validates(app, release):
    models_or_skip(release)
    binding = render.Binding("trust", "untrust", "imap-scan", "full-policy", "px")
    hostile = Policy(name="hostile", subject=HOSTILE, custom_message=HOSTILE * 300)
    for policy, bindings in (
        (Policy(), ()),
        (FULL, ()),
        (FULL, (binding,)),
        (hostile, ()),
    ):
        xml = render.export(policy, bindings, "xml")
        assert yang.validate(xml.encode("utf-8"), release) == [], policy.name


# the editor's markers


def test_editor_marks_each_section_with_where_it_takes_effect(client):
    page = text(client.get("/policies/1"))

    def marker(heading_id: str) -> str:
        match = re.search(rf'<h2 id="{heading_id}">(.*?)</h2>', page, re.S)
        assert match, heading_id
        return match.group(1)

    assert "Enforced by the SRX" in marker("srx-title")
    assert "Enforced by the SRX" in marker("general-title")
    for heading in ("block-title", "users-title", "admins-title"):
        assert "Applied by ATP Cloud" in marker(heading)
    assert "Applied by ATP Cloud" in text(client.get("/policies/new"))


# the import


def test_import_form_opens_a_file_natively(client):
    page = text(client.get(IMPORT_URL))
    listing = text(client.get("/"))

    assert re.search(r"<form[^>]*data-native-open", page)
    assert 'type="file"' in page
    assert f'href="{IMPORT_URL}"' in listing


@pytest.mark.parametrize("fmt", ["xml", "text", "set"])
def test_rendered_configuration_round_trips(client, app, fmt):
    data = render.export(FULL, (), fmt).encode("utf-8")

    review = upload(client, data, f"full.{fmt}")
    page = text(review)

    assert review.status_code == 200
    assert "Written by IMAP Desk" in page
    assert "not in the file" not in page
    assert policy_names(app) == ["imap-policy"]
    response = confirm(client, review_form(page), 0)
    assert response.status_code == 302
    assert stored_policy(app, "full-policy") == FULL


def test_rendered_configuration_with_bindings_round_trips(client, app):
    binding = render.Binding("trust", "untrust", "imap-scan", "full-policy")
    data = render.export(FULL, (binding,), "xml").encode("utf-8")

    page = text(upload(client, data, "full.xml"))
    response = confirm(client, review_form(page), 0)

    assert response.status_code == 302
    assert stored_policy(app, "full-policy") == FULL


def test_hand_written_policy_lists_what_took_defaults(client, app):
    review = upload(client, HAND_WRITTEN, "handmade.xml")
    page = text(review)

    assert review.status_code == 200
    assert "Written by hand" in page
    notice = re.search(
        r"Not in the file, so these take their defaults:</strong>([^.]*)", page
    )
    assert notice
    for label in ("Action to take", "IMAP Servers", "Subject", "Administrators"):
        assert label in notice.group(1)
    assert "Inspection profile" not in notice.group(1)
    assert page.count("default, not in the file") == 8
    assert policy_names(app) == ["imap-policy"]

    assert confirm(client, review_form(page), 0).status_code == 302
    imported = stored_policy(app, "handmade")
    defaults = Policy()
    assert imported.inspection_profile == "corp_profile"
    assert imported.verdict_threshold == "4"
    assert imported.fallback_action == "block"
    assert imported.log_notifications is False
    assert imported.action == defaults.action
    assert imported.subject == defaults.subject
    assert imported.custom_message == defaults.custom_message
    assert imported.servers == ()


def test_several_policies_let_the_administrator_choose(client, app):
    page = text(upload(client, TWO_POLICIES))
    form = review_form(page)

    assert "first-one" in page and "second-one" in page
    assert "checked" not in re.search(r'name="chosen-0"[^>]*>', page).group(0)

    nothing = confirm(client, form)
    assert nothing.status_code == 422
    assert "Choose at least one policy" in text(nothing)
    assert policy_names(app) == ["imap-policy"]

    assert confirm(client, form, 1).status_code == 302
    assert policy_names(app) == ["imap-policy", "second-one"]
    assert stored_policy(app, "second-one").verdict_threshold == "9"


def test_several_chosen_policies_are_imported_together(client, app):
    form = review_form(text(upload(client, TWO_POLICIES, "set.set")))

    response = confirm(client, form, 0, 1)

    assert response.status_code == 302
    assert policy_names(app) == ["first-one", "imap-policy", "second-one"]


def test_name_clash_asks_for_another_name(client, app):
    data = render.export(Policy(subject="From the device"), (), "set").encode()
    form = review_form(text(upload(client, data)))

    clash = confirm(client, form, 0)

    assert clash.status_code == 422
    assert "already exists" in text(clash)
    assert re.search(
        r'name="name-0" value="imap-policy"[^>]*aria-invalid="true"', text(clash)
    )
    assert stored_policy(app, "imap-policy") == Policy()

    renamed = confirm(client, {**review_form(text(clash)), "name-0": "from-device"}, 0)
    assert renamed.status_code == 302
    assert stored_policy(app, "from-device").subject == "From the device"


def test_invalid_new_name_is_refused(client, app):
    form = review_form(text(upload(client, TWO_POLICIES)))

    response = confirm(client, {**form, "name-0": "bad name!"}, 0)

    assert response.status_code == 422
    assert 'id="name-0-error"' in text(response)
    assert policy_names(app) == ["imap-policy"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<configuration><services>", "not well-formed XML"),
        (
            b"services {\n    advanced-anti-malware {\n        policy a {\n"
            b"            imap { inspection-profile x }\n",
            "Line 4: Unexpected",
        ),
        (b"set system host-name srx1\n", "holds no advanced-anti-malware policy"),
        (b"<configuration><system/></configuration>", "holds no advanced"),
        (b"", "The file is empty."),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"format": "imapdesk-policy"}', "Import policy instead"),
    ],
)
def test_broken_files_are_refused_whole(client, app, data, message):
    response = upload(client, data)

    assert response.status_code == 422
    error = re.search(r'<p class="field-error"[^>]*>([^<]*)</p>', text(response))
    assert error and message in html.unescape(error.group(1))
    assert policy_names(app) == ["imap-policy"]


def test_text_syntax_error_names_the_line(client):
    data = (
        b"services {\n    advanced-anti-malware {\n        policy a {\n    }\n}\n}\n}\n"
    )

    response = upload(client, data)

    assert response.status_code == 422
    assert "Line 7: There is a &#39;}&#39; too many." in text(response)


def test_upload_without_a_file_is_refused(client):
    token = csrf_token(client, IMPORT_URL)

    response = client.post(IMPORT_URL, data={"csrf_token": token})

    assert response.status_code == 422
    assert "Choose a configuration file" in text(response)


def test_altered_review_is_refused_without_storing(client, app):
    form = review_form(text(upload(client, TWO_POLICIES)))

    for candidates in ("not json", "[]", '[{"policy": {"name": "x y"}}]'):
        response = confirm(client, {**form, "candidates": candidates}, 0)
        assert response.status_code == 400
        assert "import the file again" in text(response)
    assert policy_names(app) == ["imap-policy"]


def test_hostile_values_are_escaped_in_the_review(client):
    policy = Policy(name="hostile", subject=HOSTILE, custom_message=HOSTILE)
    data = render.export(policy, (), "text").encode("utf-8")

    page = text(upload(client, data))

    assert HOSTILE not in page
    assert "&lt;script&gt;" in page


def test_file_name_from_the_review_is_cleaned(client, app):
    form = review_form(text(upload(client, TWO_POLICIES)))

    response = confirm(client, {**form, "filename": "a\x00b\n../../c.conf"}, 0)

    assert response.status_code == 302
    db = open_store(app)
    try:
        stored = store.get_policy_by_name(db, "first-one")
        note = store.list_revisions(db, stored.id)[0].note
    finally:
        db.close()
    assert note == "Imported from the device configuration ab_.._.._c.conf."
