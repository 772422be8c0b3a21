"""Blueprint registration and the error pages."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("policies", __name__)


@bp.route("/")
def index():
    """The policy list."""
    return "IMAP Desk"


def register(app: Flask) -> None:
    app.register_blueprint(bp)
