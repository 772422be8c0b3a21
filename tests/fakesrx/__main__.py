"""Run simulated SRX devices until interrupted.

    python -m tests.fakesrx --port 8300 --user admin --password secret --count 10

prints one line per device (host, port, host-key fingerprint) and serves until
Ctrl-C or SIGTERM.  Faults are ``--fault name[=value]``, for example
``--fault latency=0.2 --fault commit_delay=40`` (see ``faults.Faults``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .faults import Faults
from .server import start_many


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fakesrx")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="first port; 0: any")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="admin123")
    parser.add_argument("--public-key", type=Path, help="OpenSSH .pub file")
    parser.add_argument("--state-dir", type=Path, help="keep devices' state here")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--hostname", default="srx", help="prefix of host names")
    parser.add_argument("--model", default="srx345")
    parser.add_argument("--version", default="23.4R1.9")
    parser.add_argument("--release", default="24.4R1", help="YANG release")
    parser.add_argument("--minute-seconds", type=float, default=60.0)
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument(
        "--netconf-11", action="store_true", help="offer base:1.1 chunked framing"
    )
    parser.add_argument("--fault", action="append", default=[], metavar="NAME[=V]")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        Faults.parse(args.fault)
    except ValueError as exc:
        parser.error(str(exc))
    public_key = args.public_key.read_text().strip() if args.public_key else None
    devices = start_many(
        args.count,
        host=args.host,
        port=args.port,
        user=args.user,
        password=args.password,
        public_key=public_key,
        state_dir=args.state_dir,
        hostname=args.hostname,
        model=args.model,
        version=args.version,
        release=args.release,
        minute_seconds=args.minute_seconds,
        validate=not args.no_validate,
        netconf_11=args.netconf_11,
        faults_factory=lambda: Faults.parse(args.fault),
    )
    for srx in devices:
        print(f"{srx.host} {srx.port} {srx.fingerprint}", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    for srx in devices:
        srx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
