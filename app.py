"""IMAP Desk: stage Juniper ATP Cloud IMAP policies offline, sync to SRX.

``python app.py`` opens the desktop window; ``python app.py --help`` lists
the other commands.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

# one error type for every command, printed by main() in one sentence
from fleet.cli import CliError as CommandError
from fleet.cli import write_output

APP_NAME = "IMAP Desk"
APP_SLUG = "imapdesk"
__version__ = "0.1.0"

log = logging.getLogger("imapdesk")


def program_dir() -> Path:
    """The folder the program runs from (the bundle's folder when frozen)."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parent


def resolve_data_dir(option: str | None) -> Path:
    """The data folder: --data-dir, then IMAPDESK_DATA_DIR, then the user's."""
    if option:
        path = Path(option)
    elif os.environ.get("IMAPDESK_DATA_DIR"):
        path = Path(os.environ["IMAPDESK_DATA_DIR"])
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_SLUG, appauthor=False))
    path = path.expanduser().resolve()
    if path == program_dir() or program_dir() in path.parents:
        raise CommandError(
            f"The data folder {path} is inside the program's own folder; "
            "choose a folder of your own with --data-dir."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(
            f"Cannot use {path} as the data folder: {exc.strerror}."
        ) from None
    return path


def log_dir() -> Path:
    """The folder of the rotating log file: the user's log folder."""
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_SLUG, appauthor=False))


class RedactLaunchSecret(logging.Filter):
    """Blank out the one-time secret of a launch URL, wherever it appears."""

    pattern = re.compile(r"/launch/[^\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/launch/" in message:
            record.msg = self.pattern.sub("/launch/[secret]", message)
            record.args = None
        return True


def configure_logging(verbose: bool = False) -> None:
    """Log to a rotating file in the user's log folder, and to standard error."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if sys.stderr is not None:  # a windowed build has no console
        handlers.append(logging.StreamHandler())
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                folder / f"{APP_SLUG}.log",
                maxBytes=1_000_000,
                backupCount=5,
                encoding="utf-8",
            )
        )
    except OSError as exc:
        if sys.stderr is not None:
            print(f"imapdesk: not logging to a file: {exc}", file=sys.stderr)
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactLaunchSecret())
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # one line per request is noise, and the first line carries the secret
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # the NETCONF libraries log every message, whole configurations included
    if not verbose:
        for name in ("ncclient", "paramiko", "jnpr"):
            logging.getLogger(name).setLevel(logging.WARNING)


def app_config() -> dict:
    """What the interface shows about the program itself (About page), and
    where it keeps its compiled templates."""
    import platformdirs

    cache = Path(platformdirs.user_cache_dir(APP_SLUG, appauthor=False))
    return {
        "VERSION": __version__,
        "LOG_DIR": str(log_dir()),
        "TEMPLATE_CACHE_DIR": str(cache / f"templates-{__version__}"),
    }


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the interface to a browser and print the URL to open."""
    import store
    from webui import create_app
    from webui.instance import AlreadyRunning, InstanceLock
    from webui.server import LocalServer

    data_dir = resolve_data_dir(args.data_dir)
    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except AlreadyRunning:
        raise CommandError("IMAP Desk is already open with this data folder.") from None
    try:
        try:
            app = create_app(data_dir, config=app_config())
        except store.StoreError as exc:
            raise CommandError(str(exc)) from None
        try:
            server = LocalServer(app, port=args.port)
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on port {args.port}: {exc.strerror}."
            ) from None
        lock.publish({"pid": os.getpid(), "url": server.url})
        _stop_on_sigterm()
        # a stop may come as soon as the address is out, while it is printed
        with contextlib.suppress(KeyboardInterrupt):
            print(f"IMAP Desk is running. Open {server.launch_url}", flush=True)
            server.serve_forever()
        log.info("Stopped")
    finally:
        lock.release()
    return 0


def _stop_on_sigterm() -> None:
    # SIGTERM stops the server the way Ctrl+C does
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def cmd_window(args: argparse.Namespace) -> int:
    """Open the desktop window over the interface."""
    from webui import desktop

    data_dir = resolve_data_dir(args.data_dir)
    try:
        return desktop.run(
            data_dir, port=args.port, config=app_config(), icon=icon_path()
        )
    except desktop.DesktopError as exc:
        raise CommandError(str(exc)) from None


