"""Host keys: first contact, accepting a new key, a match, a changed key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from deviceio import sync
from deviceio.hostkeys import normalize_key, parse_key_line, pinned_ssh_config
from deviceio.sync import Outcome, SyncOptions
from tests.sync_support import (
    assert_clean,
    assert_unchanged,
    holds_intended,
    host_key,
    make_target,
)


def test_fingerprint_matches_ssh_keygen(fakesrx):  # noqa: F811
    srx = fakesrx()
    assert sync.fingerprint(host_key(srx)) == srx.fingerprint
    presented = sync.fetch_host_key(srx.host, srx.port, 5)
    assert presented == host_key(srx)


def test_key_lines_are_checked():
    with pytest.raises(ValueError):
        parse_key_line("ssh-ed25519")
    with pytest.raises(ValueError):
        parse_key_line("ssh-dss AAAAB3NzaC1kc3M=")
    with pytest.raises(ValueError):
        parse_key_line("ssh-ed25519 !!!notbase64")
    rsa_blob = "AAAAB3NzaC1yc2EAAAADAQAB"
    with pytest.raises(ValueError, match="does not match its type"):
        parse_key_line(f"ssh-ed25519 {rsa_blob}")


def test_pinned_config_holds_only_the_pinned_key(fakesrx):  # noqa: F811
    srx = fakesrx()
    with pinned_ssh_config("127.0.0.1", 830, host_key(srx) + " comment") as path:
        text = Path(path).read_text()
        known = text.split("UserKnownHostsFile", 1)[1].strip()
        lines = Path(known).read_text().splitlines()
    assert lines == [f"127.0.0.1,[127.0.0.1]:830 {normalize_key(host_key(srx))}"]


def test_first_contact_reports_the_key_and_changes_nothing(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    target = make_target(srx, pinned=False)

    [result] = sync.run_sync([target])

    assert result.outcome == Outcome.HOSTKEY_UNKNOWN
    assert result.host_key == host_key(srx)
    assert result.host_key_fingerprint == srx.fingerprint
    assert srx.fingerprint in result.error
    assert_unchanged(srx, before)
    assert_clean(srx)
    assert sync.test_connection(target).outcome == Outcome.HOSTKEY_UNKNOWN


def test_accepting_a_new_key_proceeds_and_reports_it(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = make_target(srx, pinned=False)

    [result] = sync.run_sync([target], SyncOptions(accept_new_host_key=True))

    assert result.outcome == Outcome.SYNCED, result.error
    assert result.host_key == host_key(srx)
    assert holds_intended(srx, target)


def test_matching_key_connects(fakesrx):  # noqa: F811
    srx = fakesrx()
    result = sync.test_connection(make_target(srx))
    assert result.outcome == Outcome.NO_CHANGE
    assert result.host_key == host_key(srx)
    assert any("matches the pinned key" in e.message for e in result.steps)


def test_changed_key_is_refused(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()
    target = make_target(srx)
    srx.faults.wrong_host_key = True

    [result] = sync.run_sync([target], SyncOptions(accept_new_host_key=True))

    assert result.outcome == Outcome.HOSTKEY_CHANGED
    assert result.host_key and result.host_key != host_key(srx)
    assert "WARNING" in result.error
    assert srx.fingerprint in result.error
    assert sync.fingerprint(result.host_key) in result.error
    assert_unchanged(srx, before)
    assert_clean(srx)
    tested = sync.test_connection(target)
    assert tested.outcome == Outcome.HOSTKEY_CHANGED


def test_damaged_pinned_key_is_refused(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = replace(make_target(srx), pinned_host_key="ssh-ed25519 AAAA")
    result = sync.test_connection(target)
    assert result.outcome == Outcome.HOSTKEY_CHANGED
    assert "damaged" in result.error
