"""The Junos RPCs the simulator answers, with the reply shapes Junos uses.

Each handler takes the session and the RPC element and returns the elements
that go inside ``<rpc-reply>``, or raises ``RpcFailure``.  RPCs not listed
here answer with a "syntax error" rpc-error naming the RPC, which is what
PyEZ's fact gathering expects from RPCs a platform does not support.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from copy import deepcopy
from typing import TYPE_CHECKING

from lxml import etree

from . import config as conf
from .replies import ErrorSpec, RpcFailure, element, junos_time, sub, unknown_rpc

if TYPE_CHECKING:
    from .netconf import NetconfSession

HOSTS_JUNOS = """#
# Internal routing instance hosts.
#
128.0.0.1               master re0
128.0.0.4               re1
"""

Handler = Callable[["NetconfSession", etree._Element], list[etree._Element]]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str):
    def register(function: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = function
        return function

    return register


def dispatch(session: NetconfSession, name: str, op) -> list[etree._Element]:
    handler = HANDLERS.get(name)
    if handler is None:
        raise unknown_rpc(name or "rpc")
    return handler(session, op)


def malformed() -> list[etree._Element]:
    return RpcFailure(ErrorSpec("syntax error", tag="malformed-message")).elements()


def ok() -> list[etree._Element]:
    return [element("ok")]


def _flag(op: etree._Element, name: str) -> bool:
    return op.find(name) is not None or op.get(name) not in (None, "false")


# -- facts -------------------------------------------------------------------


def _hostname(session: NetconfSession) -> str:
    running = session.srx.device.running_config()
    return running.findtext("system/host-name") or session.srx.device.hostname


@handles("get-software-information")
def software_information(session, op):
    device = session.srx.device
    info = element("software-information")
    sub(info, "host-name", _hostname(session))
    sub(info, "product-model", device.model.lower())
    sub(info, "product-name", device.model.lower())
    sub(info, "junos-version", device.version)
    package = sub(info, "package-information")
    sub(package, "name", "junos")
    sub(package, "comment", f"JUNOS Software Release [{device.version}]")
    return [info]


@handles("get-chassis-inventory")
def chassis_inventory(session, op):
    device = session.srx.device
    inventory = element("chassis-inventory")
    chassis = sub(inventory, "chassis")
    sub(chassis, "name", "Chassis")
    sub(chassis, "serial-number", device.serial)
    sub(chassis, "description", device.model.upper())
    return [inventory]


@handles("get-route-engine-information")
def route_engine_information(session, op):
    device = session.srx.device
    info = element("route-engine-information")
    engine = sub(info, "route-engine")
    sub(engine, "slot", "0")
    sub(engine, "mastership-state", "master")
    sub(engine, "status", "OK")
    sub(engine, "model", f"RE-{device.model.upper()}")
    uptime = int(time.time() - device.booted)
    sub(engine, "up-time", f"{uptime // 86400} days, {uptime % 86400 // 3600} hours")
    sub(engine, "last-reboot-reason", "Router rebooted after a normal shutdown.")
    return [info]


@handles("get-interface-information")
def interface_information(session, op):
    if op.findtext("routing-instance") != "__juniper_private1__":
        raise unknown_rpc("interface-information")
    info = element("interface-information")
    physical = sub(info, "physical-interface")
    sub(physical, "name", "em0")
    logical = sub(physical, "logical-interface")
    sub(logical, "name", "em0.0")
    family = sub(logical, "address-family")
    sub(family, "address-family-name", "inet")
    sub(sub(family, "interface-address"), "ifa-local", "128.0.0.1/2")
    return [info]


@handles("file-show")
def file_show(session, op):
    filename = op.findtext("filename") or ""
    if filename != "/etc/hosts.junos":
        raise RpcFailure(ErrorSpec(f"could not resolve file: {filename}"))
    return [element("file-content", HOSTS_JUNOS, filename=filename)]


@handles("file-list")
def file_list(session, op):
    listing = element("directory-list", **{"root-path": f"/var/home/{session.user}/"})
    sub(listing, "directory").attrib["name"] = f"/var/home/{session.user}/"
    return [listing]


@handles("get-chassis-cluster-status")
def chassis_cluster_status(session, op):
    raise RpcFailure(ErrorSpec("Chassis cluster is not enabled."))


@handles("command")
def command(session, op):
    text = " ".join((op.text or "").split())
    if text == "show version":
        return software_information(session, op)
    if text == "show system commit":
        return commit_information(session, op)
    raise RpcFailure(ErrorSpec("syntax error", bad_element=text.split(" ")[-1]))


# -- sessions ----------------------------------------------------------------


@handles("close-session", "request-end-session")
def close_session(session, op):
    return ok()


@handles("kill-session")
def kill_session(session, op):
    target_id = int(op.findtext("{*}session-id") or op.findtext("session-id") or 0)
    target = session.srx.device.find_session(target_id)
    if target is None or target is session:
        raise RpcFailure(ErrorSpec(f"session {target_id} not found"))
    target.close()
    return ok()


# -- locks and databases -----------------------------------------------------


@handles("lock-configuration", "lock")
def lock(session, op):
    session.srx.device.lock(session)
    return ok()


@handles("unlock-configuration", "unlock")
def unlock(session, op):
    session.srx.device.unlock(session)
    return ok()


@handles("open-configuration")
def open_configuration(session, op):
    if not _flag(op, "private"):
        raise RpcFailure(ErrorSpec("syntax error", bad_element="open-configuration"))
    session.srx.device.open_private(session)
    warning = ErrorSpec(
        "uncommitted changes will be discarded on exit", severity="warning"
    )
    raise RpcFailure(warning)


@handles("close-configuration")
def close_configuration(session, op):
    session.srx.device.close_private(session)
    return ok()


@handles("discard-changes")
def discard_changes(session, op):
    session.srx.device.discard(session)
    return ok()


# -- load --------------------------------------------------------------------


def _load_failure(exc: conf.LoadError) -> RpcFailure:
    return RpcFailure(
        ErrorSpec(exc.message, bad_element=exc.bad_element, path=exc.path),
        wrapper="load-configuration-results",
        extra=(element("load-error-count", "1"),),
    )


@handles("load-configuration")
def load_configuration(session, op):
    device = session.srx.device
    action = op.get("action", "merge")
    fmt = op.get("format", "xml")
    if op.get("url"):
        raise RpcFailure(
            ErrorSpec("loading from a URL is not supported"),
            wrapper="load-configuration-results",
        )
    try:
        change = _load_change(device, op, action, fmt)
        warnings = device.edit(session, change)
    except conf.LoadError as exc:
        raise _load_failure(exc) from exc
    results = element("load-configuration-results")
    for message in warnings:
        results.append(RpcFailure(ErrorSpec(message, severity="warning")).elements()[0])
    sub(results, "load-success")
    return [results]


def _load_change(device, op, action: str, fmt: str):
    rollback = op.get("rollback")
    if rollback is not None:
        number = int(rollback)
        if not 0 <= number < len(device.commit_history):
            raise conf.LoadError("rollback file not found", bad_element=rollback)
        previous = device.rollback_config(number)
        return lambda tree: (deepcopy(previous), [])
    if action == "set" or op.find("configuration-set") is not None:
        text = op.findtext("configuration-set") or op.findtext("configuration-text")
        return lambda tree: conf.load_set(tree, text or "")
    if fmt == "text" or op.find("configuration-text") is not None:
        parsed = conf.parse_text(op.findtext("configuration-text") or "")
        return lambda tree: conf.load_xml(tree, parsed, action)
    if fmt != "xml":
        raise conf.LoadError(f"format {fmt} is not supported", bad_element=fmt)
    config = op.find("configuration")
    if config is None:
        children = [c for c in op if isinstance(c.tag, str)]
        if not children:
            raise conf.LoadError("syntax error", bad_element="load-configuration")
        config = etree.Element("configuration")
        config.extend(deepcopy(c) for c in children)
    if action not in ("merge", "replace", "override", "update"):
        raise conf.LoadError("syntax error", bad_element=action)
    # "replace" merges, except where elements carry replace="replace"
    return lambda tree: conf.load_xml(tree, config, action)


# -- get-configuration -------------------------------------------------------


@handles("get-configuration")
def get_configuration(session, op):
    device = session.srx.device
    wanted = op.find("configuration")
    database = op.get("database", "candidate")
    if op.get("compare") == "rollback":
        number = int(op.get("rollback", "0"))
        old = _rollback(device, number)
        new = deepcopy(device.candidate_for(session))
        if wanted is not None and len(wanted):
            old, new = conf.filter_config(old, wanted), conf.filter_config(new, wanted)
        info = element("configuration-information")
        sub(info, "configuration-output", conf.compare(old, new))
        return [info]
    if op.get("rollback") is not None:
        tree = _rollback(device, int(op.get("rollback")))
    elif database == "committed":
        tree = device.running_config()
    else:
        tree = deepcopy(device.candidate_for(session))
    if wanted is not None and len(wanted):
        tree = conf.filter_config(tree, wanted)
    fmt = op.get("format", "xml")
    if fmt == "text":
        return [element("configuration-text", conf.to_text(tree))]
    if fmt == "set":
        return [element("configuration-set", conf.to_set(tree))]
    if fmt != "xml":
        raise RpcFailure(ErrorSpec(f"format {fmt} is not supported"))
    return [_stamped(session, tree, committed=database == "committed")]


def _rollback(device, number: int) -> etree._Element:
    if not 0 <= number < len(device.commit_history):
        raise RpcFailure(ErrorSpec("rollback file not found", bad_element=str(number)))
    return device.rollback_config(number)


def _stamped(session, tree: etree._Element, committed: bool) -> etree._Element:
    device = session.srx.device
    history = device.commit_history
    version = session.srx.version
    ns = f"http://xml.juniper.net/junos/{version}/junos"
    out = etree.Element("configuration", nsmap={"junos": ns})
    last = history[0]
    out.set(f"{{{ns}}}changed-seconds", str(int(last["time"])))
    out.set(f"{{{ns}}}changed-localtime", junos_time(last["time"]))
    if committed:
        out.set(f"{{{ns}}}commit-seconds", str(int(last["time"])))
        out.set(f"{{{ns}}}commit-localtime", junos_time(last["time"]))
        out.set(f"{{{ns}}}commit-user", last["user"])
    out.extend(list(tree))
    return out


@handles("get-config")
def get_config(session, op):
    source = op.find("{*}source")
    committed = source is not None and source.find("{*}running") is not None
    device = session.srx.device
    if committed:
        tree = device.running_config()
    else:
        tree = deepcopy(device.candidate_for(session))
    data = element("data")
    data.append(_stamped(session, tree, committed))
    return [data]


# -- commit ------------------------------------------------------------------


@handles("commit-configuration", "commit")
def commit_configuration(session, op):
    device = session.srx.device
    check = _flag(op, "check")
    confirmed = _flag(op, "confirmed")
    minutes = None
    if confirmed:
        timeout = op.findtext("confirm-timeout") or op.findtext("{*}confirm-timeout")
        minutes = int(timeout) if timeout else 10
    if op.find("at-time") is not None or op.find("{*}persist") is not None:
        raise RpcFailure(ErrorSpec("commit at a later time is not supported"))
    private = session.private is not None and bool(session.private.edits)
    device.commit(
        session,
        user=session.user,
        check=check,
        confirm_minutes=minutes,
        log=op.findtext("log"),
    )
    results = element("commit-results")
    if private and not check:
        # a private commit first merges the private changes into the candidate
        sub(results, "load-success")
    engine = sub(results, "routing-engine")
    ns = f"http://xml.juniper.net/junos/{session.srx.version}/junos"
    engine.set(f"{{{ns}}}style", "normal")
    sub(engine, "name", "re0")
    sub(engine, "commit-check-success" if check else "commit-success")
    return [results]


@handles("get-commit-information")
def commit_information(session, op):
    info = element("commit-information")
    ns = f"http://xml.juniper.net/junos/{session.srx.version}/junos"
    for entry in session.srx.device.commit_history:
        history = sub(info, "commit-history")
        sub(history, "sequence-number", str(entry["sequence"]))
        sub(history, "user", entry["user"])
        sub(history, "client", entry["client"])
        stamp = sub(history, "date-time", junos_time(entry["time"]))
        stamp.set(f"{{{ns}}}seconds", str(int(entry["time"])))
        if entry["comment"]:
            sub(history, "comment", entry["comment"])
        if entry["log"]:
            sub(history, "log", entry["log"])
    return [info]


# -- standard NETCONF operations on the candidate ----------------------------


@handles("edit-config")
def edit_config(session, op):
    if op.find("{*}target/{*}candidate") is None:
        raise RpcFailure(
            ErrorSpec("only the candidate can be edited", tag="invalid-value")
        )
    config = op.find("{*}config/{*}configuration")
    if config is None:
        raise RpcFailure(ErrorSpec("syntax error", bad_element="config"))
    default = (op.findtext("{*}default-operation") or "merge").strip()
    action = "override" if default == "replace" else "merge"
    try:
        session.srx.device.edit(session, lambda t: conf.load_xml(t, config, action))
    except conf.LoadError as exc:
        raise RpcFailure(ErrorSpec(exc.message, bad_element=exc.bad_element)) from exc
    return ok()


@handles("validate")
def validate(session, op):
    session.srx.device.commit(session, user=session.user, check=True)
    return ok()
