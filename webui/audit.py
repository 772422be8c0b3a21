"""The audit log pages: browse and filter every attempt, export as CSV."""

from __future__ import annotations

import re

from flask import Blueprint, Response, render_template, request

import store
from store import audit

from .db import get_db

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 100
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _filters() -> tuple[dict[str, str], audit.AuditFilter, list[str]]:
    """The filters as typed (for the form), as a query, and what is wrong."""
    args = request.args
    problems = []
    filters = {
        "device": args.get("device", "").strip(),
        "outcome": args.get("outcome", "").strip(),
        "action": args.get("action", "").strip(),
        "since": args.get("since", "").strip(),
        "until": args.get("until", "").strip(),
        "job_id": args.get("job", "").strip(),
    }
    for key, label in (("since", "From"), ("until", "To")):
        if filters[key] and not DATE_RE.fullmatch(filters[key]):
            problems.append(f"{label}: enter a date as YYYY-MM-DD.")
            filters[key] = ""
    query = audit.AuditFilter(**{k: v or None for k, v in filters.items()})
    return filters, query, problems


@bp.route("/")
def index():
    """The audit log, newest first, filtered by device, outcome and dates."""
    db = get_db()
    filters, query, problems = _filters()
    total = audit.count_entries(db, query)
    pages = max(1, -(-total // PAGE_SIZE))
    # a page past the end (an old link, a hand-typed number) shows the last one
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    entries = audit.list_entries(
        db, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "audit/index.html",
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        problems=problems,
        device_names=audit.known_values(db, "device_name"),
        outcomes=audit.known_values(db, "outcome"),
        actions=audit.known_values(db, "action"),
    )


@bp.route("/<int:entry_id>")
def entry(entry_id: int):
    """One attempt with its steps, diff and error, and the revision it names."""
    db = get_db()
    found = audit.get_entry(db, entry_id)
    return render_template(
        "audit/entry.html", entry=found, revision=_revision(db, found.revision_id)
    )


@bp.route("/export.csv")
def export_csv():
    """The filtered entries as CSV."""
    _, query, _ = _filters()
    entries = audit.list_entries(get_db(), query, limit=None)
    return Response(
        audit.export_csv(entries),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


def _revision(db, revision_id: int | None) -> store.Revision | None:
    """The revision an entry names, or None when it was deleted with its policy."""
    if revision_id is None:
        return None
    try:
        return store.get_revision(db, revision_id)
    except store.NotFound:
        return None
