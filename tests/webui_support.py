"""Shared by the web interface tests: CSRF tokens and whole editor forms."""

from __future__ import annotations

import re
from typing import Any

import store
from store.model import Policy

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')


def csrf_token(client, url: str = "/policies/new") -> str:
    """The CSRF token of the form on a page, fetched the way a browser would."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    match = TOKEN_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def editor_form(
    policy: Policy | dict[str, Any], token: str, base_revision: int | None = None
) -> dict[str, str]:
    """The fields the editor posts for a policy, as a browser would send them.

    Checkboxes that are off are left out, as browsers do.
    """
    data = policy.to_dict() if isinstance(policy, Policy) else dict(policy)
    defaults = Policy().to_dict()
    form: dict[str, str] = {"csrf_token": token, "note": "", "op": "save"}
    if base_revision is not None:
        form["base_revision"] = str(base_revision)
    for key, default in defaults.items():
        value = data.get(key, default)
        if key == "servers":
            for i, server in enumerate(value):
                form[f"servers-{i}"] = server
        elif key == "administrators":
            for i, admin in enumerate(value):
                form[f"administrators-{i}-email"] = admin["email"]
                for flag in ("block", "unblock"):
                    if admin.get(flag, True):
                        form[f"administrators-{i}-{flag}"] = "y"
        elif isinstance(value, bool):
            if value:
                form[key] = "y"
        else:
            form[key] = str(value)
    return form


def open_store(app):
    """A store connection on the application's database."""
    return store.connect(app.config["DATABASE"])


def current(app, policy_id: int = 1) -> store.StoredPolicy:
    """The policy as stored now."""
    db = open_store(app)
    try:
        return store.get_policy(db, policy_id)
    finally:
        db.close()


def edit_form(client, app, policy_id: int = 1, **changes: Any) -> dict[str, str]:
    """The editor form of a stored policy with some fields changed."""
    stored = current(app, policy_id)
    token = csrf_token(client, f"/policies/{policy_id}")
    data = {**stored.policy.to_dict(), **changes}
    return editor_form(data, token, stored.revision_id)


def text(response) -> str:
    return response.get_data(as_text=True)


def input_tag(page: str, field_id: str) -> str:
    """The whole <input> tag with this id."""
    match = re.search(rf'<input[^>]*\sid="{re.escape(field_id)}"[^>]*>', page)
    assert match, f"no input {field_id}"
    return match.group(0)


def is_checked(page: str, field_id: str) -> bool:
    return re.search(r"\schecked[\s>]", input_tag(page, field_id)) is not None