def cmd_demo(args: argparse.Namespace) -> int:
    """Open the interface over simulated SRX devices and a throw-away folder."""
    from fleet import demo

    try:
        with demo.running() as data_dir:
            args.data_dir = str(data_dir)
            return cmd_serve(args) if args.no_window else cmd_window(args)
    except demo.DemoUnavailable as exc:
        raise CommandError(str(exc)) from None


def icon_path() -> Path | None:
    """The window icon, shipped with the interface's static files."""
    import webui

    path = Path(webui.__file__).resolve().parent / "static" / "imapdesk.png"
    return path if path.exists() else None


def cmd_selfcheck(args: argparse.Namespace) -> int:
    """Import the device stack and the window's toolkit, then print OK."""
    import jnpr.junos  # noqa: F401
    import jnpr.junos.utils.config  # noqa: F401
    import ncclient.manager  # noqa: F401
    from jnpr.junos.factory import loadyaml  # noqa: F401

    if args.gui:
        os.environ.setdefault("QT_API", "pyside6")
        import webview  # noqa: F401

        if sys.platform.startswith("linux"):
            import webview.platforms.qt  # noqa: F401
    print("OK")
    return 0


def _open_store(args: argparse.Namespace):
    import store

    path = resolve_data_dir(args.data_dir) / store.DB_FILENAME
    try:
        store.init_db(path)
        db = store.connect(path)
        store.ensure_default_policy(db)
    except store.StoreError as exc:
        raise CommandError(str(exc)) from None
    return db


def cmd_policies(args: argparse.Namespace) -> int:
    """List the policy names, one a line."""
    import store

    db = _open_store(args)
    for stored in store.list_policies(db):
        print(stored.policy.name)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write one policy as a JSON policy file or as Junos configuration."""
    import store

    db = _open_store(args)
    try:
        stored = store.get_policy_by_name(db, args.policy)
    except store.NotFound as exc:
        raise CommandError(str(exc)) from None
    if args.format == "json":
        if args.device:
            raise CommandError("A JSON policy file holds no device bindings.")
        text = store.dumps_policy(stored.policy)
    else:
        text = _junos_export(db, stored, args.format, args.device)
    write_output(text, args.out)
    return 0


def _junos_export(db, stored, fmt: str, device_name: str | None) -> str:
    # deviceio pulls in lxml; only these formats need it
    import store
    from deviceio.render import export
    from fleet.targets import to_binding
    from store.devices import get_device_by_name

    bindings = []
    if device_name:
        try:
            device = get_device_by_name(db, device_name)
        except store.NotFound as exc:
            raise CommandError(str(exc)) from None
        if device.device.policy_id != stored.id:
            raise CommandError(
                f"The device {device.name} is not assigned the policy "
                f"{stored.policy.name}, so its bindings do not apply it."
            )
        bindings = [to_binding(b, stored.policy.name) for b in device.device.bindings]
    try:
        return export(stored.policy, bindings, fmt)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def cmd_import(args: argparse.Namespace) -> int:
    """Import a policy file, or a policy from a saved device configuration."""
    import store
    from deviceio import savedfile
    from deviceio.savedfile import is_policy_file

    path = Path(args.file)
    limit = max(store.jsonio.MAX_FILE_BYTES, savedfile.MAX_FILE_BYTES)
    try:
        with path.open("rb") as file:
            # one byte past the limit is enough to refuse it: /dev/zero included
            data = file.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    if is_policy_file(data):
        if args.policy:
            raise CommandError(
                "A policy file holds one policy; --policy chooses among the "
                "policies of a device configuration."
            )
        db = _open_store(args)
        try:
            stored = store.import_policy(db, data, name=args.name)
        except store.InvalidImport as exc:
            raise CommandError(str(exc)) from None
    else:
        stored = _import_device_policy(args, data)
    print(f"Imported policy {stored.policy.name}.")
    return 0


def _import_device_policy(args: argparse.Namespace, data: bytes):
    import store
    from deviceio.savedfile import DeviceFileError, read_device_file

    try:
        config = read_device_file(data)
    except DeviceFileError as exc:
        raise CommandError(str(exc)) from None
    names = [found.policy.name for found in config.policies]
    if args.policy:
        chosen = config.policy(args.policy)
        if chosen is None:
            raise CommandError(
                f"The file holds no policy named {args.policy}; it holds "
                f"{', '.join(names)}."
            )
    elif len(names) > 1:
        raise CommandError(
            f"The file holds {len(names)} policies ({', '.join(names)}); "
            "choose one with --policy NAME."
        )
    else:
        chosen = config.policies[0]
    policy = chosen.policy
    if args.name:
        try:
            policy = store.Policy.from_dict({**policy.to_dict(), "name": args.name})
        except store.ValidationError as exc:
            raise CommandError(f"The name is not valid: {exc.errors['name']}") from None
    for warning in chosen.warnings:
        print(f"imapdesk: {warning}", file=sys.stderr)
    if chosen.unknown_fields:
        labels = [store.model.LABELS[f] for f in sorted(chosen.unknown_fields)]
        print(
            "imapdesk: the file does not hold these settings, so they take "
            f"their defaults: {', '.join(labels)}.",
            file=sys.stderr,
        )
    note = f"Imported from the device configuration {Path(args.file).name}."
    db = _open_store(args)
    try:
        return store.create_policy(db, policy, note)
    except store.DuplicateName as exc:
        raise CommandError(f"{exc} Import it under another name with --name.") from None


def port_number(text: str) -> int:
    """A TCP port from the command line: 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535.")
    return port


