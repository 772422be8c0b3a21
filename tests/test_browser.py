"""A new administrator's first session, in Debian's chromium via Playwright."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import store
from webui import create_app
from webui.server import LocalServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

MESSAGE = "A message with <markup> was blocked.\n\nAsk the helpdesk: ext. 4711."


@pytest.fixture
def server(data_dir):
    server = LocalServer(create_app(data_dir))
    server.start()
    yield server
    server.shutdown()


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def submit(page, locator) -> None:
    """Press a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


@pytest.mark.browser
def test_new_administrator_session(server, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(server.launch_url)
    expect(page.get_by_role("heading", name="IMAP policies")).to_be_visible()

    submit(page, page.get_by_role("link", name="New policy"))
    page.get_by_label("Policy name").fill("head-office")
    page.locator("#action-0").check()  # Block
    page.locator("#server_scope-1").check()  # Specific IMAP Server
    page.get_by_label("Learn More Link URL").fill("https://intranet.example/mal")
    page.get_by_label("Subject", exact=True).fill("Anhang blockiert – ⚠")
    page.get_by_label("Custom Message").fill(MESSAGE)
    page.get_by_label("Custom Link Text").fill("Read the guide")
    page.get_by_label("Inspection profile").fill("imap_profile")
    page.get_by_label("Verdict threshold").select_option("7")
    page.get_by_label("Log IMAP notifications").uncheck()
    page.locator("#fallback_action-1").check()  # Block
    page.get_by_label("Log fallback actions").uncheck()
    counter = page.locator('[data-counter-for="subject"]')
    expect(counter).to_have_text("20 / 200")

    # three servers in, one out; everything typed so far stays (with scripts
    # on, only the list is redrawn from the server's answer)
    page.locator("#server_scope-0").check()
    for number, host in enumerate(["imap.example.com", "bücher.example", "x.example"]):
        page.get_by_role("button", name="Add IMAP server").click()
        field = page.locator(f"#servers-{number}")
        expect(field).to_be_focused()
        field.fill(host)
    expect(page.locator("#server_scope-1")).to_be_checked()
    page.get_by_role("button", name=re.compile("Remove IMAP server 3")).click()
    expect(page.locator("#servers-2")).to_have_count(0)
    expect(page.get_by_role("button", name="Add IMAP server")).to_be_focused()
    expect(page.locator("#servers-0")).to_have_value("imap.example.com")
    expect(page.locator("#servers-1")).to_have_value("bücher.example")
    expect(page.get_by_text("xn--bcher-kva.example")).to_be_visible()

    # two administrators in, one out
    for number, address in enumerate(["soc@example.com", "gone@example.com"]):
        page.get_by_role("button", name="Add administrator").click()
        page.locator(f"#administrators-{number}-email").fill(address)
    page.locator("#administrators-0-unblock").uncheck()
    page.get_by_role("button", name=re.compile("Remove administrator 2")).click()
    expect(page.locator("#administrators-1-email")).to_have_count(0)
    expect(page.locator("#administrators-0-email")).to_have_value("soc@example.com")
    expect(page.locator("#administrators-0-unblock")).not_to_be_checked()

    # nothing is lost on the way and nothing is saved yet
    expect(page.get_by_label("Policy name")).to_have_value("head-office")
    expect(page.get_by_label("Subject", exact=True)).to_have_value(
        "Anhang blockiert – ⚠"
    )
    expect(page.get_by_label("Custom Message")).to_have_value(MESSAGE)
    expect(page.get_by_label("Verdict threshold")).to_have_value("7")
    expect(page.get_by_label("Log IMAP notifications")).not_to_be_checked()
    expect(page.locator("#fallback_action-1")).to_be_checked()
    db = store.connect(server.app.config["DATABASE"])
    assert [p.policy.name for p in store.list_policies(db)] == ["imap-policy"]

    # leaving with unsaved changes asks first
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_label("Note for this revision").fill("first version")
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Policies").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    expect(page.get_by_label("Note for this revision")).to_have_value("first version")

    submit(page, page.get_by_role("button", name="Create policy"))
    expect(page.get_by_role("status")).to_contain_text(
        "Saved policy head-office as revision 1."
    )
    stored = store.get_policy_by_name(db, "head-office")
    assert stored.policy.servers == ("imap.example.com", "xn--bcher-kva.example")
    assert stored.policy.custom_message == MESSAGE

    # Ctrl+S saves a further edit
    page.get_by_label("Custom Link Text").fill("Read our guide")
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    expect(page.get_by_role("status")).to_contain_text("as revision 2.")

    # the previews show the policy; the end user message downloads as .eml
    submit(page, page.get_by_role("link", name="Previews"))
    frame = page.frame_locator("#preview-end-user iframe")
    expect(frame.get_by_role("heading")).to_have_text("Anhang blockiert – ⚠")
    expect(frame.get_by_text("A message with <markup> was blocked.")).to_be_visible()
    expect(frame.get_by_role("link", name="Read our guide")).to_have_attribute(
        "href", "https://intranet.example/mal"
    )
    admin_frame = page.frame_locator("#preview-admin-block iframe")
    expect(admin_frame.get_by_text("head-office").first).to_be_visible()
    with page.expect_download() as info:
        page.locator("#preview-end-user").get_by_role(
            "link", name="Download .eml"
        ).click()
    download = info.value
    assert download.suggested_filename == "head-office-end-user.eml"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    parsed = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Anhang blockiert – ⚠"

    # after a reload everything is still there
    submit(page, page.get_by_role("link", name="Settings"))
    page.reload()
    expect(page.get_by_label("Policy name")).to_have_value("head-office")
    expect(page.locator("#action-0")).to_be_checked()
    expect(page.locator("#server_scope-1")).to_be_checked()
    expect(page.get_by_label("Learn More Link URL")).to_have_value(
        "https://intranet.example/mal"
    )
    expect(page.get_by_label("Custom Message")).to_have_value(MESSAGE)
    expect(page.get_by_label("Custom Link Text")).to_have_value("Read our guide")
    expect(page.get_by_label("Inspection profile")).to_have_value("imap_profile")
    expect(page.get_by_label("Verdict threshold")).to_have_value("7")
    expect(page.get_by_label("Log IMAP notifications")).not_to_be_checked()
    expect(page.locator("#fallback_action-1")).to_be_checked()
    expect(page.get_by_label("Log fallback actions")).not_to_be_checked()
    expect(page.locator("#servers-1")).to_have_value("bücher.example")
    expect(page.locator("#administrators-0-email")).to_have_value("soc@example.com")
    expect(page.locator("#administrators-0-block")).to_be_checked()
    expect(page.locator("#administrators-0-unblock")).not_to_be_checked()

    # the history holds both saves with their notes
    submit(page, page.get_by_role("link", name="History"))
    expect(page.get_by_text("first version")).to_be_visible()
    db.close()

    outside = [
        url
        for url in requests
        if urlsplit(url).scheme not in ("about", "data", "blob")
        and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert requests and outside == []


@pytest.mark.browser
def test_lists_work_without_scripts(server, browser):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.launch_url)
    submit(page, page.get_by_role("link", name="imap-policy"))
    page.get_by_label("Subject", exact=True).fill("Typed before adding")

    submit(page, page.get_by_role("button", name="Add IMAP server"))
    page.locator("#servers-0").fill("imap.example.com")
    submit(page, page.get_by_role("button", name="Add administrator"))
    page.locator("#administrators-0-email").fill("soc@example.com")
    submit(page, page.get_by_role("button", name="Add IMAP server"))
    submit(page, page.get_by_role("button", name=re.compile("Remove IMAP server 2")))

    expect(page.get_by_text("You have unsaved changes.")).to_be_visible()
    expect(page.get_by_label("Subject", exact=True)).to_have_value(
        "Typed before adding"
    )
    expect(page.locator("#servers-0")).to_have_value("imap.example.com")
    expect(page.locator("#servers-1")).to_have_count(0)
    expect(page.locator("#server_scope-1")).to_be_checked()
    submit(page, page.get_by_role("button", name="Save"))
    expect(page.get_by_role("status")).to_contain_text("as revision 2.")
    db = store.connect(server.app.config["DATABASE"])
    stored = store.get_policy(db, 1).policy
    db.close()
    assert stored.subject == "Typed before adding"
    assert stored.servers == ("imap.example.com",)
    assert [a.email for a in stored.administrators] == ["soc@example.com"]
    context.close()


@pytest.mark.browser
def test_preview_messages_of_unsaved_edits(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.launch_url)
    submit(page, page.get_by_role("link", name="imap-policy"))
    page.get_by_label("Subject", exact=True).fill("Typed, not saved – ⚠")
    page.get_by_label("Custom Message").fill(MESSAGE)
    page.get_by_role("button", name="Add administrator").click()
    page.locator("#administrators-0-email").fill("soc@example.com")
    page.locator("#administrators-0-unblock").uncheck()

    with page.expect_navigation():
        page.keyboard.press("Control+Shift+P")

    expect(page.get_by_role("heading", name="Preview, not saved")).to_be_visible()
    frame = page.frame_locator("#preview-end-user iframe")
    expect(frame.get_by_role("heading")).to_have_text("Typed, not saved – ⚠")
    expect(frame.get_by_text("A message with <markup> was blocked.")).to_be_visible()
    expect(page.locator("#preview-admin-block dd").nth(1)).to_have_text(
        "soc@example.com"
    )
    expect(page.locator("#preview-admin-unblock .preview-note")).to_be_visible()
    expect(page.get_by_role("link", name="Download .eml")).to_have_count(0)
    back = page.get_by_role("button", name="Back to the editor")
    expect(back).to_be_focused()

    submit(page, back)
    expect(page.get_by_label("Subject", exact=True)).to_have_value(
        "Typed, not saved – ⚠"
    )
    expect(page.get_by_label("Custom Message")).to_have_value(MESSAGE)
    expect(page.locator("#administrators-0-email")).to_have_value("soc@example.com")
    expect(page.locator("#administrators-0-block")).to_be_checked()
    expect(page.locator("#administrators-0-unblock")).not_to_be_checked()
    expect(page.get_by_role("button", name="Preview messages")).to_be_focused()
    db = store.connect(server.app.config["DATABASE"])
    stored = store.get_policy(db, 1)
    db.close()
    assert stored.revision_number == 1
    assert stored.policy.subject != "Typed, not saved – ⚠"
