"""The device inventory pages: devices, passwords, host keys, tests, rollback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

import store
from deviceio.errors import DeviceError
from fleet.errors import MissingPasswords, TargetError
from store import audit, inventory
from store import devices as inv
from store.devices import AUTH_LABELS, Device, StoredDevice

from .db import get_db
from .jobs import Claim, JobFailed, JobRegistry

# fleet, deviceio.sync and keyring are imported by the views that talk to
# devices, so that serving the policy pages does not load the device stack
if TYPE_CHECKING:
    from fleet import actions
    from store.credentials import CredentialStore

log = logging.getLogger(__name__)

bp = Blueprint("devices", __name__, url_prefix="/devices")


@bp.errorhandler(MissingPasswords)
def ask_for_password(exc: MissingPasswords):
    """A device action that needs a password nobody has given yet."""
    flash("Enter the device's password first.", "warning")
    device_id = (request.view_args or {}).get("device_id")
    if device_id is None:
        return redirect(url_for("devices.index"))
    return redirect(url_for("devices.password", device_id=device_id))


@bp.errorhandler(TargetError)
@bp.errorhandler(DeviceError)
def explain_device_error(exc: Exception):
    """A device that could not be reached or refused: say why on its page."""
    flash(str(exc), "error")
    device_id = (request.view_args or {}).get("device_id")
    if device_id is None:
        return redirect(url_for("devices.index"))
    return redirect(url_for("devices.show", device_id=device_id))


CREDENTIALS = "imapdesk_credentials"
JOBS = "imapdesk_jobs"
SPARE_BINDING_ROWS = 2
BINDING_FIELDS = (
    "from_zone",
    "to_zone",
    "security_policy",
    "ssl_proxy",
    *inv.MATCH_LISTS,
    "place_before",
)


@bp.record_once
def _install(state) -> None:
    state.app.extensions.setdefault(JOBS, JobRegistry())


def credentials() -> CredentialStore:
    """The process's device passwords (keyring, or memory), opened on first use."""
    found = current_app.extensions.get(CREDENTIALS)
    if found is None:
        from store.credentials import process_store

        found = current_app.extensions.setdefault(CREDENTIALS, process_store())
    return found


def jobs() -> JobRegistry:
    return current_app.extensions[JOBS]


def context() -> actions.Context:
    from fleet import actions

    return actions.Context(source="window")


def load_device(device_id: int) -> StoredDevice:
    return inv.get_device(get_db(), device_id)


@bp.route("/")
def index():
    """The inventory."""
    db = get_db()
    return render_template(
        "devices/index.html",
        devices=inv.list_devices(db),
        creds=credentials(),
        auth_labels=AUTH_LABELS,
    )


