"""The web forms, and the moves between form data, drafts and policies.

A *draft* is what the editor holds between requests: a dict shaped like
:meth:`store.model.Policy.to_dict` but with the values exactly as typed,
plus the ``note`` and ``base_revision`` of the save in progress. The forms
only carry values and the CSRF token; every rule lives in ``store.model``,
and its errors are mapped back onto the fields here.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)

from store.model import (
    FIELD_NAMES,
    LABELS,
    LIMITS,
    VERDICT_THRESHOLDS,
    Policy,
    display_hostname,
    normalize_hostname,
)

from .messages import ATTACHMENT_LIMIT

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms before 3.3 takes plain pairs
    SelectChoice = None

SCALAR_FIELDS = tuple(
    name for name in FIELD_NAMES if name not in ("servers", "administrators")
)
MULTILINE_FIELDS = ("custom_message",)
OP_RE = re.compile(r"(add|remove)-(server|admin)(?:-(\d{1,4}))?")


def _choices(*pairs: tuple[str, str]) -> list[Any]:
    if SelectChoice is None:
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def _limited(key: str, **extra: Any) -> dict[str, Any]:
    return {"maxlength": LIMITS[key], "data-limit": LIMITS[key], **extra}


class AdministratorForm(Form):
    """One row of the Administrators list."""

    email = StringField(
        "Email address",
        render_kw=_limited("email", autocomplete="off", spellcheck="false"),
    )
    block = BooleanField("Block Notifications")
    unblock = BooleanField("Unblock Notifications")


class PolicyForm(FlaskForm):
    """The policy editor: the IMAP Settings page plus the SRX section."""

    name = StringField(
        LABELS["name"],
        render_kw=_limited("name", autocomplete="off", spellcheck="false"),
    )
    action = RadioField(
        LABELS["action"], choices=_choices(("block", "Block"), ("permit", "Permit"))
    )
    server_scope = RadioField(
        LABELS["server_scope"],
        choices=_choices(
            ("all", "All IMAP Servers"), ("specific", "Specific IMAP Server")
        ),
    )
    servers = FieldList(
        label=LABELS["servers"],
        unbound_field=StringField(
            "IMAP server hostname",
            render_kw={"maxlength": 253, "autocomplete": "off", "spellcheck": "false"},
        ),
    )
    learn_more_url = StringField(
        LABELS["learn_more_url"],
        render_kw=_limited("learn_more_url", inputmode="url", spellcheck="false"),
    )
    subject = StringField(LABELS["subject"], render_kw=_limited("subject"))
    custom_message = TextAreaField(
        LABELS["custom_message"], render_kw=_limited("custom_message", rows=6)
    )
    custom_link_text = StringField(
        LABELS["custom_link_text"], render_kw=_limited("custom_link_text")
    )
    administrators = FieldList(
        FormField(AdministratorForm), label=LABELS["administrators"]
    )
    inspection_profile = StringField(
        LABELS["inspection_profile"],
        render_kw=_limited("inspection_profile", spellcheck="false"),
    )
    verdict_threshold = SelectField(
        LABELS["verdict_threshold"],
        choices=_choices(
            ("recommended", "Recommended (set by ATP Cloud)"),
            *((v, v) for v in VERDICT_THRESHOLDS[1:]),
        ),
    )
    log_notifications = BooleanField(LABELS["log_notifications"])
    fallback_action = RadioField(
        LABELS["fallback_action"],
        choices=_choices(("permit", "Permit"), ("block", "Block")),
    )
    fallback_log = BooleanField(LABELS["fallback_log"])
    note = StringField("Note for this revision", render_kw=_limited("note"))
    base_revision = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # messages about a whole list (too many, none given), by list name
        self.list_errors: dict[str, str] = {}


class RenameForm(FlaskForm):
    """A new name for a policy."""

    name = StringField("New name", render_kw=_limited("name", autocomplete="off"))
    note = StringField("Note for this revision", render_kw=_limited("note"))
    base_revision = HiddenField()


class NoteForm(FlaskForm):
    """A confirmation with an optional note: delete, restore."""

    note = StringField("Note for this revision", render_kw=_limited("note"))


class ImportForm(FlaskForm):
    """A policy file to import, optionally under another name."""

    file = FileField("Policy file (.json)", render_kw={"accept": ".json"})
    name = StringField(
        "Import under this name (optional)",
        render_kw=_limited("name", autocomplete="off"),
    )


class SampleForm(FlaskForm):
    """The blocked mail the previews describe."""

    sender = StringField(
        "Sender of the blocked email", render_kw=_limited("email", spellcheck="false")
    )
    recipient = StringField(
        "Recipient", render_kw=_limited("email", spellcheck="false")
    )
    subject = StringField("Original subject", render_kw=_limited("subject"))
    attachment = StringField(
        "Attachment name",
        render_kw={"maxlength": ATTACHMENT_LIMIT, "data-limit": ATTACHMENT_LIMIT},
    )
    received_at = StringField("Received at (UTC)", render_kw={"type": "datetime-local"})
    threat_level = SelectField(
        "Threat level", choices=_choices(*((str(n), str(n)) for n in range(1, 11)))
    )


def draft_from_policy(policy: Policy, base_revision: int | None) -> dict[str, Any]:
    """The editor's starting point for a stored (or new) policy."""
    draft = policy.to_dict()
    draft["servers"] = [display_hostname(name) for name in policy.servers]
    draft["note"] = ""
    draft["base_revision"] = "" if base_revision is None else str(base_revision)
    return draft


