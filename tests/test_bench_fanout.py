"""The fan-out benchmark still runs: a tiny fleet, both ways, one table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("placement", ["split", "shared"])
def test_benchmark_prints_a_row_per_size(placement):
    out = subprocess.run(
        [
            sys.executable,
            "bench/sync_fanout.py",
            "--sizes",
            "1,2",
            "--latency",
            "0.01",
            "--repeat",
            "1",
            "--placement",
            placement,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| devices |")
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]
    assert [row[0] for row in cells] == ["1", "2"]
    for row in cells:
        assert row[3] == "9", "RPCs per device in run_sync"
        assert row[8] == "9", "RPCs per device in the PyEZ loop"
    header = out.stdout.splitlines()[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    split = placement == "split" and cpus >= 2
    assert ("devices on CPU" in header) == split