@bp.route("/<int:device_id>")
def show(device_id: int):
    """One device: settings, facts, host key, last sync, recent attempts."""
    db = get_db()
    stored = load_device(device_id)
    return render_template(
        "devices/show.html",
        stored=stored,
        creds=credentials(),
        auth_labels=AUTH_LABELS,
        entries=audit.list_entries(db, audit.AuditFilter(device=stored.name), limit=10),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Add a device."""
    return _edit(None)


@bp.route("/<int:device_id>/edit", methods=["GET", "POST"])
def edit(device_id: int):
    """Change a device's settings."""
    try:
        stored = load_device(device_id)
    except store.NotFound:
        if request.method == "GET":
            raise
        return _deleted_elsewhere(_read_form())
    return _edit(stored)


def _edit(stored: StoredDevice | None):
    db = get_db()
    policies = store.list_policies(db)
    if request.method == "GET":
        return _render_form(stored, _form_values(stored, policies), {}, policies)
    values = _read_form()
    errors: dict[str, str] = {}
    try:
        device = Device.from_dict(values)
    except store.ValidationError as exc:
        errors = dict(exc.errors)
    if values["policy_id"] is None:
        errors["policy_id"] = "Choose the policy this device should carry."
    if errors:
        return _render_form(stored, values, errors, policies), 400
    try:
        if stored is None:
            saved = inv.create_device(db, device)
        else:
            saved = inv.update_device(db, stored.id, device)
    except store.DuplicateName as exc:
        return _render_form(stored, values, {"name": str(exc)}, policies), 400
    except store.NotFound:
        if stored is not None and not _device_exists(db, stored.id):
            return _deleted_elsewhere(values)
        # the policy chosen was deleted while the form was open
        errors = {"policy_id": "That policy no longer exists; choose another one."}
        return _render_form(stored, values, errors, store.list_policies(db)), 400
    _save_password(stored, saved, request.form.get("password", ""))
    flash(f"Saved device {saved.name}.", "success")
    return redirect(url_for("devices.show", device_id=saved.id))


def _deleted_elsewhere(values: dict[str, Any]):
    """The edit form again, as a new device, for one deleted while it was open."""
    policies = store.list_policies(get_db())
    page = _render_form(
        None, values, {}, policies, deleted=True, action=url_for("devices.create")
    )
    return page, 409


def _save_password(
    before: StoredDevice | None, saved: StoredDevice, password: str
) -> None:
    creds = credentials()
    if before is not None and before.name != saved.name:
        creds.rename(before.name, saved.name)
    if saved.device.auth == "agent":
        creds.forget(saved.name)
        return
    if password:
        where = creds.save(saved.name, password)
        if where == "memory":
            flash(
                "This computer has no keyring, so the password is kept in "
                "memory only, until IMAP Desk closes.",
                "info",
            )


def _form_values(
    stored: StoredDevice | None, policies: list[store.StoredPolicy]
) -> dict[str, Any]:
    if stored is None:
        only = policies[0].id if len(policies) == 1 else None
        return {"port": "830", "auth": "password", "policy_id": only, "bindings": []}
    d = stored.device
    return {
        "name": d.name,
        "host": d.host,
        "port": str(d.port),
        "user": d.user,
        "auth": d.auth,
        "key_file": d.key_file,
        "policy_id": d.policy_id,
        "bindings": [b.to_dict() for b in d.bindings],
    }


def _device_exists(db, device_id: int) -> bool:
    try:
        inv.get_device(db, device_id)
    except store.NotFound:
        return False
    return True


def _read_form() -> dict[str, Any]:
    form = request.form
    bindings = []
    for i in range(_binding_rows(form.get("binding_rows", ""))):
        row = {key: form.get(f"b{i}_{key}", "").strip() for key in BINDING_FIELDS}
        if any(row.values()):
            bindings.append(row)
    return {
        "name": form.get("name", "").strip(),
        "host": form.get("host", ""),
        "port": form.get("port", ""),
        "user": form.get("user", ""),
        "auth": form.get("auth", "password"),
        "key_file": form.get("key_file", ""),
        "policy_id": form.get("policy_id") or None,
        "bindings": bindings,
    }


def _binding_rows(value: str) -> int:
    # the form never has more rows than a device can hold plus the spare ones
    try:
        count = int(value or "0")
    except ValueError:
        abort(400, "The form did not say how many bindings it holds; reload it.")
    return max(0, min(count, inv.MAX_BINDINGS + SPARE_BINDING_ROWS))


def _render_form(stored, values, errors, policies, deleted=False, action=None):
    rows = list(values.get("bindings", []))
    rows += [{}] * SPARE_BINDING_ROWS
    # the keyboard starts at the first field to correct, or at the name
    fields = ("name", "host", "port", "user", "key_file", "policy_id")
    focus = next((key for key in fields if key in errors), None)
    return render_template(
        "devices/form.html",
        stored=stored,
        values=values,
        errors=errors,
        focus=focus or (None if errors else "name"),
        policies=policies,
        binding_rows=rows,
        auth_labels=AUTH_LABELS,
        keyring=credentials().persistent,
        has_password=stored is not None and credentials().has(stored.name),
        deleted=deleted,
        action=action,
    )


@bp.route("/<int:device_id>/delete", methods=["GET", "POST"])
def delete(device_id: int):
    """Remove a device (after a confirmation page)."""
    stored = load_device(device_id)
    if request.method == "GET":
        return render_template("devices/delete.html", stored=stored)
    inv.delete_device(get_db(), device_id)
    credentials().forget(stored.name)
    flash(f"Deleted device {stored.name}.", "success")
    return redirect(url_for("devices.index"))


@bp.route("/<int:device_id>/password", methods=["GET", "POST"])
def password(device_id: int):
    """Enter or replace a device's password."""
    stored = load_device(device_id)
    if request.method == "POST":
        given = request.form.get("password", "")
        if not given:
            flash("Enter the password.", "error")
        else:
            where = credentials().save(stored.name, given)
            kept = "in the keyring" if where == "keyring" else "in memory only"
            flash(f"The password of {stored.name} is kept {kept}.", "success")
            return redirect(url_for("devices.show", device_id=device_id))
    return render_template(
        "devices/password.html", stored=stored, keyring=credentials().persistent
    )


@bp.route("/<int:device_id>/test", methods=["POST"])
def test(device_id: int):
    """Connect to the device and show what it says of itself."""
    from deviceio.sync import Outcome
    from fleet import actions

    db = get_db()
    stored = load_device(device_id)
    result = actions.test_device(db, stored, credentials(), context=context())
    if result.outcome is Outcome.NO_CHANGE:
        facts = result.facts
        flash(
            f"Connected to {facts.hostname}, {facts.model} running Junos "
            f"{facts.version}, which supports IMAP policies."
            if facts
            else "Connected.",
            "success",
        )
    elif result.outcome in actions.HOSTKEY_OUTCOMES:
        return _hostkey_page(stored, result.host_key, result.error or "")
    else:
        flash(result.error or "The connection test failed.", "error")
    return redirect(url_for("devices.show", device_id=device_id))


@bp.route("/<int:device_id>/pending", methods=["POST"])
def check_pending(device_id: int):
    """Read the commit history to learn what became of an unconfirmed sync."""
    from deviceio.sync import Outcome
    from fleet import actions

    stored = load_device(device_id)
    result = actions.resolve_pending(get_db(), stored, credentials(), context=context())
    if result.outcome is Outcome.SYNCED:
        flash("The earlier sync was confirmed: the device is in sync.", "success")
    else:
        category = "warning" if result.outcome is Outcome.UNKNOWN else "error"
        flash(result.error or "The outcome is still not known.", category)
    return redirect(url_for("devices.show", device_id=device_id))


@bp.route("/<int:device_id>/hostkey", methods=["POST"])
def fetch_host_key(device_id: int):
    """Read the key the device presents and ask whether to trust it."""
    from fleet import actions

    stored = load_device(device_id)
    try:
        key_line, _ = actions.read_host_key(stored)
    except DeviceError as exc:
        flash(str(exc), "error")
        return redirect(url_for("devices.show", device_id=device_id))
    return _hostkey_page(stored, key_line, "")


def _hostkey_page(stored: StoredDevice, key_line: str | None, note: str):
    if not key_line:
        flash(note or "The device's host key could not be read.", "error")
        return redirect(url_for("devices.show", device_id=stored.id))
    from deviceio.hostkeys import fingerprint, same_key

    try:
        shown = fingerprint(key_line)
    except ValueError as exc:
        # only a form sent back by hand carries a key line that does not parse
        abort(400, str(exc))
    pinned = stored.host_key
    return render_template(
        "devices/hostkey.html",
        stored=stored,
        key_line=key_line,
        fingerprint=shown,
        key_type=key_line.split()[0],
        changed=pinned is not None and not same_key(pinned.key_line, key_line),
        same=pinned is not None and same_key(pinned.key_line, key_line),
        next_url=request.form.get("next") or "",
    )


@bp.route("/<int:device_id>/hostkey/trust", methods=["POST"])
def trust_host_key(device_id: int):
    """Pin the key the administrator was shown; a new first key."""
    return _trust(device_id, replace_changed=False)


@bp.route("/<int:device_id>/hostkey/retrust", methods=["POST"])
def retrust_host_key(device_id: int):
    """Replace a pinned key by a changed one, after explicit confirmation."""
    if request.form.get("confirm") != "yes":
        flash(
            "Tick the box to confirm that you checked the new fingerprint on "
            "the device itself.",
            "error",
        )
        stored = load_device(device_id)
        return _hostkey_page(stored, request.form.get("key_line", ""), "")
    return _trust(device_id, replace_changed=True)


def _trust(device_id: int, replace_changed: bool):
    from fleet import actions

    stored = load_device(device_id)
    key_line = request.form.get("key_line", "")
    try:
        fp = actions.trust_host_key(
            get_db(),
            stored,
            key_line,
            replace_changed=replace_changed,
            context=context(),
        )
    except actions.HostKeyRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("devices.show", device_id=device_id))
    except ValueError as exc:
        abort(400, str(exc))
    flash(f"Trusted the host key {fp} for {stored.name}.", "success")
    next_url = request.form.get("next", "")
    # only a path of this application: never another site
    if next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return redirect(next_url)
    return redirect(url_for("devices.show", device_id=device_id))


