"""Device work that cannot start, or has nothing to work on, from the window."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from types import SimpleNamespace

import lxml.html
import pytest

import store
from store import devices as inv
from webui import jobs as jobs_module
from webui.devices import JOBS
from webui.jobs import DeviceProgress, Job, JobFailed, JobRegistry

from .devices_support import (
    JOB_RE,
    add_device,
    delete_elsewhere,
    outcomes,
    trust_from_job_page,
    wait_job,
)
from .webui_support import text

NOWHERE = SimpleNamespace(host="192.0.2.1", port=830)


@contextmanager
def job_threads_refused():
    """The computer refuses every new job thread; other threads still start."""
    real_start = threading.Thread.start

    def start(thread):
        if thread.name.startswith("job-"):
            raise RuntimeError("can't start new thread")
        real_start(thread)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs_module.threading.Thread, "start", start)
        yield


def test_a_refused_thread_ends_the_job_as_failed():
    registry = JobRegistry()
    preview = Job(id="p", kind="preview", title="Preview", devices={})
    claim = preview.claim({"srx-a"})
    assert claim

    with job_threads_refused():
        job = registry.start("sync", "Sync", ["srx-a"], lambda job: [], claim=claim)

    assert not job.running
    assert job.error.startswith("Could not start the work: can't start new thread.")
    assert registry.get(job.id) is job
    assert job.snapshot()["done"]
    assert preview.claim({"srx-a"}), "the preview's device was not given back"


def test_devices_a_failed_job_never_reached_say_not_started():
    registry = JobRegistry()
    go = threading.Event()

    def work(job):
        job.on_event(
            SimpleNamespace(device="srx-a", step="connect", status="ok", message="")
        )
        go.wait(10)
        raise JobFailed("There is no device number 2.")

    job = registry.start("sync", "Sync", ["srx-a", "srx-b"], work)
    running = {row["name"]: row for row in job.snapshot()["devices"]}
    go.set()
    assert job.done.wait(10)
    done = {row["name"]: row for row in job.snapshot()["devices"]}

    assert (running["srx-b"]["step_label"], running["srx-b"]["label"]) == (
        "waiting",
        "waiting",
    )
    assert (done["srx-b"]["step_label"], done["srx-b"]["label"]) == (
        "not started",
        "not started",
    )
    assert done["srx-a"]["step_label"] == "connect"


def test_devices_a_failed_job_had_reached_say_it_stopped_there(client):
    def work(job):
        job.on_event(
            SimpleNamespace(
                device="srx-a", step="connect", status="ok", message="connected"
            )
        )
        raise JobFailed("There is no device number 2.")

    job = client.application.extensions[JOBS].start(
        "sync", "Sync", ["srx-a", "srx-b"], work
    )
    assert job.done.wait(10)

    rows = {row["name"]: row for row in job.snapshot()["devices"]}
    assert (rows["srx-a"]["step_label"], rows["srx-a"]["status_text"]) == (
        "connect",
        "job stopped here",
    )
    assert rows["srx-b"]["status_text"] == "not started"
    page = lxml.html.fromstring(text(client.get(f"/sync/jobs/{job.id}")))
    (row,) = page.xpath('//tr[@data-device="srx-a"]')
    assert row.xpath('string(td[@class="step"])').strip() == "connect"
    assert row.xpath('string(td[@class="status"])').strip() == "job stopped here"


def test_a_running_job_shows_each_step_and_its_message():
    job = Job(
        id="j", kind="sync", title="Sync", devices={"srx-a": DeviceProgress("srx-a")}
    )
    job.on_event(
        SimpleNamespace(device="srx-a", step="connect", status="ok", message="up")
    )

    (row,) = job.snapshot()["devices"]

    assert (row["step_label"], row["status_text"]) == ("connect", "ok: up")


def test_a_job_that_could_not_start_shows_its_devices_not_started(client, token, creds):
    add_device(client, token, NOWHERE)

    with job_threads_refused():
        response = client.post("/sync/drift", data={"csrf_token": token})

    job_id, state = wait_job(client, response)
    assert [(r["step_label"], r["label"]) for r in state["devices"]] == [
        ("not started", "not started")
    ]
    page = lxml.html.fromstring(text(client.get(f"/sync/jobs/{job_id}")))
    (row,) = page.xpath('//tr[@data-device="srx-a"]')
    assert row.xpath('string(td[@class="step"])').strip() == "not started"
    assert row.xpath('string(td[@class="status"])').strip() == "not started"


def test_a_sync_that_cannot_start_can_be_tried_again(client, token, creds, fakesrx):
    device_id = add_device(client, token, fakesrx(hostname="srx-a"))
    response = client.post(
        "/sync/preview", data={"csrf_token": token, "device": [device_id]}
    )
    trust_from_job_page(client, wait_job(client, response)[0])
    response = client.post(
        "/sync/preview", data={"csrf_token": token, "device": [device_id]}
    )
    preview_id, state = wait_job(client, response)
    assert outcomes(state) == {"srx-a": "previewed"}
    form = {"csrf_token": token, "device": ["srx-a"], "confirm_minutes": "5"}

    with job_threads_refused():
        refused = client.post(f"/sync/jobs/{preview_id}/sync", data=form)

    job_id, state = wait_job(client, refused)
    assert state["error"].startswith("Could not start the work: can't start")
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "Stopped." in page and "Could not start the work" in page
    _, state = wait_job(client, client.post(f"/sync/jobs/{preview_id}/sync", data=form))
    assert outcomes(state) == {"srx-a": "synced"}


def test_drift_with_no_devices_starts_nothing(client, token):
    response = client.post("/sync/drift", data={"csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sync/")
    page = text(client.get(response.headers["Location"]))
    assert "There are no devices to check. Add a device first." in page


def test_sync_with_no_devices_starts_nothing(client, token):
    response = client.post("/sync/preview", data={"csrf_token": token})

    assert response.status_code == 302
    assert not JOB_RE.search(response.headers["Location"])
    page = text(client.get(response.headers["Location"]))
    assert "There are no devices to sync. Add a device first." in page


def test_sync_with_no_device_ticked_asks_to_tick_one(client, token, creds):
    add_device(client, token, NOWHERE)

    response = client.post("/sync/preview", data={"csrf_token": token})

    assert response.status_code == 302
    assert not JOB_RE.search(response.headers["Location"])
    page = text(client.get(response.headers["Location"]))
    assert "Choose at least one device to preview." in page


def sync_form(client, ticked: list[int]) -> dict[str, list[str]]:
    """The sync page's form as the window holds it, with these devices ticked."""
    page = lxml.html.fromstring(text(client.get("/sync/")))
    (form,) = page.xpath('//form[@action="/sync/preview"]')
    form.inputs["device"].value.update(str(device_id) for device_id in ticked)
    data: dict[str, list[str]] = {}
    for key, value in form.form_values():
        data.setdefault(key, []).append(value)
    return data


