"""Syncing from the window: choose devices, preview, confirm, watch, stop.

Preview and sync run as background jobs (:mod:`webui.jobs`); the job page
polls ``/sync/jobs/<id>/status`` to draw the progress and, when the job is
done, shows each device's result. A sync is only started from a preview:
it carries the diffs the administrator saw, and a device whose diff has
changed since is previewed again instead of committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

import store
from fleet.errors import TargetError
from store import devices as inv
from store.devices import StoredDevice

from .db import get_db
from .devices import credentials, jobs
from .jobs import Claim, Job, JobFailed

# the device stack is imported by the views that use it, not with the module
if TYPE_CHECKING:
    from deviceio.sync import DeviceResult, SyncOptions

log = logging.getLogger(__name__)

bp = Blueprint("sync", __name__, url_prefix="/sync")


@bp.route("/")
def index():
    """The devices to choose from, with their sync state."""
    return render_template(
        "sync/index.html",
        devices=inv.list_devices(get_db()),
        creds=credentials(),
        selected=set(request.args.getlist("device", type=int)),
    )


@bp.route("/preview", methods=["POST"])
def preview():
    """Preview the selected devices, asking first for missing passwords."""
    from deviceio.sync import SyncOptions
    from fleet.targets import missing_passwords

    chosen, gone = _chosen_devices()
    _say_gone(gone, "previewed")
    if not chosen:
        return _nothing_chosen(
            "Choose at least one device to preview.",
            "There are no devices to sync. Add a device first.",
            gone,
        )
    overwrite = request.form.get("overwrite_drift") == "yes"
    asked = _take_passwords(chosen)
    missing = missing_passwords(chosen, credentials())
    if missing:
        return _password_page(chosen, missing, "sync.preview", overwrite, asked)
    options = SyncOptions(preview_only=True, overwrite_drift=overwrite)
    return _start_sync(chosen, options, "preview")


@bp.route("/drift", methods=["POST"])
def drift():
    """Check every chosen device (all devices when none are) for drift."""
    from fleet import actions
    from fleet.targets import missing_passwords

    chosen, gone = _chosen_devices(default_all=True)
    _say_gone(gone, "checked")
    if not chosen:
        return _nothing_chosen(
            "Choose at least one device to check.",
            "There are no devices to check. Add a device first.",
            gone,
        )
    asked = _take_passwords(chosen)
    missing = missing_passwords(chosen, credentials())
    if missing:
        return _password_page(chosen, missing, "sync.drift", False, asked)
    job = _start_job("drift", "Drift check", chosen, actions.check_drift_all, {})
    return redirect(url_for("sync.job", job_id=job.id))


@bp.route("/jobs/<job_id>/sync", methods=["POST"])
def confirm(job_id: str):
    """Sync the devices the administrator approved in a finished preview."""
    from deviceio.sync import Outcome, SyncOptions

    preview_job = _job(job_id)
    if preview_job.kind != "preview" or preview_job.running:
        abort(400, "Only a finished preview can be synced.")
    names = set(request.form.getlist("device"))
    approved = {
        r.device: r.diff
        for r in preview_job.results or []
        if r.device in names and r.outcome is Outcome.PREVIEWED
    }
    if not approved:
        flash("Choose at least one previewed device to sync.", "error")
        return redirect(url_for("sync.job", job_id=job_id))
    try:
        minutes = int(request.form.get("confirm_minutes", "5"))
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= 65535:
        flash("The confirmation time must be 1 to 65535 minutes.", "error")
        return redirect(url_for("sync.job", job_id=job_id))
    chosen, gone = _previewed_devices(preview_job, approved)
    _say_gone(gone, "synced")
    if not chosen:
        return redirect(url_for("sync.index"))
    claim = preview_job.claim(set(chosen))
    if claim is None:
        flash(
            "Some of these devices were already synced from this preview. "
            "Preview them again to sync them once more.",
            "error",
        )
        return redirect(url_for("sync.job", job_id=job_id))
    options = SyncOptions(
        confirm_minutes=minutes,
        approved_diffs={d.name: approved[name] for name, d in chosen.items()},
        all_or_nothing=request.form.get("all_or_nothing") == "yes",
        overwrite_drift=preview_job.data.get("overwrite_drift", False),
    )
    return _start_sync(
        list(chosen.values()),
        options,
        "sync",
        claim=claim,
    )


@bp.route("/jobs/<job_id>")
def job(job_id: str):
    """A job's progress, then its results."""
    from deviceio.sync import Outcome

    found = _job(job_id)
    devices = {}
    if not found.running:
        db = get_db()
        for name in found.devices:
            try:
                devices[name] = inv.get_device_by_name(db, name)
            except store.NotFound:
                continue
    return render_template(
        "sync/job.html",
        job=found,
        state=found.snapshot(),
        devices=devices,
        Outcome=Outcome,
    )