def draft_from_form(form: PolicyForm) -> dict[str, Any]:
    """The values of a submitted editor form, as typed."""
    draft: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        value = form[name].data
        if isinstance(value, str) and name in MULTILINE_FIELDS:
            # browsers send CRLF; count and store each line break once
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        draft[name] = "" if value is None else value
    draft["servers"] = [entry.data or "" for entry in form.servers.entries]
    draft["administrators"] = [
        {
            "email": entry.form.email.data or "",
            "block": bool(entry.form.block.data),
            "unblock": bool(entry.form.unblock.data),
        }
        for entry in form.administrators.entries
    ]
    draft["note"] = form.note.data or ""
    draft["base_revision"] = form.base_revision.data or ""
    return draft


def form_from_draft(draft: dict[str, Any]) -> PolicyForm:
    """An editor form showing a draft, ready to render (with a fresh token)."""
    return PolicyForm(formdata=None, data=draft)


def apply_list_op(draft: dict[str, Any], op: str) -> str | None:
    """Add or remove an IMAP server or an administrator row in a draft.

    :param op: ``add-server``, ``remove-server-3``, ``add-admin`` or
        ``remove-admin-0``.
    :returns: the id of the field to focus next, or None for an unknown op.
    """
    match = OP_RE.fullmatch(op)
    if match is None:
        return None
    verb, what, index = match.group(1), match.group(2), match.group(3)
    key = "servers" if what == "server" else "administrators"
    rows = draft[key]
    if verb == "add":
        if what == "server":
            rows.append("")
            draft["server_scope"] = "specific"
            return f"servers-{len(rows) - 1}"
        rows.append({"email": "", "block": True, "unblock": True})
        return f"administrators-{len(rows) - 1}-email"
    if index is not None and int(index) < len(rows):
        del rows[int(index)]
    return f"add-{what}"


def drop_blank_rows(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft without empty server and administrator rows."""
    return {
        **draft,
        "servers": [s for s in draft["servers"] if s.strip()],
        "administrators": [a for a in draft["administrators"] if a["email"].strip()],
    }


def policy_data(draft: dict[str, Any]) -> dict[str, Any]:
    """The part of a draft that makes a policy."""
    return {name: draft[name] for name in FIELD_NAMES}


def attach_errors(form: PolicyForm, errors: dict[str, str]) -> list[tuple[str, str]]:
    """Put each model error on its field; return (field id, message) pairs.

    The pairs, in form order, feed the summary at the top of the page. An
    error on a whole list (``servers``) goes to the list's own message area.
    """
    summary: list[tuple[str, str]] = []
    for path, message in errors.items():
        target = _field_for(form, path)
        if target is None:
            key = path.split("[", 1)[0]
            form.list_errors[key] = message
            summary.append((key, f"{LABELS.get(key, key)}: {message}"))
            continue
        target.errors = [*list(target.errors or []), message]
        summary.append((target.id, f"{_describe(path)}: {message}"))
    order = list(_field_ids(form))
    summary.sort(key=lambda pair: order.index(pair[0]) if pair[0] in order else 0)
    return summary


def hostname_hint(value: str) -> str | None:
    """The ASCII form a typed hostname is stored in, when it differs."""
    try:
        ascii_name = normalize_hostname(value)
    except ValueError:
        return None
    return ascii_name if ascii_name != value.strip().lower() else None


def _field_for(form: PolicyForm, path: str):
    match = re.fullmatch(r"(servers|administrators)\[(\d+)\](?:\.(\w+))?", path)
    if match is None:
        if path in SCALAR_FIELDS or path == "note":
            return form[path]
        return None
    key, index, sub = match.group(1), int(match.group(2)), match.group(3)
    entries = form[key].entries
    if index >= len(entries):
        return None
    entry = entries[index]
    if key == "servers":
        return entry
    field_name = sub if sub in ("email", "block", "unblock") else "email"
    return entry.form[field_name]


def _describe(path: str) -> str:
    match = re.fullmatch(r"(servers|administrators)\[(\d+)\](?:\.(\w+))?", path)
    if match is None:
        return LABELS.get(path, "Note" if path == "note" else path)
    number = int(match.group(2)) + 1
    if match.group(1) == "servers":
        return f"IMAP server {number}"
    return f"Administrator {number}"


def _field_ids(form: PolicyForm):
    for field in form:
        if isinstance(field, FieldList):
            for entry in field.entries:
                if isinstance(entry, FormField):
                    yield from (sub.id for sub in entry.form)
                else:
                    yield entry.id
            yield field.name
        else:
            yield field.id
