"""A password never shows: not in logs, messages, results or repr."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from deviceio import sync
from deviceio.driver import JunosDriver
from deviceio.errors import DeviceError
from deviceio.sync import Outcome, Step, SyncOptions
from tests.sync_support import make_target

SECRET = "Kestrel-9-Hollow-Tide"


def _everything_said(results) -> str:
    parts = []
    for result in results:
        parts.append(repr(result))
        parts.append(result.error or "")
        parts.extend(e.message for e in result.steps)
    return "\n".join(parts)


def test_repr_hides_the_password():
    credentials = sync.Credentials(password=SECRET)
    target = sync.DeviceTarget(
        name="r1", host="192.0.2.1", user="admin", credentials=credentials
    )
    assert SECRET not in repr(credentials)
    assert SECRET not in repr(target)
    assert SECRET not in str(target)
    assert SECRET not in repr(JunosDriver(target))


def test_password_never_logged_or_shown(fakesrx, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    good = fakesrx(password=SECRET)
    wrong = fakesrx(password="something-else")
    locked = fakesrx(password=SECRET)
    locked.faults.lock_held_by = "jsmith"
    changed = fakesrx(password=SECRET)
    targets = [
        make_target(good, password=SECRET),
        make_target(wrong, password=SECRET),
        make_target(locked, password=SECRET),
        replace(make_target(changed, password=SECRET), pinned_host_key=None),
    ]

    def drop_at_verify(event):
        if event.step == Step.VERIFY and event.status == "started":
            good.faults.drop_at_rpc = "get-configuration"

    results = sync.run_sync(
        targets,
        SyncOptions(all_or_nothing=False, timeout=3),
        on_event=drop_at_verify,
    )
    results.append(sync.test_connection(targets[1]))
    results.append(sync.check_drift(targets[0]))

    assert [r.outcome for r in results[:4]] == [
        Outcome.UNKNOWN,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.HOSTKEY_UNKNOWN,
    ]
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in str(record.args)
    assert SECRET not in _everything_said(results)


def test_exceptions_do_not_carry_the_password(fakesrx):  # noqa: F811
    srx = fakesrx(password="another-one")
    target = make_target(srx, password=SECRET)
    with pytest.raises(DeviceError) as info:
        sync.fetch_managed(target)
    error = info.value
    assert "refused the login" in str(error)
    chain = []
    item: BaseException | None = error
    while item is not None and len(chain) < 10:
        chain.append(item)
        item = item.__cause__ or item.__context__
    for item in chain:
        assert SECRET not in str(item)
        assert SECRET not in repr(item)
        assert SECRET not in repr(item.args)
