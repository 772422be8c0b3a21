"""The device workflow in Debian's chromium: add, trust, preview, sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import fail

from store.credentials import CredentialStore
from webui import create_app
from webui.devices import CREDENTIALS
from webui.server import LocalServer

PASSWORD = "fake-srx-password"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def browser():
    """Debian's chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            headless=True,
        )
        yield launched
        launched.close()


def submit(page, locator) -> None:
    """Activate a link or button and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


@pytest.fixture
def server(data_dir):
    app = create_app(data_dir)
    app.extensions[CREDENTIALS] = CredentialStore(fail.Keyring())
    server = LocalServer(app)
    server.start()
    yield server
    server.shutdown()


@pytest.mark.browser
def test_add_trust_preview_and_sync(server, browser, fakesrx):
    from playwright.sync_api import expect

    srx = fakesrx(hostname="branch-1")
    srx.faults.latency = 0.15  # slow enough to watch the progress bar move
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type == "error" else None
        ),
    )
    page.goto(server.launch_url)

    submit(page, page.get_by_role("link", name="Devices"))
    submit(page, page.get_by_role("link", name="Add device").first)
    page.get_by_label("Name", exact=True).fill("branch-1")
    page.get_by_label("Host", exact=True).fill(srx.host)
    page.get_by_label("NETCONF port").fill(str(srx.port))
    page.get_by_label("User", exact=True).fill("admin")
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_label("Policy", exact=True).select_option(label="imap-policy")
    page.get_by_label("From zone, row 1").fill("trust")
    page.get_by_label("To zone, row 1").fill("untrust")
    page.get_by_label("Security policy, row 1").fill("imap-scan")
    submit(page, page.get_by_role("button", name="Save device"))
    expect(page.get_by_role("heading", name="branch-1")).to_be_visible()

    # choose the device with the keyboard and preview
    submit(page, page.get_by_role("link", name="Preview a sync…"))
    checkbox = page.get_by_role("checkbox", name="branch-1")
    expect(checkbox).to_be_checked()
    every = page.get_by_role("checkbox", name="Choose every device")
    expect(every).to_be_checked()
    every.uncheck()
    expect(checkbox).not_to_be_checked()
    every.check()
    expect(checkbox).to_be_checked()
    page.get_by_role("button", name="Preview").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text(srx.fingerprint, exact=True)).to_be_visible(timeout=30_000)
    submit(page, page.get_by_role("button", name="Trust the ticked keys"))

    submit(page, page.get_by_role("button", name="Preview"))
    progress = page.locator("#job-progress")
    expect(progress).to_be_visible()
    expect(page.get_by_role("heading", name="Confirm the sync")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_text("Changes (show | compare)")).to_be_visible()
    page.get_by_label("Confirm within (minutes)").fill("3")
    submit(page, page.get_by_role("button", name="Sync", exact=True))
    expect(page.locator(".outcome-synced")).to_be_visible(timeout=30_000)
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")

    submit(page, page.get_by_role("link", name="This work in the audit log"))
    expect(page.get_by_role("cell", name="synced")).to_be_visible()
    assert not [p for p in problems if "Content Security Policy" in p], problems


@pytest.mark.browser
def test_ten_devices_from_never_contacted_to_synced(server, browser, fakesrx, tmp_path):
    """The whole path for ten devices, each step in the window: import the
    inventory, type the passwords, trust ten first keys, preview, sync; each
    device then holds exactly the intended configuration, nothing else
    changed, and no lock or candidate is left."""
    from playwright.sync_api import expect

    import store
    from fleet.targets import build_target
    from store import devices as inv

    from .devices_support import write_inventory
    from .sync_support import assert_clean, assert_exact

    fleet = fakesrx.many(10)
    for srx in fleet:
        srx.faults.latency = 0.05
    before = {srx.device.hostname: srx.running_config() for srx in fleet}
    csv_file = write_inventory(tmp_path / "devices.csv", fleet)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.launch_url)

    submit(page, page.get_by_role("link", name="Devices"))
    submit(page, page.get_by_role("link", name="Import CSV…"))
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    submit(page, page.get_by_role("button", name="Import"))
    for srx in fleet:
        link = page.get_by_role("link", name=srx.device.hostname, exact=True)
        expect(link).to_be_visible()

    submit(page, page.get_by_role("link", name="Sync", exact=True))
    page.get_by_role("checkbox", name="Choose every device").check()
    submit(page, page.get_by_role("button", name="Preview"))
    expect(page.get_by_role("heading", name="Device passwords")).to_be_visible()
    for field in page.locator("input[type=password]").all():
        field.fill(PASSWORD)
    submit(page, page.get_by_role("button", name="Continue"))
    for srx in fleet:
        expect(page.get_by_text(srx.fingerprint, exact=True)).to_be_visible(
            timeout=30_000
        )
    submit(page, page.get_by_role("button", name="Trust the ticked keys"))

    submit(page, page.get_by_role("button", name="Preview"))
    expect(page.get_by_role("heading", name="Confirm the sync")).to_be_visible(
        timeout=60_000
    )
    submit(page, page.get_by_role("button", name="Sync", exact=True))
    expect(page.locator(".outcome-synced")).to_have_count(10, timeout=60_000)
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")

    connection = store.connect(server.app.config["DATABASE"])
    try:
        for srx in fleet:
            name = srx.device.hostname
            stored = inv.get_device_by_name(connection, name)
            assert stored.host_key.fingerprint == srx.fingerprint
            assert stored.sync_state is not None
            memory = CredentialStore(fail.Keyring())
            memory.remember(name, PASSWORD)
            target = build_target(connection, stored, memory)
            assert_exact(srx, target, before[name])
            assert_clean(srx)
    finally:
        connection.close()
