"""The ``devices``, ``sync``, ``drift`` and ``rollback`` commands of ``app.py``.

``app.py`` adds them to its parser with :func:`add_commands`; this module
imports nothing heavy at start-up, the device stack only when a command runs.

Passwords for the commands that contact devices come, in this order, from
the environment variable ``IMAPDESK_DEVICE_PASSWORD`` (for every device that
logs in with a password), the keyring, or a prompt when standard input is a
terminal; never from an argument, which other users could read in the
process list.
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
    """A problem to report in one sentence, with exit status 2.

    Every command of ``app.py`` raises it; ``app.main`` prints it.
    """


def write_output(text: str, out: str | None, *, newline: str | None = None) -> None:
    """Write a command's result to standard output, or to ``out`` whole.

    The file is written beside its target and then renamed over it, so a
    failed write never leaves half a file where the old one was.
    """
    if out is None or out == "-":
        sys.stdout.write(text)
        return
    target = Path(out)
    part = target.with_name(target.name + ".part")
    try:
        part.write_text(text, encoding="utf-8", newline=newline)
        part.replace(target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise CliError(f"Cannot write {target}: {exc.strerror}.") from None
    print(f"Wrote {target}.", file=sys.stderr)


def add_commands(
    sub: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    open_store: OpenStore,
) -> None:
    """Add ``devices import|list|export``, ``sync``, ``drift`` and ``rollback``."""
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
    _device_option(p, "every device the policy is assigned to")
    _preview_option(p)
    _confirm_minutes_option(p)
    _host_keys_option(p)
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

    p = sub.add_parser(
        "drift",
        parents=[common],
        help="check devices for changes made outside IMAP Desk",
        description="Compare each device with what IMAP Desk last synced to it "
        "and print what changed. Exit status 0 only when every device was "
        "compared and is in sync, 1 when any drifted or could not be checked, "
        "2 when there is no device to check or the command could not run. "
        f"Passwords come from {PASSWORD_ENV}, the keyring, or a prompt.",
    )
    _device_option(p, "every device that is assigned a policy")
    _host_keys_option(p)
    p.set_defaults(func=_bound(cmd_drift, open_store))

    p = sub.add_parser(
        "rollback",
        parents=[common],
        help="roll a device back to an earlier commit",
        description="Show what returning a device to commit N of its history "
        "changes, then commit it as a sync does: commit confirmed, verify, "
        "confirm. Exit status 0 only when the device ends rolled back and "
        "confirmed (with --preview, when the preview succeeded). Passwords "
        f"come from {PASSWORD_ENV}, the keyring, or a prompt.",
    )
    p.add_argument("--device", required=True, metavar="D", help="the device")
    p.add_argument(
        "n",
        type=int,
        metavar="N",
        help="the commit to return to, numbered as in `show system commit` (1 to 49)",
    )
    _preview_option(p)
    _confirm_minutes_option(p, metavar="M")
    _host_keys_option(p)
    p.set_defaults(func=_bound(cmd_rollback, open_store))


def _device_option(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="D",
        help=f"only this device (repeat for more); default: {default}",
    )


def _preview_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preview", action="store_true", help="show the changes, commit nothing"
    )


def _confirm_minutes_option(p: argparse.ArgumentParser, metavar: str = "N") -> None:
    p.add_argument(
        "--confirm-minutes",
        type=int,
        default=5,
        metavar=metavar,
        help="commit confirmed timeout (default 5)",
    )


def _host_keys_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust a device's key on first contact (a changed key still fails)",
    )


def _bound(command, open_store: OpenStore):
    def run(args: argparse.Namespace) -> int:
        return command(args, open_store)

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
    write_output(text, args.out, newline="")
    return 0


def cmd_sync(args: argparse.Namespace, open_store: OpenStore) -> int:
    """Sync (or preview) a policy to its devices; 0 only if all are in sync."""
    from deviceio.sync import Outcome, SyncOptions
    from store.credentials import process_store

    from . import actions
    from .targets import TargetError

    _check_confirm_minutes(args.confirm_minutes)
    _quiet_netconf(args.verbose)
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


def cmd_drift(args: argparse.Namespace, open_store: OpenStore) -> int:
    """Check devices for changes made outside IMAP Desk; 0 only if none."""
    from deviceio.sync import Outcome
    from store import devices
    from store.credentials import process_store

    from . import actions
    from .targets import TargetError

    _quiet_netconf(args.verbose)
    db = open_store(args)
    try:
        if args.device:
            chosen = _named_devices(db, args.device)
        else:
            inventory = devices.list_devices(db)
            if not inventory:
                raise CliError(
                    "There are no devices to check; add one in the window or "
                    "with `devices import`."
                )
            chosen = [d for d in inventory if d.device.policy_id]
            if not chosen:
                raise CliError(
                    "No device is assigned a policy, so there is nothing to "
                    "check; assign one in the window or in the inventory CSV."
                )
        creds = process_store()
        _gather_passwords(chosen, creds)
        try:
            results = actions.check_drift_all(
                db,
                chosen,
                creds,
                context=actions.Context(source="cli"),
                accept_new_host_key=args.accept_new_host_keys,
            )
        except TargetError as exc:
            raise CliError(str(exc)) from None
    finally:
        db.close()
    in_sync = 0
    for result in results:
        if result.outcome is Outcome.DRIFTED:
            print(f"{result.device}: drifted: {result.error}")
            _print_diff(result.diff)
        elif result.outcome is Outcome.UNKNOWN:
            # an earlier sync still waits for its confirmation on the device
            print(f"{result.device}: not checked: {result.error}")
        elif result.outcome is not Outcome.NO_CHANGE:
            print(f"{result.device}: failed: {result.error or result.outcome}")
        elif result.error:
            # never synced: there is no baseline to compare the device with
            print(f"{result.device}: not checked: {result.error}")
        else:
            in_sync += 1
            print(f"{result.device}: in sync")
    print(f"{in_sync} of {len(results)} devices in sync.")
    return 0 if in_sync == len(results) else 1


def cmd_rollback(args: argparse.Namespace, open_store: OpenStore) -> int:
    """Preview or commit ``rollback N`` on one device; 0 only if it is done."""
    from deviceio.errors import DeviceError
    from deviceio.sync import Outcome
    from store import devices
    from store.credentials import process_store

    from . import actions
    from .targets import TargetError

    if not 1 <= args.n <= 49:
        raise CliError("A device keeps rollbacks 1 to 49; choose N among them.")
    _check_confirm_minutes(args.confirm_minutes)
    _quiet_netconf(args.verbose)
    context = actions.Context(source="cli")
    db = open_store(args)
    try:
        (stored,) = _named_devices(db, [args.device])
        creds = process_store()
        _gather_passwords([stored], creds)
        try:
            history = actions.history_for_rollback(
                db,
                stored,
                creds,
                args.n,
                preview=args.preview,
                accept_new_host_key=args.accept_new_host_keys,
                context=context,
            )
        except TargetError as exc:
            raise CliError(str(exc)) from None
        except DeviceError as exc:
            print(f"{stored.name}: failed: {exc}")
            return 1
        # the history read may have pinned the device's first key
        stored = devices.get_device(db, stored.id)
        if args.n >= len(history):
            raise CliError(
                f"{stored.name} keeps commits 0 to {len(history) - 1}; there is "
                f"no commit {args.n} to return to."
            )
        print(f"{stored.name}: commit {args.n}: {_describe(history[args.n])}")
        result = actions.rollback(
            db,
            stored,
            creds,
            args.n,
            preview=args.preview,
            confirm_minutes=args.confirm_minutes,
            on_event=_printer(),
            context=context,
        )
    finally:
        db.close()
    _report(result)
    wanted = Outcome.PREVIEWED if args.preview else Outcome.SYNCED
    if result.outcome not in (wanted, Outcome.NO_CHANGE) or result.error:
        return 1
    if args.preview:
        print(f"Previewed; nothing was committed on {stored.name}.")
    elif result.outcome is Outcome.NO_CHANGE:
        print(f"{stored.name} already holds commit {args.n}; nothing was committed.")
    else:
        print(f"{stored.name} is back at commit {args.n}, confirmed.")
    return 0


def _describe(entry) -> str:
    text = f"{entry.date} by {entry.user} via {entry.client}"
    return text + (f": {entry.comment}" if entry.comment else "")


def _check_confirm_minutes(minutes: int) -> None:
    if not 1 <= minutes <= 65535:
        raise CliError("The confirmation time (--confirm-minutes) must be 1 to 65535.")


def _quiet_netconf(verbose: bool) -> None:
    if not verbose:
        # the progress lines say what happened; every NETCONF message is noise
        for name in ("ncclient", "paramiko"):
            logging.getLogger(name).setLevel(logging.WARNING)


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
    chosen = _named_devices(db, names)
    for stored in chosen:
        if stored.device.policy_id != policy.id:
            assigned = stored.policy_name or "no policy"
            raise CliError(
                f"{stored.name} is assigned {assigned}, not {policy.policy.name}; "
                "change its assignment first."
            )
    return chosen


def _named_devices(db, names: list[str]):
    import store
    from store import devices

    chosen = []
    for name in dict.fromkeys(names):
        try:
            chosen.append(devices.get_device_by_name(db, name))
        except store.NotFound as exc:
            raise CliError(str(exc)) from None
    return chosen


def _gather_passwords(chosen, creds) -> None:
    import getpass

    from .targets import missing_passwords

    from_env = os.environ.get(PASSWORD_ENV)
    for stored in chosen:
        if from_env and stored.device.auth == "password":
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
    _print_diff(result.diff)


def _print_diff(diff: str) -> None:
    for line in diff.rstrip("\n").splitlines():
        print(f"    {line}")