def build_parser() -> argparse.ArgumentParser:
    data_dir_help = (
        "folder for the database (default: your user data folder, or IMAPDESK_DATA_DIR)"
    )
    common = argparse.ArgumentParser(add_help=False)
    # no default, so that a command keeps a --data-dir given before its name
    common.add_argument(
        "--data-dir", metavar="DIR", default=argparse.SUPPRESS, help=data_dir_help
    )
    parser = argparse.ArgumentParser(prog="app.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", metavar="DIR", help=data_dir_help)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--no-window",
        action="store_true",
        help="serve the interface for a browser and print the URL to open",
    )
    parser.add_argument(
        "--port", type=port_number, default=0, help="port (default: a free one)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try IMAP Desk on simulated SRX devices, in a throw-away data folder",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("policies", parents=[common], help="list the policy names")
    p.set_defaults(func=cmd_policies)

    p = sub.add_parser(
        "export",
        parents=[common],
        help="write one policy as a policy file or as Junos configuration",
    )
    p.add_argument("--policy", required=True, metavar="NAME")
    p.add_argument("--format", default="json", choices=["json", "xml", "set", "text"])
    p.add_argument(
        "--device",
        metavar="DEVICE",
        help="add the security policies that apply it on this device (not json)",
    )
    p.add_argument(
        "--out", metavar="FILE", help="file to write (default: standard output)"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="import a policy file, or a policy from a saved device configuration",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", help="store it under this name instead")
    p.add_argument(
        "--policy",
        metavar="NAME",
        help="the policy to take from a device configuration holding several",
    )
    p.set_defaults(func=cmd_import)

    # devices and sync; the module imports the device stack only when run
    from fleet.cli import add_commands

    add_commands(sub, common, _open_store)

    # a check for builds: the lazily imported parts are really in the bundle
    p = sub.add_parser("selfcheck", parents=[common])
    p.add_argument("--gui", action="store_true", help="import the window too")
    p.set_defaults(func=cmd_selfcheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    _ensure_std_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if args.command is None:
        args.func = cmd_serve if args.no_window else cmd_window
        if args.demo:
            args.func = cmd_demo
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"imapdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # a store write is one transaction, so nothing is left half-done
        print("imapdesk: Interrupted.", file=sys.stderr)
        return 130


def _ensure_std_streams() -> None:
    # a windowed build on Windows or macOS starts without standard streams
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


if __name__ == "__main__":
    sys.exit(main())
