"""Start-up benchmark: how long until the policy page is ready, and how much memory.

    .venv/bin/python bench/startup.py [--runs 5] [--bundle dist/imapdesk/imapdesk]

Side by side, each several times after one discarded warm-up run:

- window: a bare pywebview window over a static page (the floor),
  ``python app.py`` and the built bundle, timed from just before the process
  is started until the page has loaded in the window (the window's test
  script writes the time, see webui/desktop.py);
- browser (``--no-window``): a bare Flask app (the floor), ``python app.py
  --no-window`` and the bundle, timed until the first GET of the launch URL
  has answered 200 with the policy page.

Peak memory is the largest resident size of the whole process tree
(the web view's helper processes included), sampled every 50 ms. Runs under
Xvfb, started here when there is no DISPLAY. Linux only.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.xvfb import start_xvfb  # noqa: E402

PYTHON = sys.executable
GOALS = {"python app.py": 1.3, "bundle": 1.5}
STAMP_SCRIPT = """
import time
with open({stamp!r}, "w") as out:
    out.write(repr(time.time()))
window.destroy()
"""


@dataclass
class Result:
    label: str
    floor: str | None = None
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)


class TreeMemory:
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.05):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as stat:
                        fields = stat.read().rsplit(b")", 1)[1].split()
                except OSError:
                    continue
                pid = int(entry.name)
                parents[pid] = int(fields[1])
                rss[pid] = int(fields[21]) * page
            tree, frontier = {self.pid}, [self.pid]
            while frontier:
                parent = frontier.pop()
                children = [p for p, pp in parents.items() if pp == parent]
                tree.update(children)
                frontier.extend(children)
            self.peak = max(self.peak, sum(rss.get(p, 0) for p in tree))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 1e6


def run_window(command: list[str], env: dict[str, str], stamp: Path):
    stamp.unlink(missing_ok=True)
    started = time.time()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    memory = TreeMemory(process.pid)
    code = process.wait(timeout=120)
    peak = memory.stop()
    if code != 0 or not stamp.exists():
        raise RuntimeError(f"{command[-1]} failed with status {code}")
    return float(stamp.read_text()) - started, peak


def run_browser(command: list[str], env: dict[str, str]):
    started = time.time()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    memory = TreeMemory(process.pid)
    try:
        line = process.stdout.readline()
        url = line.split("Open ", 1)[1].strip()
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(url, timeout=60) as response:
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
        elapsed = time.time() - started
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return elapsed, memory.stop()


def start_display() -> subprocess.Popen | None:
    """Start Xvfb and use it, unless a display is already there."""
    if os.environ.get("DISPLAY"):
        return None
    server, display = start_xvfb()
    os.environ["DISPLAY"] = display
    return server


def measure(runs: int, bundle: Path | None, work: Path) -> list[Result]:
    env = dict(os.environ)
    env.update(
        XDG_CONFIG_HOME=str(work / "config"),
        XDG_STATE_HOME=str(work / "state"),
        QT_QPA_PLATFORM="xcb",
    )
    env.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
    stamp = work / "stamp"
    script = work / "stamp.py"
    script.write_text(STAMP_SCRIPT.format(stamp=str(stamp)))
    hooked = {**env, "IMAPDESK_TEST_SCRIPT": str(script)}

    window = [
        (
            Result("bare pywebview window"),
            [PYTHON, str(ROOT / "bench" / "bare_window.py"), str(stamp)],
        ),
        (
            Result("python app.py", "bare pywebview window"),
            [PYTHON, str(ROOT / "app.py"), "--data-dir", str(work / "data-app")],
        ),
    ]
    browser = [
        (Result("bare Flask app"), [PYTHON, str(ROOT / "bench" / "bare_flask.py")]),
        (
            Result("python app.py", "bare Flask app"),
            [
                PYTHON,
                str(ROOT / "app.py"),
                "--no-window",
                "--data-dir",
                str(work / "data-app"),
            ],
        ),
    ]
    if bundle:
        window.append(
            (
                Result("bundle", "bare pywebview window"),
                [str(bundle), "--data-dir", str(work / "data-bundle")],
            )
        )
        browser.append(
            (
                Result("bundle", "bare Flask app"),
                [str(bundle), "--no-window", "--data-dir", str(work / "data-bundle")],
            )
        )

    for n in range(runs + 1):  # the first round warms the caches and is dropped
        for result, command in window:
            seconds, peak = run_window(command, hooked, stamp)
            if n:
                result.seconds.append(seconds)
                result.peak_mb.append(peak)
        for result, command in browser:
            seconds, peak = run_browser(command, env)
            if n:
                result.seconds.append(seconds)
                result.peak_mb.append(peak)
    return [r for r, _ in window], [r for r, _ in browser]


def table(title: str, results: list[Result]) -> str:
    floors = {r.label: statistics.median(r.seconds) for r in results if r.floor is None}
    lines = [
        f"{title}",
        "",
        "| start-up | median s | min s | max s | × floor | goal | peak MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        median = statistics.median(r.seconds)
        ratio = median / floors[r.floor] if r.floor else 1.0
        goal = f"≤ {GOALS[r.label]}×" if r.floor and title.startswith("Window") else ""
        lines.append(
            f"| {r.label} | {median:.2f} | {min(r.seconds):.2f} | "
            f"{max(r.seconds):.2f} | {ratio:.2f} | {goal} | "
            f"{statistics.median(r.peak_mb):.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--bundle",
        type=Path,
        default=ROOT / "dist" / "imapdesk" / "imapdesk",
        help="the built executable (default: dist/imapdesk/imapdesk)",
    )
    args = parser.parse_args()
    bundle = args.bundle if args.bundle.exists() else None
    if bundle is None:
        print(f"No bundle at {args.bundle}; build it with scripts/build to include it.")
    xvfb = start_display()
    work = Path(tempfile.mkdtemp(prefix="imapdesk-bench-"))
    try:
        window, browser = measure(args.runs, bundle, work)
    finally:
        if xvfb:
            xvfb.terminate()
        shutil.rmtree(work, ignore_errors=True)
    python = sys.version.split()[0]
    print(f"{args.runs} runs each, {os.cpu_count()} CPUs, Python {python}\n")
    print(table("Window: until the policy page has loaded", window))
    print()
    print(table("Browser (--no-window): until the launch URL answers 200", browser))
    return 0


if __name__ == "__main__":
    sys.exit(main())