@bp.route("/<int:device_id>/history")
def history(device_id: int):
    """The device's commit history, with a rollback preview for each entry."""
    from fleet import actions

    stored = load_device(device_id)
    entries = actions.history_for_rollback(
        get_db(), stored, credentials(), None, preview=True, context=context()
    )
    return render_template("devices/history.html", stored=stored, entries=entries)


@bp.route("/<int:device_id>/rollback/preview", methods=["POST"])
def preview_rollback(device_id: int):
    """Show what ``rollback N`` would change, in a background job."""
    stored = load_device(device_id)
    n = _rollback_number()
    return _start_rollback(stored, n, preview=True)


@bp.route("/<int:device_id>/rollback", methods=["POST"])
def rollback(device_id: int):
    """Commit ``rollback N`` after its diff was shown and approved."""
    stored = load_device(device_id)
    n = _rollback_number()
    preview = jobs().get(request.form.get("preview_job", ""))
    previewed = (
        preview is not None
        and preview.kind == "rollback-preview"
        and preview.data.get("device_id") == stored.id
        and preview.data.get("n") == n
    )
    result = preview.result_for(stored.name) if previewed else None
    # a preview approves one commit: a second click starts nothing
    claim = preview.claim({stored.name}) if result is not None else None
    if claim is None:
        abort(400, "Preview the rollback again before committing it.")
    return _start_rollback(stored, n, preview=False, approved=result.diff, claim=claim)


