"""A policy's revision history: the list, the comparison of two revisions,
and restoring one as a new revision."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

import store
from store.model import FieldChange, diff_policies, display_hostname

from . import forms
from .db import get_db

log = logging.getLogger(__name__)

bp = Blueprint("history", __name__, url_prefix="/policies/<int:policy_id>/history")


@dataclass(frozen=True)
class ListLine:
    """One line of a list in a comparison: kept, added or removed."""

    state: str
    text: str


@bp.route("/")
def index(policy_id: int):
    """Every revision of a policy, newest first, with a compare form."""
    db = get_db()
    stored = store.get_policy(db, policy_id)
    revisions = store.list_revisions(db, policy_id)
    numbers = {r.id: r.number for r in revisions}
    return render_template(
        "history/index.html",
        stored=stored,
        revisions=revisions,
        numbers=numbers,
        older=revisions[1].id if len(revisions) > 1 else revisions[0].id,
        newer=revisions[0].id,
    )


@bp.route("/compare")
def compare(policy_id: int):
    """The field-by-field differences between two revisions."""
    db = get_db()
    stored = store.get_policy(db, policy_id)
    old = _revision_of(policy_id, request.args.get("a"))
    new = _revision_of(policy_id, request.args.get("b"))
    if old.number > new.number:
        old, new = new, old
    changes = [_present(change) for change in diff_policies(old.policy, new.policy)]
    return render_template(
        "history/compare.html", stored=stored, old=old, new=new, changes=changes
    )


@bp.route("/<int:revision_id>/restore", methods=["GET", "POST"])
def restore(policy_id: int, revision_id: int):
    """Ask, then make an earlier revision current again as a new revision."""
    db = get_db()
    stored = store.get_policy(db, policy_id)
    revision = _revision_of(policy_id, str(revision_id))
    form = forms.NoteForm()
    if request.method == "GET":
        changes = [_present(c) for c in diff_policies(stored.policy, revision.policy)]
        return render_template(
            "history/restore.html",
            stored=stored,
            revision=revision,
            form=form,
            changes=changes,
        )

    try:
        restored = store.restore_revision(
            db, policy_id, revision.id, form.note.data or ""
        )
    except store.ValidationError as exc:
        form.note.errors = list(exc.errors.values())
    except store.DuplicateName as exc:
        flash(f"{exc} Rename that policy first, then restore.", "error")
        return redirect(url_for("history.index", policy_id=policy_id))
    else:
        flash(
            f"Restored revision {revision.number} as revision "
            f"{restored.revision_number}.",
            "success",
        )
        return redirect(url_for("history.index", policy_id=policy_id))
    return (
        render_template(
            "history/restore.html",
            stored=stored,
            revision=revision,
            form=form,
            changes=[],
        ),
        422,
    )


def _revision_of(policy_id: int, raw: str | None) -> store.Revision:
    try:
        revision = store.get_revision(get_db(), int(raw or ""))
    except ValueError:
        abort(400, "Choose two revisions to compare.")
    if revision.policy_id != policy_id:
        abort(404, "That revision belongs to another policy.")
    return revision


def _present(change: FieldChange) -> dict[str, Any]:
    """A change ready for the template: scalar text or lines of a list."""
    if change.field == "servers":
        return {
            "label": change.label,
            "lines": _list_lines(
                [hostname_label(s) for s in change.old],
                [hostname_label(s) for s in change.new],
            ),
        }
    if change.field == "administrators":
        return {
            "label": change.label,
            "lines": _list_lines(
                [admin_label(a) for a in change.old],
                [admin_label(a) for a in change.new],
            ),
        }
    return {
        "label": change.label,
        "old": display_value(change.old),
        "new": display_value(change.new),
    }


def _list_lines(old: list[str], new: list[str]) -> list[ListLine]:
    lines = [ListLine("removed", text) for text in old if text not in new]
    for text in new:
        lines.append(ListLine("kept" if text in old else "added", text))
    return lines


def hostname_label(ascii_name: str) -> str:
    """A stored hostname in both forms when it is internationalised."""
    shown = display_hostname(ascii_name)
    return shown if shown == ascii_name else f"{shown} ({ascii_name})"


def admin_label(admin: dict[str, Any]) -> str:
    """An administrator and the notifications they receive, in one line."""
    kinds = [
        label
        for key, label in (("block", "Block"), ("unblock", "Unblock"))
        if admin.get(key)
    ]
    receives = " and ".join(kinds) + " Notifications" if kinds else "no notifications"
    return f"{admin['email']}: {receives}"


def display_value(value: Any) -> str:
    """A scalar field value in words."""
    if value is True:
        return "On"
    if value is False:
        return "Off"
    if value == "":
        return "(blank)"
    return str(value)
