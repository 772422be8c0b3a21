"""Helpers the templates share: navigation slots and display filters."""

from __future__ import annotations

from flask import Flask, current_app, url_for
from werkzeug.routing import BuildError

from store.model import LIMITS

from .history import admin_label, display_value, hostname_label


def nav_url(endpoint: str, **values: object) -> str | None:
    """The URL of an endpoint, or None while no blueprint provides it.

    Navigation entries for areas added later ("Junos configuration",
    "Devices", "About") appear as soon as their endpoint exists.
    """
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def init_templating(app: Flask) -> None:
    """Install the globals and filters the templates use."""
    app.jinja_env.globals.update(nav_url=nav_url, LIMITS=LIMITS)
    app.jinja_env.filters.update(
        hostname=hostname_label, admin=admin_label, value=display_value
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
