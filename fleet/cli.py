"""The ``devices`` and ``sync`` commands of ``app.py``.

``app.py`` adds them to its parser with :func:`add_commands`; this module
imports nothing heavy at start-up, the device stack only when a command runs.

Passwords for ``sync`` come, in this order, from the environment variable
``IMAPDESK_DEVICE_PASSWORD`` (for every device that logs in with a
password), the keyring, or a prompt when standard input is a terminal;
never from an argument, which other users could read in the process list.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

PASSWORD_ENV = "IMAPDESK_DEVICE_PASSWORD"

OpenStore = Callable[[argparse.Namespace], Any]


class CliError(Exception):
    """A problem to report in one sentence, with exit status 2."""


def add_commands(
    sub: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    open_store: OpenStore,
) -> None:
    """Add ``devices import|list|export`` and ``sync`` to the parser."""
    devices = sub.add_parser(
        "devices", parents=[common], help="import, list or export the devices"
    )
    actions = devices.add_subparsers(dest="devices_command", metavar="ACTION")
    actions.required = True

    p = actions.add_parser(
        "import", parents=[common], help="add or update devices from a CSV file"
    )
    p.add_argument("file", metavar="FILE.csv")
    p.set_defaults(func=_bound(cmd_devices_import, open_store))

    p = actions.add_parser("list", parents=[common], help="list the devices")
    p.set_defaults(func=_bound(cmd_devices_list, open_store))

    p = actions.add_parser("export", parents=[common], help="write the devices as CSV")
    p.add_argument(
        "--out", metavar="FILE", help="file to write (default: standard output)"
    )
    p.set_defaults(func=_bound(cmd_devices_export, open_store))

    p = sub.add_parser(
        "sync",
        parents=[common],
        help="sync a policy to its devices",
        description="Sync a policy to the devices it is assigned to. Exit "
        "status 0 only when every device ends synced and verified (or already "
        f"in sync). Passwords come from {PASSWORD_ENV}, the keyring, or a prompt.",
    )
    p.add_argument("--policy", required=True, metavar="NAME")
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="D",
        help="only this device (repeat for more); default: every device "
        "the policy is assigned to",
    )
    p.add_argument(
        "--preview", action="store_true", help="show the changes, commit nothing"
    )
    p.add_argument(
        "--confirm-minutes",
        type=int,
        default=5,
        metavar="N",
        help="commit confirmed timeout (default 5)",
    )
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust a device's key on first contact (a changed key still fails)",
    )
    p.add_argument(
        "--overwrite-drift",
        action="store_true",
        help="overwrite changes made on a device outside IMAP Desk",
    )
    p.add_argument(
        "--each-on-its-own",
        action="store_true",
        help="commit on the devices that pass even if another one fails "
        "(default: all or nothing)",
    )
    p.set_defaults(func=_bound(cmd_sync, open_store))


def _bound(command, open_store: OpenStore):
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args, open_store)
        except CliError as exc:
            print(f"imapdesk: {exc}", file=sys.stderr)
            return 2

    return run


def cmd_devices_import(args: argparse.Namespace, open_store: OpenStore) -> int:
    """Add or update devices from a CSV file, all or nothing."""
    from store import inventory

    path = Path(args.file)
    try:
        with path.open("rb") as file:
            # one byte past the limit is enough to refuse it: /dev/zero included
            data = file.read(inventory.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror}.") from None
    db = open_store(args)
    try:
        result = inventory.import_inventory(db, data)
    except inventory.InvalidInventory as exc:
        for problem in exc.problems:
            print(f"{path}:{problem.line}: {problem.message}", file=sys.stderr)
        raise CliError(str(exc)) from None
    finally:
        db.close()
    print(
        f"Imported {path.name}: {len(result.added)} devices added, "
        f"{len(result.updated)} updated."
    )
    return 0


def cmd_devices_list(args: argparse.Namespace, open_store: OpenStore) -> int:
    """List the devices, one a line."""
    from store import devices

    db = open_store(args)
    try:
        rows = devices.list_devices(db)
    finally:
        db.close()
    table = [("NAME", "HOST", "USER", "AUTH", "POLICY", "HOST KEY", "LAST SYNCED")]
    for stored in rows:
        d = stored.device
        state = stored.sync_state
        table.append(
            (
                d.name,
                f"{d.host}:{d.port}",
                d.user,
                d.auth,
                stored.policy_name or "-",
                stored.host_key.fingerprint if stored.host_key else "not trusted",
                f"{state.revision_label} {state.synced_at}" if state else "never",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print(
            "  ".join(
                cell.ljust(w) for cell, w in zip(row, widths, strict=True)
            ).rstrip()
        )
    return 0


def cmd_devices_export(args: argparse.Namespace, open_store: OpenStore) -> int:
    """Write the inventory as CSV, without passwords."""
    from store import devices, inventory

    db = open_store(args)
    try:
        text = inventory.export_inventory(devices.list_devices(db))
    finally:
        db.close()
    if args.out in (None, "-"):
        sys.stdout.write(text)
        return 0
    target = Path(args.out)
    try:
        target.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(f"Cannot write {target}: {exc.strerror}.") from None
    print(f"Wrote {target}.", file=sys.stderr)
    return 0


def cmd_sync(args: argparse.Namespace, open_store: OpenStore) -> int:
    """Sync (or preview) a policy to its devices; 0 only if all are in sync."""
    from deviceio.sync import Outcome, SyncOptions
    from store.credentials import process_store

    from . import actions
    from .targets import TargetError

    if not 1 <= args.confirm_minutes <= 65535:
        raise CliError("The confirmation time (--confirm-minutes) must be 1 to 65535.")
    if not args.verbose:
        # the progress lines say what happened; every NETCONF message is noise
        for name in ("ncclient", "paramiko"):
            logging.getLogger(name).setLevel(logging.WARNING)
    db = open_store(args)
    try:
        chosen = _select(db, args.policy, args.device)
        creds = process_store()
        _gather_passwords(chosen, creds)
        options = SyncOptions(
            preview_only=args.preview,
            confirm_minutes=args.confirm_minutes,
            accept_new_host_key=args.accept_new_host_keys,
            all_or_nothing=not args.each_on_its_own,
            overwrite_drift=args.overwrite_drift,
        )
        try:
            results = actions.sync_devices(
                db,
                chosen,
                options,
                creds,
                on_event=_printer(),
                context=actions.Context(source="cli"),
            )
        except TargetError as exc:
            raise CliError(str(exc)) from None
    finally:
        db.close()
    wanted = (Outcome.PREVIEWED,) if args.preview else (Outcome.SYNCED,)
    good = 0
    for result in results:
        _report(result)
        if result.outcome in wanted + (Outcome.NO_CHANGE,) and not result.error:
            good += 1
    verb = "previewed" if args.preview else "in sync"
    print(f"{good} of {len(results)} devices {verb}.")
    return 0 if good == len(results) else 1


def _select(db, policy_name: str, names: list[str]):
    import store
    from store import devices

    try:
        policy = store.get_policy_by_name(db, policy_name)
    except store.NotFound as exc:
        raise CliError(str(exc)) from None
    if not names:
        chosen = devices.devices_using_policy(db, policy.id)
        if not chosen:
            raise CliError(
                f"No device is assigned the policy {policy.policy.name}; assign "
                "it in the window or in the inventory CSV."
            )
        return chosen
    chosen = []
    for name in dict.fromkeys(names):
        try:
            stored = devices.get_device_by_name(db, name)
        except store.NotFound as exc:
            raise CliError(str(exc)) from None
        if stored.device.policy_id != policy.id:
            assigned = stored.policy_name or "no policy"
            raise CliError(
                f"{stored.name} is assigned {assigned}, not {policy.policy.name}; "
                "change its assignment first."
            )
        chosen.append(stored)
    return chosen


def _gather_passwords(chosen, creds) -> None:
    import getpass

    from .targets import missing_passwords

    from_env = os.environ.get(PASSWORD_ENV)
    for stored in chosen:
        if stored.device.auth != "password":
            continue
        if from_env:
            creds.remember(stored.name, from_env)
    for stored in missing_passwords(chosen, creds):
        d = stored.device
        if not sys.stdin or not sys.stdin.isatty():
            raise CliError(
                f"No password for {stored.name}: set {PASSWORD_ENV}, save one in "
                "the keyring from the window, or run this command in a terminal "
                "to be asked for it."
            )
        try:
            given = getpass.getpass(f"Password of {d.user} on {stored.name}: ")
        except (EOFError, KeyboardInterrupt):
            raise CliError("No password given; nothing was done.") from None
        if not given:
            raise CliError(f"No password given for {stored.name}; nothing was done.")
        creds.remember(stored.name, given)


def _printer():
    lock = threading.Lock()

    def print_event(event) -> None:
        if event.status == "started":
            return
        step = getattr(event.step, "value", event.step)
        line = f"{event.device}: {step} {event.status} ({event.elapsed:.1f} s)"
        if event.message:
            line += f": {event.message}"
        with lock:
            print(line, flush=True)

    return print_event


def _report(result) -> None:
    outcome = getattr(result.outcome, "value", result.outcome)
    print(f"{result.device}: {outcome}" + (f": {result.error}" if result.error else ""))
    if result.diff:
        for line in result.diff.rstrip("\n").splitlines():
            print(f"    {line}")
