"""The Junos configuration of a policy: shown, checked, downloaded, imported.

The policy page shows the load IMAP Desk sends for a policy in set, text and
XML form, where each setting takes effect (the SRX or ATP Cloud, see
:mod:`deviceio.macro`) and whether the configuration passes the YANG models
of each supported Junos release. The import reads a saved device
configuration, shows what it holds, and stores nothing until confirmed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.utils import secure_filename

import store
from deviceio import macro
from store.devices import StoredDevice, devices_using_policy
from store.model import LABELS, Policy, ValidationError

from .db import get_db

# lxml and the rest of deviceio are imported by the pages that render, check
# or read a configuration; the policy editor only needs deviceio.macro
if TYPE_CHECKING:
    from deviceio.render import Binding

log = logging.getLogger(__name__)

bp = Blueprint("junos", __name__)

FORMATS = {
    "set": ("set commands", "text/plain", "set"),
    "text": ("Text", "text/plain", "conf"),
    "xml": ("XML", "application/xml", "xml"),
}
PLACES = {"srx": "Enforced by the SRX", "atp-cloud": "Applied by ATP Cloud"}
CACHE_SIZE = 64


@dataclass(frozen=True)
class ReleaseCheck:
    """The YANG check of one release: ``state`` is valid, invalid or unknown."""

    release: str
    state: str
    problems: tuple[str, ...] = ()


_checks: OrderedDict[str, tuple[ReleaseCheck, ...]] = OrderedDict()
_checks_lock = threading.Lock()


@bp.app_template_global()
def enforcement_of(field: str) -> tuple[str, str, str] | None:
    """Where a policy field takes effect: (place, marker text, explanation)."""
    found = macro.ENFORCEMENT.get(field)
    if found is None:
        return None
    return found.place, PLACES[found.place], found.note


@bp.route("/policies/<int:policy_id>/junos")
def policy(policy_id: int):
    """The policy's Junos configuration, where it takes effect, and its check."""
    from deviceio import render

    db = get_db()
    stored = store.get_policy(db, policy_id)
    devices = devices_using_policy(db, policy_id)
    device = _chosen_device(devices)
    bindings = _bindings(stored.policy, device)
    texts = {fmt: render.export(stored.policy, bindings, fmt) for fmt in FORMATS}
    return render_template(
        "junos/policy.html",
        stored=stored,
        active="junos",
        formats=FORMATS,
        texts=texts,
        devices=devices,
        device=device,
        rows=_enforcement_rows(stored.policy),
        checks=check_configuration(texts["xml"]),
    )