def _rollback_number() -> int:
    try:
        n = int(request.form.get("n", ""))
    except ValueError:
        abort(400, "Choose a commit to roll back to.")
    if not 1 <= n <= 49:
        abort(400, "A device keeps rollbacks 1 to 49.")
    return n


def _start_rollback(
    stored: StoredDevice,
    n: int,
    preview: bool,
    approved: str | None = None,
    claim: Claim | None = None,
):
    from fleet import actions
    from fleet.targets import TargetError

    creds = credentials()
    if _needs_password(stored, creds):
        if claim is not None:
            claim.release()
        flash("Enter the device's password first.", "warning")
        return redirect(url_for("devices.password", device_id=stored.id))
    db_path = current_app.config["DATABASE"]
    minutes = _confirm_minutes()

    def work(job):
        db = store.connect(db_path)
        try:
            fresh = inv.get_device(db, stored.id)
            return [
                actions.rollback(
                    db,
                    fresh,
                    creds,
                    n,
                    preview=preview,
                    approved_diff=approved,
                    confirm_minutes=minutes,
                    on_event=job.on_event,
                    context=actions.Context("window", job.id),
                )
            ]
        except (TargetError, store.NotFound) as exc:
            raise JobFailed(str(exc)) from None
        finally:
            db.close()

    kind = "rollback-preview" if preview else "rollback"
    verb = "Preview of" if preview else ""
    title = f"{verb} rollback {n} on {stored.name}".strip()
    data = {"n": n, "device_id": stored.id}
    job = jobs().start(
        kind,
        title[0].upper() + title[1:],
        [stored.name],
        work,
        data,
        claim=claim,
    )
    return redirect(url_for("sync.job", job_id=job.id))


def _confirm_minutes() -> int:
    try:
        minutes = int(request.form.get("confirm_minutes", "5"))
    except ValueError:
        abort(400, "The confirmation time must be a number of minutes.")
    if not 1 <= minutes <= 65535:
        abort(400, "The confirmation time must be 1 to 65535 minutes.")
    return minutes


def _needs_password(stored: StoredDevice, creds: CredentialStore) -> bool:
    return stored.device.auth == "password" and not creds.has(stored.name)


@bp.route("/<int:device_id>/import-version", methods=["POST"])
def import_version(device_id: int):
    """Make the device's version of its policy the newest revision."""
    from fleet import actions

    stored = load_device(device_id)
    found = actions.import_device_version(
        get_db(), stored, credentials(), context=context()
    )
    name = found.policy.policy.name
    if found.changed:
        flash(
            f"Saved the device's version of {name} as revision "
            f"{found.policy.revision_number}.",
            "success",
        )
    else:
        flash(f"The device holds the same {name} as IMAP Desk.", "info")
    if found.bindings_changed:
        flash("The device's bindings replaced those of the inventory.", "info")
    if found.unknown_fields:
        flash(
            "The device does not hold these settings, which kept their "
            "defaults: " + ", ".join(sorted(found.unknown_fields)) + ".",
            "warning",
        )
    for warning in found.warnings:
        flash(warning, "warning")
    return redirect(url_for("devices.show", device_id=device_id))


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    """Import the inventory from a CSV file, all or nothing."""
    problems: list[inventory.RowProblem] = []
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choose a CSV file to import.", "error")
        else:
            try:
                result = inventory.import_inventory(get_db(), upload.read())
            except inventory.InvalidInventory as exc:
                problems = exc.problems
                flash(str(exc), "error")
            else:
                flash(
                    f"Imported the inventory: {len(result.added)} devices added, "
                    f"{len(result.updated)} updated.",
                    "success",
                )
                return redirect(url_for("devices.index"))
    return (
        render_template(
            "devices/import.html", problems=problems, columns=inventory.COLUMNS
        ),
        400 if problems else 200,
    )


@bp.route("/export.csv")
def export_csv():
    """Download the inventory as CSV (no passwords)."""
    text = inventory.export_inventory(inv.list_devices(get_db()))
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="devices.csv"'},
    )
