"""The policy list and the policy editor: create, edit, rename, delete,
import and export."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

import store
from store.devices import devices_using_policy
from store.model import Policy, ValidationError

from . import forms, messages, previews
from .db import get_db
from .previews import load_sample
from .security import content_security_policy

log = logging.getLogger(__name__)

bp = Blueprint("policies", __name__)


@bp.route("/")
def index():
    """The policy list."""
    policies = store.list_policies(get_db())
    return render_template("policies/index.html", policies=policies)


@bp.route("/policies/new", methods=["GET", "POST"])
def create():
    """A new policy, starting from the default settings."""
    return _editor(None)


@bp.route("/policies/<int:policy_id>", methods=["GET", "POST"])
def edit(policy_id: int):
    """The policy editor."""
    try:
        stored = store.get_policy(get_db(), policy_id)
    except store.NotFound:
        if request.method != "POST":
            raise
        return _deleted_meanwhile()
    return _editor(stored)


@bp.route("/policies/new/preview", methods=["GET", "POST"])
def preview_new():
    """The three messages of a new policy as typed, without creating it."""
    if request.method == "GET":
        return redirect(url_for("policies.create"))
    return _preview(None)


@bp.route("/policies/<int:policy_id>/preview", methods=["GET", "POST"])
def preview(policy_id: int):
    """The three messages of a policy as typed in the editor, without saving."""
    if request.method == "GET":
        return redirect(url_for("policies.edit", policy_id=policy_id))
    try:
        stored = store.get_policy(get_db(), policy_id)
    except store.NotFound:
        return _deleted_meanwhile()
    return _preview(stored)


@bp.route("/policies/<int:policy_id>/rename", methods=["GET", "POST"])
def rename(policy_id: int):
    """Give a policy another name, as a new revision."""
    db = get_db()
    stored = store.get_policy(db, policy_id)
    form = forms.RenameForm()
    if request.method == "GET":
        form.name.data = stored.policy.name
        form.base_revision.data = str(stored.revision_id)
        return render_template("policies/rename.html", stored=stored, form=form)

    new_name = form.name.data or ""
    try:
        policy = Policy.from_dict({**stored.policy.to_dict(), "name": new_name})
        saved, changed = store.save_policy(
            db,
            policy_id,
            policy,
            form.note.data or f"Renamed from {stored.policy.name}.",
            base_revision=_base_revision(form.base_revision.data),
        )
    except ValidationError as exc:
        for key, message in exc.errors.items():
            form[key if key in ("name", "note") else "name"].errors = [message]
    except store.DuplicateName as exc:
        form.name.errors = [str(exc)]
    except store.StaleRevision as exc:
        flash(str(exc), "error")
        form.base_revision.data = str(stored.revision_id)
    else:
        if changed:
            flash(f"Renamed {stored.policy.name} to {saved.policy.name}.", "success")
        else:
            flash("The name is unchanged, so no new revision was saved.", "info")
        return redirect(url_for("policies.edit", policy_id=policy_id))
    return render_template("policies/rename.html", stored=stored, form=form), 422


@bp.route("/policies/<int:policy_id>/delete", methods=["GET", "POST"])
def delete(policy_id: int):
    """Ask, then delete a policy and all its revisions."""
    db = get_db()
    stored = store.get_policy(db, policy_id)
    if request.method == "GET":
        revisions = store.list_revisions(db, policy_id)
        return render_template(
            "policies/delete.html",
            stored=stored,
            count=len(revisions),
            devices=devices_using_policy(db, policy_id),
        )

    store.delete_policy(db, policy_id)
    flash(f"Deleted policy {stored.policy.name} and its revisions.", "success")
    return redirect(url_for("policies.index"))


@bp.route("/policies/<int:policy_id>/export.json")
def export(policy_id: int):
    """Download a policy as a JSON file."""
    stored = store.get_policy(get_db(), policy_id)
    text = store.dumps_policy(stored.policy)
    response = Response(text, mimetype="application/json")
    # policy names are letters, digits, '-' and '_' only: safe as a file name
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{stored.policy.name}.json"'
    )
    return response


@bp.route("/policies/import", methods=["GET", "POST"])
def import_():
    """Upload a policy file and store it as a new policy, or store nothing."""
    form = forms.ImportForm()
    if request.method == "GET":
        return render_template("policies/import.html", form=form, problems={})

    upload = form.file.data
    name = (form.name.data or "").strip() or None
    problems: dict[str, str] = {}
    if upload is None or not upload.filename:
        form.file.errors = ["Choose a policy file to import."]
    else:
        try:
            stored = store.import_policy(get_db(), upload.read(), name=name)
        except store.InvalidImport as exc:
            form.file.errors = [str(exc)]
            problems = exc.errors
            log.warning("Refused to import %r: %s", upload.filename, exc)
        else:
            flash(f"Imported policy {stored.policy.name}.", "success")
            return redirect(url_for("policies.edit", policy_id=stored.id))
    return render_template("policies/import.html", form=form, problems=problems), 422


def _editor(stored: store.StoredPolicy | None):
    if request.method == "GET":
        if stored is None:
            draft = forms.draft_from_policy(Policy(), None)
            draft["name"] = ""
        else:
            draft = forms.draft_from_policy(stored.policy, stored.revision_id)
        return _render_editor(stored, forms.form_from_draft(draft))

    draft = forms.draft_from_form(forms.PolicyForm())
    op = request.form.get("op", "save")
    if op == "edit":
        return _render_editor(
            stored, forms.form_from_draft(draft), unsaved=True, focus="preview-messages"
        )
    if op not in ("save", "preview"):
        focus = forms.apply_list_op(draft, op)
        if focus is None:
            abort(400, "The form asked for something this page does not do.")
        return _render_editor(
            stored, forms.form_from_draft(draft), unsaved=True, focus=focus
        )

    draft = forms.drop_blank_rows(draft)
    form = forms.form_from_draft(draft)
    try:
        policy = Policy.from_dict(forms.policy_data(draft))
        if op == "preview":
            return _render_editor(stored, form, unsaved=True, preview=policy)
        saved = _save(stored, policy, draft)
    except ValidationError as exc:
        return _refused(stored, form, exc.errors)
    except store.DuplicateName as exc:
        return _refused(stored, form, {"name": f"{exc} Choose another name."})
    except store.StaleRevision:
        current = store.get_policy(get_db(), stored.id)
        # saving again from this page replaces the newer revision on purpose
        form.base_revision.data = str(current.revision_id)
        return _render_editor(stored, form, unsaved=True, stale=current), 409

    if saved is None:
        flash("Nothing changed, so no new revision was saved.", "info")
        return redirect(url_for("policies.edit", policy_id=stored.id))
    flash(
        f"Saved policy {saved.policy.name} as revision {saved.revision_number}.",
        "success",
    )
    return redirect(url_for("policies.edit", policy_id=saved.id))


def _preview(stored: store.StoredPolicy | None):
    draft = forms.drop_blank_rows(forms.draft_from_form(forms.PolicyForm()))
    form = forms.form_from_draft(draft)
    try:
        policy = Policy.from_dict(forms.policy_data(draft))
        store.check_policy(
            get_db(), policy, draft["note"], policy_id=stored.id if stored else None
        )
    except ValidationError as exc:
        return _refused(stored, form, exc.errors)
    except store.DuplicateName as exc:
        return _refused(stored, form, {"name": f"{exc} Choose another name."})

    return previews.render_messages(
        "previews/unsaved.html", policy, stored=stored, form=form
    )


def _refused(
    stored: store.StoredPolicy | None, form: forms.PolicyForm, errors: dict[str, str]
) -> tuple[Response, int]:
    summary = forms.attach_errors(form, errors)
    return _render_editor(stored, form, unsaved=True, summary=summary), 422


def _deleted_meanwhile():
    # keep what was typed, offered as a new policy, rather than a bare 404
    draft = forms.drop_blank_rows(forms.draft_from_form(forms.PolicyForm()))
    draft["base_revision"] = ""
    flash(
        "Not saved: this policy was deleted in another window while you edited "
        "it. Your changes are below; create it as a new policy to keep them.",
        "error",
    )
    return _render_editor(None, forms.form_from_draft(draft), unsaved=True), 409


def _save(
    stored: store.StoredPolicy | None, policy: Policy, draft: dict[str, Any]
) -> store.StoredPolicy | None:
    db = get_db()
    note = draft["note"]
    if stored is None:
        return store.create_policy(db, policy, note)
    saved, changed = store.save_policy(
        db,
        stored.id,
        policy,
        note,
        base_revision=_base_revision(draft["base_revision"]),
    )
    return saved if changed else None


def _render_editor(
    stored: store.StoredPolicy | None,
    form: forms.PolicyForm,
    *,
    unsaved: bool = False,
    focus: str | None = None,
    summary: list[tuple[str, str]] | None = None,
    stale: store.StoredPolicy | None = None,
    preview: Policy | None = None,
) -> Response:
    hints = [forms.hostname_hint(entry.data or "") for entry in form.servers.entries]
    message = None
    if preview is not None:
        message = messages.end_user_message(preview, load_sample())
    response = Response(
        render_template(
            "policies/edit.html",
            stored=stored,
            form=form,
            unsaved=unsaved,
            focus="end-user-preview" if message else focus,
            summary=summary or [],
            stale=stale,
            hostname_hints=hints,
            preview=message and previews.describe("end-user", message),
        )
    )
    if message is not None:
        # the preview frame inherits this page's policy (see previews.index)
        response.headers["Content-Security-Policy"] = content_security_policy(
            style_hashes=(messages.EMAIL_CSS_HASH,)
        )
    return response


def _base_revision(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        abort(400, "The form did not say which revision it started from; reload it.")
