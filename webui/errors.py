"""The error pages: every failure answered with a full sentence and a way back."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

import store

log = logging.getLogger(__name__)

bp = Blueprint("errors", __name__)

TITLES = {
    400: "This request could not be handled",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Saved elsewhere",
    413: "File too large",
    415: "This request could not be handled",
    500: "Something went wrong",
}

# werkzeug's own descriptions are terse and technical; these replace them
MESSAGES = {
    400: "The page sent something IMAP Desk could not understand. Go back, "
    "reload the page and try again.",
    403: "IMAP Desk answers only its own window.",
    404: "There is nothing at this address.",
    405: "This page cannot be used that way. Go back and use its buttons.",
    413: "The file is larger than IMAP Desk accepts (4 MB). Policy files and "
    "inventories are only a few kilobytes; check that you chose the right file.",
    500: "IMAP Desk met an unexpected problem and did not finish what you "
    "asked. Nothing was half-saved: each save is all or nothing. The details "
    "are in the log.",
}

# the page an error leads back to, by the first part of the address
WAYS_BACK = {
    "devices": ("devices.index", "Back to the device list"),
    "sync": ("sync.index", "Back to the sync page"),
}
DEFAULT_WAY_BACK = ("policies.index", "Back to the policy list")

# what may have gone from under an address, by its first two parts
GONE = {
    ("devices", ""): "The device may have been deleted.",
    ("sync", ""): "The device may have been deleted.",
    ("sync", "jobs"): "The job may have been forgotten: jobs are forgotten when "
    "IMAP Desk closes.",
    ("policies", ""): "The policy or revision may have been deleted.",
}


def way_back(path: str) -> tuple[str, str]:
    """The URL and words of the link back from an error at this path."""
    area = path.lstrip("/").split("/", 1)[0]
    endpoint, words = WAYS_BACK.get(area, DEFAULT_WAY_BACK)
    return url_for(endpoint), words


def what_is_gone(path: str) -> str:
    """The sentence on what may have been deleted from under this path."""
    parts = path.strip("/").split("/")
    area, section = parts[0], parts[1] if len(parts) > 1 else ""
    return GONE.get((area, section)) or GONE.get((area, ""), "")


def render_error(status: int, message: str):
    """An error page with a title, a sentence and a link back."""
    title = TITLES.get(status, "Something went wrong")
    back_url, back_words = way_back(request.path)
    page = render_template(
        "error.html",
        status=status,
        title=title,
        message=message,
        back_url=back_url,
        back_words=back_words,
    )
    return page, status


@bp.app_errorhandler(CSRFError)
def csrf_failed(exc: CSRFError):
    """A form whose token is missing or from an earlier start."""
    log.warning("Refused a form without a valid CSRF token: %s", request.path)
    return render_error(
        400,
        "This form has expired, or was opened before IMAP Desk was restarted. "
        "Reload the page and make your change again.",
    )


@bp.app_errorhandler(store.NotFound)
def not_found(exc: store.NotFound):
    """A policy or revision that is not in the store."""
    return render_error(404, f"{exc} It may have been deleted.")


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Every other HTTP error: ours carry their own sentence, werkzeug's do not."""
    status = exc.code or 500
    if isinstance(exc, InternalServerError):
        return unexpected(exc.original_exception or exc)
    own = exc.description and exc.description != type(exc).description
    message = exc.description if own else MESSAGES.get(status, MESSAGES[400])
    if status == 404 and not own:
        message = f"{message} {what_is_gone(request.path)}".rstrip()
    return render_error(status, message)


@bp.app_errorhandler(Exception)
def unexpected(exc: BaseException):
    """A bug: log it once with the path, show a calm page."""
    log.error("Unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return render_error(500, MESSAGES[500])