@bp.route("/jobs/<job_id>/status")
def status(job_id: str):
    """The job's progress as JSON, for the progress bar."""
    return jsonify(_job(job_id).snapshot())


@bp.route("/jobs/<job_id>/trust-keys", methods=["POST"])
def trust_keys(job_id: str):
    """Pin the first-contact keys this job met, for the devices ticked.

    The keys come from the job's own results, never from the form, so only
    a key the administrator was shown can be trusted here.
    """
    from deviceio.sync import Outcome
    from fleet import actions

    found = _job(job_id)
    chosen = set(request.form.getlist("device"))
    db = get_db()
    trusted, failed = [], False
    for result in found.results or []:
        if result.outcome is not Outcome.HOSTKEY_UNKNOWN or not result.host_key:
            continue
        if result.device not in chosen:
            continue
        try:
            stored = inv.get_device_by_name(db, result.device)
            actions.trust_host_key(
                db, stored, result.host_key, context=actions.Context("window", job_id)
            )
        except (store.NotFound, actions.HostKeyRefused, ValueError) as exc:
            flash(f"{result.device}: {exc}", "error")
            failed = True
            continue
        trusted.append(result.device)
    if trusted:
        flash(
            f"Trusted the host keys of {', '.join(trusted)}. Preview again to "
            "see their changes.",
            "success",
        )
    elif not failed:
        flash("Tick the devices whose keys you checked.", "warning")
    ids = [d.id for d in inv.list_devices(db) if d.name in found.devices]
    return redirect(url_for("sync.index", device=ids))


@bp.route("/jobs/<job_id>/cancel", methods=["POST"])
def cancel(job_id: str):
    """Ask the job to stop; devices stop between steps, nothing half-done."""
    found = _job(job_id)
    if found.running:
        found.cancel.set()
        flash(
            "Stopping: each device finishes its current step, then discards "
            "its changes and unlocks.",
            "info",
        )
    if request.accept_mimetypes.best == "application/json":
        return jsonify(found.snapshot())
    return redirect(url_for("sync.job", job_id=job_id))


def _job(job_id: str) -> Job:
    found = jobs().get(job_id)
    if found is None:
        abort(
            404,
            "This job is no longer known; jobs are forgotten when IMAP Desk "
            "closes. The audit log keeps what each one did.",
        )
    return found


def _chosen_devices(
    default_all: bool = False,
) -> tuple[list[StoredDevice], list[str]]:
    """The ticked devices, and the names of those deleted since they were ticked.

    A form names each device it offers in ``device_name_<id>``, so a device
    deleted in another window can still be named.
    """
    db = get_db()
    ids = request.form.getlist("device", type=int)
    if not ids and default_all:
        return inv.list_devices(db), []
    found, missing = inv.existing_devices(db, ids)
    gone = [
        request.form.get(f"device_name_{device_id}", "").strip()
        or f"Device number {device_id}"
        for device_id in missing
    ]
    return found, gone


def _previewed_devices(
    preview_job: Job, approved: dict[str, str]
) -> tuple[dict[str, StoredDevice], list[str]]:
    """The approved devices that still exist, under the names the preview
    knew them by, and the names of those deleted.

    Devices are found by the ids the preview kept, so one renamed since is
    still found. A device deleted after its preview is never claimed from
    the preview, so nothing of it is held back from a later sync.
    """
    ids = dict(zip(preview_job.devices, preview_job.data["ids"], strict=True))
    # a result under a name the preview did not start with (the device was
    # renamed as the preview began) cannot be matched safely: left out
    known = [name for name in approved if name in ids]
    found, missing = inv.existing_devices(get_db(), [ids[name] for name in known])
    kept = [name for name in known if ids[name] not in missing]
    gone = [name for name in approved if name not in kept]
    return dict(zip(kept, found, strict=True)), gone


