"""The store: policies, revisions, settings and the JSON file format."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

import store
from store.model import LIMITS, Administrator, Policy, diff_policies


def test_first_start_creates_one_default_policy(db):
    store.ensure_default_policy(db)
    store.ensure_default_policy(db)

    policies = store.list_policies(db)
    assert [p.policy for p in policies] == [Policy()]
    assert policies[0].revision_number == 1


def test_every_save_writes_one_revision(db):
    first = store.create_policy(db, Policy(name="branch"))
    changed = dataclasses.replace(first.policy, subject="Blocked")

    saved, did_change = store.save_policy(db, first.id, changed, "new subject")
    again, changed_again = store.save_policy(db, first.id, changed)

    assert did_change and not changed_again
    assert saved.revision_number == again.revision_number == 2
    revisions = store.list_revisions(db, first.id)
    assert [r.number for r in revisions] == [2, 1]
    assert revisions[0].policy.subject == "Blocked"
    assert revisions[0].note == "new subject"


def test_revisions_cannot_be_edited(db):
    first = store.create_policy(db, Policy(name="branch"))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.execute("UPDATE revisions SET data = '{}' WHERE id = ?", [first.revision_id])


def test_restore_makes_a_new_revision(db):
    first = store.create_policy(db, Policy(name="branch"))
    store.save_policy(db, first.id, dataclasses.replace(first.policy, action="permit"))

    restored = store.restore_revision(db, first.id, first.revision_id)

    assert restored.revision_number == 3
    assert restored.policy == first.policy
    newest = store.list_revisions(db, first.id)[0]
    assert newest.restored_from == first.revision_id
    assert "Restored revision 1" in newest.note


def test_stale_save_is_refused(db):
    first = store.create_policy(db, Policy(name="branch"))
    store.save_policy(db, first.id, dataclasses.replace(first.policy, subject="A"))

    with pytest.raises(store.StaleRevision):
        store.save_policy(
            db,
            first.id,
            dataclasses.replace(first.policy, subject="B"),
            base_revision=first.revision_id,
        )
    assert store.get_policy(db, first.id).policy.subject == "A"


def test_names_are_unique_without_regard_to_case(db):
    store.create_policy(db, Policy(name="Branch"))
    with pytest.raises(store.DuplicateName):
        store.create_policy(db, Policy(name="branch"))
    assert len(store.list_policies(db)) == 1


def test_failed_save_leaves_nothing_behind(db):
    a = store.create_policy(db, Policy(name="a"))
    store.create_policy(db, Policy(name="b"))

    with pytest.raises(store.DuplicateName):
        store.save_policy(db, a.id, dataclasses.replace(a.policy, name="b"))

    assert store.get_policy(db, a.id).policy.name == "a"
    assert len(store.list_revisions(db, a.id)) == 1


def test_check_refuses_what_saving_refuses_and_writes_nothing(db):
    a = store.create_policy(db, Policy(name="a"))
    store.create_policy(db, Policy(name="b"))
    before = list(db.conn.iterdump())

    store.check_policy(db, Policy(name="A"), "a note", policy_id=a.id)
    store.check_policy(db, Policy(name="c"))
    with pytest.raises(store.DuplicateName):
        store.check_policy(db, Policy(name="B"), policy_id=a.id)
    with pytest.raises(store.DuplicateName):
        store.check_policy(db, Policy(name="a"))
    with pytest.raises(store.ValidationError) as refused:
        store.check_policy(db, a.policy, "n" * (LIMITS["note"] + 1), policy_id=a.id)

    assert "note" in refused.value.errors
    assert list(db.conn.iterdump()) == before


def test_delete_removes_policy_and_history(db):
    a = store.create_policy(db, Policy(name="a"))
    store.delete_policy(db, a.id)
    with pytest.raises(store.NotFound):
        store.get_policy(db, a.id)
    assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] == 0


def test_database_settings(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_settings_round_trip(db):
    assert store.get_setting(db, "samples", {"x": 1}) == {"x": 1}
    store.set_setting(db, "samples", {"sender": "ö@example.com"})
    assert store.get_setting(db, "samples") == {"sender": "ö@example.com"}


def test_diff_names_changed_fields_with_page_labels():
    old = Policy()
    new = dataclasses.replace(
        old, action="permit", administrators=(Administrator("a@example.com"),)
    )
    changes = diff_policies(old, new)
    assert [c.label for c in changes] == ["Action to take", "Administrators"]
    assert changes[0].old == "block" and changes[0].new == "permit"


def full_policy() -> Policy:
    return Policy.from_dict(
        {
            "name": "Full_policy-1",
            "action": "permit",
            "server_scope": "specific",
            "servers": ["imap.example.com", "Bücher.example."],
            "learn_more_url": "https://intranet.example.com/mail?a=1&b=2",
            "subject": "Schadsoftware erkannt <b>",
            "custom_message": 'Line one\nLine "two" & <three>',
            "custom_link_text": "Mehr erfahren",
            "administrators": [
                {"email": "soc@example.com", "block": True, "unblock": False},
                {"email": "noc@example.com", "block": False, "unblock": True},
            ],
            "inspection_profile": "imap_profile",
            "verdict_threshold": "7",
            "log_notifications": False,
            "fallback_action": "block",
            "fallback_log": False,
        }
    )


def test_json_round_trip(db):
    policy = full_policy()
    assert policy.servers == ("imap.example.com", "xn--bcher-kva.example")

    text = store.dumps_policy(policy)
    imported = store.import_policy(db, text.encode(), name="copy")

    assert json.loads(text)["version"] == 1
    assert imported.policy == dataclasses.replace(policy, name="copy")


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"format": "other", "version": 1, "policy": {}}', "format"),
        (b'{"format": "imapdesk-policy", "version": 9, "policy": {}}', "version 9"),
        (
            b'{"format": "imapdesk-policy", "version": 1, "policy": '
            b'{"name": "ok", "servers": ["10.0.0.1"]}}',
            "policy.servers[0]",
        ),
        (
            b'{"format": "imapdesk-policy", "version": 1, "policy": '
            b'{"name": "ok", "colour": "red"}}',
            "policy.colour",
        ),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_invalid_files_are_refused_whole(db, document, named):
    with pytest.raises(store.InvalidImport, match=named.replace("[", r"\[")):
        store.import_policy(db, document)
    assert store.list_policies(db) == []
