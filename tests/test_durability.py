"""An acknowledged save survives the process being killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import store

ROOT = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent(
    """
    import dataclasses, sys
    import store

    path = sys.argv[1]
    store.init_db(path)
    db = store.connect(path)
    stored = store.create_policy(db, store.Policy(name="durable"))
    print(stored.revision_number, stored.policy.subject, flush=True)
    for i in range(100_000):
        policy = dataclasses.replace(stored.policy, subject=f"save {i}")
        stored, _ = store.save_policy(
            db, stored.id, policy, f"note {i}", base_revision=stored.revision_id
        )
        # printed only once save_policy has returned: the save is acknowledged
        print(stored.revision_number, stored.policy.subject, flush=True)
    """
)


def test_acknowledged_saves_survive_kill_9(tmp_path):
    path = tmp_path / store.DB_FILENAME
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[tuple[int, str]] = []
    try:
        for line in writer.stdout:
            number, subject = line.rstrip("\n").split(" ", 1)
            acknowledged.append((int(number), subject))
            if len(acknowledged) >= 60:
                os.kill(writer.pid, signal.SIGKILL)
                break
    finally:
        if writer.poll() is None:
            os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
    # lines printed before the kill but not yet read are acknowledged too
    for line in writer.stdout:
        number, subject = line.rstrip("\n").split(" ", 1)
        acknowledged.append((int(number), subject))
    writer.stdout.close()

    assert writer.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 60
    db = store.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = store.get_policy_by_name(db, "durable")
        revisions = {r.number: r for r in store.list_revisions(db, stored.id)}
        for number, subject in acknowledged:
            assert revisions[number].policy.subject == subject
        # no revision is half there: each one's number is in sequence
        assert sorted(revisions) == list(range(1, len(revisions) + 1))
        assert stored.revision_number == max(revisions)
    finally:
        db.close()