def test_a_device_deleted_elsewhere_is_left_out_of_the_preview(
    client, token, creds, fakesrx
):
    kept = add_device(client, token, fakesrx(hostname="srx-a"))
    gone = add_device(client, token, NOWHERE, name="srx-3")
    form = sync_form(client, [kept, gone])
    delete_elsewhere(client, gone)

    job_id, state = wait_job(client, client.post("/sync/preview", data=form))

    assert outcomes(state) == {"srx-a": "hostkey-unknown"}
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "srx-3 no longer exists; it was not previewed." in page


@pytest.mark.parametrize(
    ("action", "words"),
    [("/sync/preview", "previewed"), ("/sync/drift", "checked")],
)
def test_when_every_ticked_device_was_deleted_nothing_starts(
    client, token, creds, action, words
):
    add_device(client, token, NOWHERE, name="srx-a")
    gone = [add_device(client, token, NOWHERE, name=n) for n in ("srx-3", "srx-4")]
    form = sync_form(client, gone)
    for device_id in gone:
        delete_elsewhere(client, device_id)

    response = client.post(action, data=form)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sync/")
    page = text(client.get(response.headers["Location"]))
    assert f"srx-3 and srx-4 no longer exist; they were not {words}." in page


def previewed(client, token, devices) -> str:
    """Add the devices, trust their keys and preview them; the preview's id."""
    ids = [add_device(client, token, srx, name=name) for name, srx in devices]
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    trust_from_job_page(client, wait_job(client, response)[0])
    response = client.post("/sync/preview", data={"csrf_token": token, "device": ids})
    preview_id, state = wait_job(client, response)
    assert set(outcomes(state).values()) == {"previewed"}, state
    return preview_id


