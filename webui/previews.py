"""Previews of the emails a policy makes ATP Cloud send, and their .eml files."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

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

import store
from store.model import Policy

from . import forms, messages
from .db import get_db
from .security import content_security_policy

log = logging.getLogger(__name__)

bp = Blueprint("previews", __name__, url_prefix="/policies/<int:policy_id>/previews")

SAMPLE_SETTING = "preview_sample"


@bp.route("/", methods=["GET", "POST"])
def index(policy_id: int):
    """The three messages of a policy, and the sample mail they describe."""
    db = get_db()
    stored = store.get_policy(db, policy_id)
    sample = load_sample()
    form = forms.SampleForm(formdata=None, data=_sample_data(sample))
    status = 200
    if request.method == "POST":
        form = forms.SampleForm()
        try:
            sample = messages.Sample.from_dict(form.data)
        except messages.SampleError as exc:
            for key, message in exc.errors.items():
                form[key].errors = [message]
            status = 422
        else:
            store.set_setting(db, SAMPLE_SETTING, sample.to_dict())
            flash("Saved the sample email; the previews below use it.", "success")
            return redirect(url_for("previews.index", policy_id=policy_id))

    return render_messages(
        "previews/index.html", stored.policy, status, stored=stored, form=form
    )


@bp.route("/<kind>.eml")
def download(policy_id: int, kind: str):
    """One message as an .eml file."""
    if kind not in messages.KINDS:
        abort(404, "There is no such preview.")
    stored = store.get_policy(get_db(), policy_id)
    message = messages.build_message(kind, stored.policy, load_sample())
    response = Response(messages.eml_bytes(message), mimetype="message/rfc822")
    filename = messages.eml_filename(stored.policy, kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def render_messages(
    template: str, policy: Policy, status: int = 200, **context: Any
) -> Response:
    """A page showing the three messages of a policy, for the stored sample."""
    sample = load_sample()
    previews = [
        describe(kind, messages.build_message(kind, policy, sample))
        for kind in messages.KINDS
    ]
    response = Response(
        render_template(
            template,
            previews=previews,
            sender=str(messages.SENDER),
            placeholder=messages.ADMIN_PLACEHOLDER,
            **context,
        ),
        status=status,
    )
    # the previews' srcdoc frames inherit this page's policy; let their one
    # fixed stylesheet through by its hash and nothing else
    response.headers["Content-Security-Policy"] = content_security_policy(
        style_hashes=(messages.EMAIL_CSS_HASH,)
    )
    return response


def load_sample() -> messages.Sample:
    """The stored sample mail, or the default one."""
    return messages.with_defaults(store.get_setting(get_db(), SAMPLE_SETTING))


def _sample_data(sample: messages.Sample) -> dict[str, str]:
    data = sample.to_dict()
    data["threat_level"] = str(sample.threat_level)
    return data


def describe(kind: str, message: EmailMessage) -> dict[str, object]:
    """What the page shows of a message: headers, HTML and plain text."""
    return {
        "kind": kind,
        "title": messages.TITLES[kind],
        "headers": [
            (name, str(message[name])) for name in ("From", "To", "Date", "Subject")
        ],
        "html": messages.html_body(message),
        "text": messages.text_body(message),
    }
