"""Blueprint registration: the one place the interface's areas are plugged in.

To add an area, write a module with a ``bp`` blueprint (see ``policies``)
and add it to ``BLUEPRINTS``. Its templates extend ``base.html``, whose
comment lists the blocks and the navigation slots.
"""

from __future__ import annotations

from flask import Flask

from . import about, audit, devices, errors, history, junos, policies, previews, sync
from .templating import init_templating

BLUEPRINTS = (
    policies.bp,
    history.bp,
    previews.bp,
    junos.bp,
    devices.bp,
    sync.bp,
    audit.bp,
    about.bp,
    errors.bp,
)


def register(app: Flask) -> None:
    """Register every blueprint and the template helpers."""
    init_templating(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