def test_a_device_deleted_after_its_preview_is_left_out_of_the_sync(
    client, token, creds, fakesrx
):
    preview_id = previewed(
        client,
        token,
        [("srx-a", fakesrx(hostname="srx-a")), ("srx-b", fakesrx(hostname="srx-b"))],
    )
    delete_elsewhere(client, 2)
    form = {"csrf_token": token, "device": ["srx-a", "srx-b"], "confirm_minutes": "5"}

    job_id, state = wait_job(
        client, client.post(f"/sync/jobs/{preview_id}/sync", data=form)
    )

    assert outcomes(state) == {"srx-a": "synced"}
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "srx-b no longer exists; it was not synced." in page
    preview = client.application.extensions[JOBS].get(preview_id)
    assert preview.claimed == {"srx-a"}


def test_when_every_previewed_device_was_deleted_no_sync_starts(
    client, token, creds, fakesrx
):
    preview_id = previewed(client, token, [("srx-a", fakesrx(hostname="srx-a"))])
    delete_elsewhere(client, 1)
    form = {"csrf_token": token, "device": ["srx-a"], "confirm_minutes": "5"}

    response = client.post(f"/sync/jobs/{preview_id}/sync", data=form)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sync/")
    page = text(client.get(response.headers["Location"]))
    assert "srx-a no longer exists; it was not synced." in page
    assert not client.application.extensions[JOBS].get(preview_id).claimed


@contextmanager
def deleted_as_the_job_starts(app, *device_ids: int):
    """Another window deletes devices after the click, before the work reads
    them."""
    real_start = threading.Thread.start

    def start(thread):
        if thread.name.startswith("job-"):
            db = store.connect(app.config["DATABASE"])
            try:
                for device_id in device_ids:
                    inv.delete_device(db, device_id)
            finally:
                db.close()
        real_start(thread)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs_module.threading.Thread, "start", start)
        yield


def test_a_device_deleted_as_the_sync_starts_is_reported_not_synced(
    app, client, token, creds, fakesrx
):
    preview_id = previewed(
        client,
        token,
        [("srx-a", fakesrx(hostname="srx-a")), ("srx-b", fakesrx(hostname="srx-b"))],
    )
    form = {"csrf_token": token, "device": ["srx-a", "srx-b"], "confirm_minutes": "5"}

    with deleted_as_the_job_starts(app, 2):
        response = client.post(f"/sync/jobs/{preview_id}/sync", data=form)
    job_id, state = wait_job(client, response)

    assert outcomes(state) == {"srx-a": "synced", "srx-b": "cancelled"}
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "srx-b was deleted in another window before the work reached it" in page


def test_a_sync_whose_devices_were_all_deleted_gives_its_preview_back(
    app, client, token, creds, fakesrx
):
    preview_id = previewed(client, token, [("srx-a", fakesrx(hostname="srx-a"))])
    form = {"csrf_token": token, "device": ["srx-a"], "confirm_minutes": "5"}

    with deleted_as_the_job_starts(app, 1):
        response = client.post(f"/sync/jobs/{preview_id}/sync", data=form)
    _, state = wait_job(client, response)

    assert state["error"].startswith("Every device of this job was deleted")
    preview = client.application.extensions[JOBS].get(preview_id)
    assert preview.claimed == set()