def _say_gone(gone: list[str], done: str) -> None:
    """Say which ticked devices no longer exist and were left out."""
    if len(gone) == 1:
        flash(f"{gone[0]} no longer exists; it was not {done}.", "warning")
    elif gone:
        names = ", ".join(gone[:-1]) + " and " + gone[-1]
        flash(f"{names} no longer exist; they were not {done}.", "warning")


def _nothing_chosen(choose: str, add_first: str, gone: list[str]):
    """Back to the device list, saying whether to tick a device or add one.

    When the ticked devices were all deleted meanwhile, that was said already.
    """
    if not gone:
        flash(choose if inv.list_devices(get_db()) else add_first, "error")
    return redirect(url_for("sync.index"))


def _take_passwords(chosen: list[StoredDevice]) -> bool:
    """Keep the passwords typed on the password page; True if it was sent."""
    creds = credentials()
    asked = False
    for stored in chosen:
        field = f"password_{stored.id}"
        if field in request.form:
            asked = True
            if request.form[field]:
                creds.save(stored.name, request.form[field])
    return asked


def _password_page(chosen, missing, endpoint, overwrite, asked):
    if asked:
        flash("Enter a password for every device listed.", "error")
    return render_template(
        "sync/passwords.html",
        chosen=chosen,
        missing=missing,
        action=url_for(endpoint),
        overwrite=overwrite,
        keyring=credentials().persistent,
    )


def _check_targets(chosen: list[StoredDevice]) -> None:

    unassigned = [d.name for d in chosen if d.device.policy_id is None]
    if unassigned:
        raise TargetError(
            "Assign a policy to " + ", ".join(unassigned) + " before syncing."
        )


def _start_sync(
    chosen: list[StoredDevice],
    options: SyncOptions,
    kind: str,
    claim: Claim | None = None,
):
    from fleet import actions

    try:
        _check_targets(chosen)
    except TargetError as exc:
        if claim is not None:
            claim.release()
        flash(str(exc), "error")
        return redirect(url_for("sync.index"))
    count = len(chosen)
    title = f"{'Preview' if kind == 'preview' else 'Sync'} of {count} device" + (
        "s" if count != 1 else ""
    )
    data = {
        "overwrite_drift": options.overwrite_drift,
        "confirm_minutes": options.confirm_minutes,
        "all_or_nothing": options.all_or_nothing,
    }

    def sync_devices(db, devices, creds, **kwargs):
        return actions.sync_devices(db, devices, options, creds, **kwargs)

    started = _start_job(kind, title, chosen, sync_devices, data, claim)
    return redirect(url_for("sync.job", job_id=started.id))


def _start_job(
    kind: str,
    title: str,
    chosen: list[StoredDevice],
    action: Callable[..., list[DeviceResult]],
    data: dict[str, Any],
    claim: Claim | None = None,
) -> Job:
    """Run ``action(db, devices, creds, ...)`` as a background job.

    The job opens its own connection and reads the devices afresh, since the
    request that started it is over by the time it runs. ``claim`` holds the
    preview results it took, given back if the job cannot start.
    """
    from fleet import actions
    from fleet.targets import deleted_before_reached

    creds = credentials()
    db_path = current_app.config["DATABASE"]
    ids = [d.id for d in chosen]
    names = [d.name for d in chosen]

    def work(job: Job) -> list[DeviceResult]:
        db = store.connect(db_path)
        try:
            fresh, missing = inv.existing_devices(db, ids)
            if not fresh:
                raise JobFailed(
                    "Every device of this job was deleted in another window "
                    "before the work began; nothing was done."
                )
            results = action(
                db,
                fresh,
                creds,
                on_event=job.on_event,
                cancel=job.cancel,
                context=actions.Context("window", job.id),
            )
        except TargetError as exc:
            raise JobFailed(str(exc)) from None
        finally:
            db.close()
        named = dict(zip(ids, names, strict=True))
        return results + deleted_before_reached(named[i] for i in missing)

    return jobs().start(
        kind,
        title,
        names,
        work,
        {"ids": ids, **data},
        claim=claim,
    )