@bp.route("/policies/<int:policy_id>/junos.<fmt>")
def download(policy_id: int, fmt: str):
    """Download the policy's configuration in one format, as an attachment."""
    from deviceio import render

    if fmt not in FORMATS:
        abort(404)
    db = get_db()
    stored = store.get_policy(db, policy_id)
    device = _chosen_device(devices_using_policy(db, policy_id))
    text = render.export(stored.policy, _bindings(stored.policy, device), fmt)
    _, mimetype, suffix = FORMATS[fmt]
    # policy and device names are letters, digits, '.', '-' and '_' only
    stem = stored.policy.name + (f"-{device.name}" if device else "")
    response = Response(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{suffix}"'
    return response


def _chosen_device(devices: list[StoredDevice]) -> StoredDevice | None:
    wanted = request.args.get("device", "")
    if not wanted:
        return None
    found = next((d for d in devices if str(d.id) == wanted), None)
    if found is None:
        abort(404, "That device is not assigned this policy.")
    return found


def _bindings(policy: Policy, device: StoredDevice | None) -> list[Binding]:
    if device is None:
        return []
    from fleet.targets import to_binding

    return [to_binding(b, policy.name) for b in device.device.bindings]


def _enforcement_rows(policy: Policy) -> list[dict[str, str]]:
    rows = []
    for field, found in macro.ENFORCEMENT.items():
        rows.append(
            {
                "label": LABELS[field],
                "place": found.place,
                "where": PLACES[found.place],
                "note": found.note,
                "value": describe_value(policy, field),
            }
        )
    # the SRX's settings first, then ATP Cloud's, each in the editor's order
    return sorted(rows, key=lambda row: row["place"] != "srx")


def describe_value(policy: Policy, field: str) -> str:
    """A setting of ``policy`` in words, for tables."""
    value = getattr(policy, field)
    if field == "servers":
        return ", ".join(value) if value else "None listed"
    if field == "administrators":
        if not value:
            return "None"
        return "; ".join(f"{a.email} ({_notified(a.block, a.unblock)})" for a in value)
    if isinstance(value, bool):
        return "On" if value else "Off"
    return value if value != "" else "(blank)"


def _notified(block: bool, unblock: bool) -> str:
    kinds = [name for name, on in (("block", block), ("unblock", unblock)) if on]
    return " and ".join(kinds) + " notifications" if kinds else "no notifications"


def check_configuration(xml: str) -> tuple[ReleaseCheck, ...]:
    """The YANG check of a rendered configuration for every release, cached.

    The cache is keyed by the configuration itself, so a new revision (or
    other bindings) is checked afresh and an unchanged one is not.
    """
    from deviceio import yang

    key = hashlib.sha256(xml.encode("utf-8")).hexdigest()
    with _checks_lock:
        if key in _checks:
            _checks.move_to_end(key)
            return _checks[key]
    results = tuple(_check_release(xml, release) for release in yang.RELEASES)
    if all(r.state != "unknown" for r in results):
        with _checks_lock:
            _checks[key] = results
            while len(_checks) > CACHE_SIZE:
                _checks.popitem(last=False)
    return results


def _check_release(xml: str, release: str) -> ReleaseCheck:
    from deviceio import yang

    try:
        errors = yang.validate(xml.encode("utf-8"), release)
    except yang.YangUnavailable as exc:
        log.warning("Cannot check the configuration for Junos %s: %s", release, exc)
        return ReleaseCheck(release, "unknown", (str(exc),))
    problems = tuple(str(e) for e in errors if e.severity == "error")
    return ReleaseCheck(release, "invalid" if problems else "valid", problems)


@bp.route("/policies/import-configuration", methods=["GET", "POST"])
def import_configuration():
    """Upload a saved device configuration and review what it holds."""
    if request.method == "GET":
        return render_template("junos/import.html", error=None)

    from deviceio.savedfile import DeviceFileError, is_policy_file, read_device_file

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refuse_upload("Choose a configuration file to import.")
    data = upload.read()
    if is_policy_file(data):
        return _refuse_upload(
            "This is an IMAP Desk policy file, not a device configuration; "
            "import it with Import policy instead."
        )
    try:
        config = read_device_file(data)
    except DeviceFileError as exc:
        log.warning("Refused to import %r: %s", upload.filename, exc)
        return _refuse_upload(str(exc))
    candidates = [
        {
            "policy": found.policy.to_dict(),
            "unknown": sorted(found.unknown_fields),
            "warnings": list(found.warnings),
            "managed": found.managed,
        }
        for found in config.policies
    ]
    return _review(candidates, list(config.warnings), secure_filename(upload.filename))


def _refuse_upload(message: str):
    return render_template("junos/import.html", error=message), 422


@bp.route("/policies/import-configuration/confirm", methods=["POST"])
def confirm_import():
    """Store the policies the administrator chose after reviewing them."""
    candidates = _posted_candidates()
    file_warnings = _posted_list("file_warnings")
    filename = secure_filename(request.form.get("filename", ""))
    chosen = [
        i for i in range(len(candidates)) if request.form.get(f"chosen-{i}") == "y"
    ]
    names = {i: (request.form.get(f"name-{i}") or "").strip() for i in chosen}
    problems = _name_problems(candidates, names)
    if not chosen:
        problems[-1] = "Choose at least one policy to import."
    if problems:
        return _review(candidates, file_warnings, filename, chosen, names, problems)

    policies = [_renamed(candidates[i]["policy"], names[i]) for i in chosen]
    try:
        created = _create_all(policies, filename)
    except store.DuplicateName as exc:
        return _review(
            candidates, file_warnings, filename, chosen, names, {-1: str(exc)}
        )
    shown = ", ".join(s.policy.name for s in created)
    log.info("Imported %s from the device configuration %s", shown, filename)
    flash(f"Imported {shown} from {filename or 'the configuration file'}.", "success")
    return redirect(url_for("policies.edit", policy_id=created[0].id))


def _review(
    candidates: list[dict[str, Any]],
    file_warnings: list[str],
    filename: str,
    chosen: list[int] | None = None,
    names: dict[int, str] | None = None,
    problems: dict[int, str] | None = None,
):
    if chosen is None:
        chosen = [0] if len(candidates) == 1 else []
    views = []
    for i, candidate in enumerate(candidates):
        policy = Policy.from_dict(candidate["policy"])
        unknown = set(candidate["unknown"])
        views.append(
            {
                "index": i,
                "policy": policy,
                "name": (names or {}).get(i, policy.name),
                "chosen": i in chosen,
                "managed": candidate["managed"],
                "warnings": candidate["warnings"],
                "unknown": [LABELS[f] for f in LABELS if f in unknown],
                "rows": _review_rows(policy, unknown),
                "problem": (problems or {}).get(i),
            }
        )
    status = 422 if problems else 200
    page = render_template(
        "junos/review.html",
        views=views,
        candidates_json=json.dumps(candidates, ensure_ascii=False),
        file_warnings=file_warnings,
        file_warnings_json=json.dumps(file_warnings, ensure_ascii=False),
        filename=filename,
        problem=(problems or {}).get(-1),
    )
    return page, status


def _review_rows(policy: Policy, unknown: set[str]) -> list[dict[str, Any]]:
    return [
        {
            "label": LABELS[field],
            "value": describe_value(policy, field),
            "unknown": field in unknown,
            "where": PLACES[macro.ENFORCEMENT[field].place],
        }
        for field in LABELS
    ]


def _posted_candidates() -> list[dict[str, Any]]:
    # the review page carries what was read; it is validated again here
    try:
        raw = json.loads(request.form.get("candidates", ""))
        candidates = [
            {
                "policy": Policy.from_dict(item["policy"]).to_dict(),
                "unknown": [f for f in item["unknown"] if f in LABELS],
                "warnings": [str(w) for w in item["warnings"]],
                "managed": bool(item["managed"]),
            }
            for item in raw
        ]
    except (ValueError, TypeError, KeyError, ValidationError):
        abort(400, "The review page was not sent whole; import the file again.")
    if not candidates:
        abort(400, "The review page was not sent whole; import the file again.")
    return candidates


def _posted_list(key: str) -> list[str]:
    try:
        value = json.loads(request.form.get(key, "[]"))
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def _name_problems(
    candidates: list[dict[str, Any]], names: dict[int, str]
) -> dict[int, str]:
    problems: dict[int, str] = {}
    db = get_db()
    seen: dict[str, int] = {}
    for i, name in names.items():
        try:
            _renamed(candidates[i]["policy"], name)
        except ValidationError as exc:
            problems[i] = exc.errors.get("name", str(exc))
            continue
        if name.lower() in seen:
            problems[i] = f"Another chosen policy is also to be named {name}."
        elif _name_taken(db, name):
            problems[i] = (
                f"A policy named {name!r} already exists. Give this one another name."
            )
        seen[name.lower()] = i
    return problems


def _name_taken(db, name: str) -> bool:
    try:
        store.get_policy_by_name(db, name)
    except store.NotFound:
        return False
    return True


def _renamed(data: dict[str, Any], name: str) -> Policy:
    return Policy.from_dict({**data, "name": name})


def _create_all(policies: list[Policy], filename: str) -> list[store.StoredPolicy]:
    db = get_db()
    note = f"Imported from the device configuration {filename}".strip() + "."
    # all or nothing: a name taken meanwhile stores none of them
    return store.create_policies(db, policies, note[:500])