def rename_elsewhere(client, device_id: int, name: str) -> None:
    """Rename a device as another window would, through its edit form."""
    page = lxml.html.fromstring(text(client.get(f"/devices/{device_id}/edit")))
    (form,) = page.xpath('//form[.//input[@name="name"]]')
    data = dict(form.form_values())
    data["name"] = name
    response = client.post(f"/devices/{device_id}/edit", data=data)
    assert response.status_code == 302, text(response)


def sync_from(client, token, preview_id: str, names: list[str]):
    form = {"csrf_token": token, "device": names, "confirm_minutes": "5"}
    return client.post(f"/sync/jobs/{preview_id}/sync", data=form)


@pytest.mark.parametrize("new_name", ["SRX-A", "srx-paris"])
def test_a_device_renamed_after_its_preview_is_synced_under_its_new_name(
    client, token, creds, fakesrx, new_name
):
    preview_id = previewed(
        client,
        token,
        [("srx-a", fakesrx(hostname="srx-a")), ("srx-b", fakesrx(hostname="srx-b"))],
    )
    rename_elsewhere(client, 1, new_name)

    response = sync_from(client, token, preview_id, ["srx-a", "srx-b"])
    job_id, state = wait_job(client, response)

    assert outcomes(state) == {new_name: "synced", "srx-b": "synced"}
    assert "no longer exist" not in text(client.get(f"/sync/jobs/{job_id}"))
    preview = client.application.extensions[JOBS].get(preview_id)
    assert preview.claimed == {"srx-a", "srx-b"}


def test_of_a_renamed_and_a_deleted_device_only_the_deleted_is_left_out(
    client, token, creds, fakesrx
):
    preview_id = previewed(
        client,
        token,
        [("srx-a", fakesrx(hostname="srx-a")), ("srx-b", fakesrx(hostname="srx-b"))],
    )
    rename_elsewhere(client, 1, "srx-paris")
    delete_elsewhere(client, 2)

    response = sync_from(client, token, preview_id, ["srx-a", "srx-b"])
    job_id, state = wait_job(client, response)

    assert outcomes(state) == {"srx-paris": "synced"}
    page = text(client.get(f"/sync/jobs/{job_id}"))
    assert "srx-b no longer exists; it was not synced." in page
    assert "srx-a no longer exists" not in page
    preview = client.application.extensions[JOBS].get(preview_id)
    assert preview.claimed == {"srx-a"}


def test_a_renamed_device_whose_sync_cannot_start_gets_its_preview_back(
    client, token, creds, fakesrx
):
    preview_id = previewed(client, token, [("srx-a", fakesrx(hostname="srx-a"))])
    rename_elsewhere(client, 1, "SRX-A")

    with job_threads_refused():
        refused = sync_from(client, token, preview_id, ["srx-a"])
    _, state = wait_job(client, refused)

    assert state["error"].startswith("Could not start the work")
    assert client.application.extensions[JOBS].get(preview_id).claimed == set()
    _, state = wait_job(client, sync_from(client, token, preview_id, ["srx-a"]))
    assert outcomes(state) == {"SRX-A": "synced"}


def test_a_preview_result_under_a_name_it_did_not_start_with_is_left_out(
    client, token, creds
):
    from deviceio.sync import DeviceResult, Outcome

    device_id = add_device(client, token, NOWHERE)
    preview = Job(
        id="renamed-as-it-began",
        kind="preview",
        title="Preview",
        devices={"srx-a": DeviceProgress("srx-a")},
        data={"ids": [device_id]},
    )
    preview.finish([DeviceResult("srx-b", Outcome.PREVIEWED, diff="+ x\n")])
    registry = client.application.extensions[JOBS]
    registry._jobs[preview.id] = preview
    form = {"csrf_token": token, "device": ["srx-b"], "confirm_minutes": "5"}

    response = client.post(f"/sync/jobs/{preview.id}/sync", data=form)

    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "srx-b no longer exists; it was not synced." in page
    assert preview.claimed == set()
