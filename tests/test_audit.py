"""The audit log: recording, filtering, exporting, and never editing."""

from __future__ import annotations

import csv
import dataclasses
import io
import sqlite3

import lxml.html
import pytest

import store
from store import audit
from store.audit import AuditStep
from store.model import Policy

from .webui_support import open_store, text


def _record(
    db,
    device="srx-a",
    outcome="SYNCED",
    started="2026-03-01T10:00:00+00:00",
    **extra,
):
    return audit.record(
        db,
        action="sync",
        device_name=device,
        outcome=outcome,
        started_at=started,
        finished_at=started,
        policy_name="branch",
        revision_label="branch r2",
        diff="[edit services]\n+  policy branch { }",
        comment="IMAP Desk: branch r2",
        steps=[
            AuditStep("connect", "ok", "", 0.25),
            AuditStep("commit", "ok", "", 1.5),
        ],
        source="window",
        **extra,
    )


def test_an_entry_keeps_everything(db):
    entry = audit.get_entry(db, _record(db))
    assert entry.revision_label == "branch r2"
    assert [s.step for s in entry.steps] == ["connect", "commit"]
    assert entry.duration == pytest.approx(1.75)


def test_entries_cannot_be_changed_or_deleted(db):
    entry_id = _record(db)
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.execute("UPDATE audit_log SET outcome = 'FAILED' WHERE id = ?", [entry_id])
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        db.execute("DELETE FROM audit_log WHERE id = ?", [entry_id])


def test_filters(db):
    _record(db, "srx-a", "SYNCED", "2026-03-01T10:00:00+00:00")
    _record(db, "srx-b", "FAILED", "2026-03-02T23:59:00+00:00")
    _record(db, "srx-a", "FAILED", "2026-03-03T00:00:00+00:00")

    assert len(audit.list_entries(db, audit.AuditFilter(device="SRX-A"))) == 2
    assert len(audit.list_entries(db, audit.AuditFilter(outcome="FAILED"))) == 2
    dated = audit.list_entries(
        db, audit.AuditFilter(since="2026-03-02", until="2026-03-02")
    )
    assert [e.device_name for e in dated] == ["srx-b"]
    assert (
        audit.count_entries(db, audit.AuditFilter(outcome="FAILED", device="srx-a"))
        == 1
    )
    assert audit.known_values(db, "device_name") == ["srx-a", "srx-b"]
    newest_first = [e.started_at[:10] for e in audit.list_entries(db)]
    assert newest_first == ["2026-03-03", "2026-03-02", "2026-03-01"]


def test_list_and_count_share_one_filter(db):
    _record(db, "srx-a", "FAILED", "2026-03-01T10:00:00+00:00")
    _record(db, "srx-b", "FAILED", "2026-03-02T10:00:00+00:00")
    query = audit.AuditFilter(outcome="FAILED", until="2026-03-01")

    assert audit.AuditFilter().clause() == ("", [])
    assert [e.device_name for e in audit.list_entries(db, query)] == ["srx-a"]
    assert audit.count_entries(db, query) == 1
    assert audit.count_entries(db) == 2


def test_csv_export(db):
    _record(db)
    rows = list(csv.reader(io.StringIO(audit.export_csv(audit.list_entries(db)))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["device"] == "srx-a"
    assert row["steps"] == "connect=ok (0.2 s); commit=ok (1.5 s)"
    assert row["diff"].startswith("[edit services]")


def test_csv_export_defuses_formulas(db):
    audit.record(
        db,
        action="sync",
        device_name="srx",
        outcome="FAILED",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:00+00:00",
        error="=HYPERLINK(1)",
    )
    rows = list(csv.reader(io.StringIO(audit.export_csv(audit.list_entries(db)))))
    assert rows[1][audit.CSV_COLUMNS.index("error")] == "'=HYPERLINK(1)"


def test_unknown_actions_are_refused(db):
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit.record(
            db,
            action="reboot",
            device_name="srx",
            outcome="x",
            started_at="",
            finished_at="",
        )


def test_the_entry_page_links_the_revision_it_names(app, client):
    db = open_store(app)
    try:
        kept = store.get_policy(db, 1)
        other = store.create_policy(db, dataclasses.replace(Policy(), name="other"))
        linked = _record(db, revision_id=kept.revision_id)
        unlinked = _record(db, revision_id=other.revision_id)
        unnamed = _record(db)
        store.delete_policy(db, other.id)
    finally:
        db.close()

    page = lxml.html.fromstring(text(client.get(f"/audit/{linked}")))
    (link,) = page.xpath('//dd[@id="revision-id"]/a')
    assert link.text_content() == str(kept.revision_id)
    assert link.get("href") == f"/policies/1/history/#revision-{kept.revision_id}"
    history = lxml.html.fromstring(text(client.get(link.get("href"))))
    assert history.xpath(f'//tr[@id="revision-{kept.revision_id}"]')
    page = lxml.html.fromstring(text(client.get(f"/audit/{unlinked}")))
    (shown,) = page.xpath('//dd[@id="revision-id"]')
    assert not shown.xpath(".//a")
    assert shown.text_content().startswith(f"{other.revision_id} ")
    page = lxml.html.fromstring(text(client.get(f"/audit/{unnamed}")))
    assert not page.xpath('//dd[@id="revision-id"]')
