"""Keeping the local server to its own window.

Guards checked on every request:

- the Host header must name the address the server listens on, so a web
  page that rebinds its own DNS name to 127.0.0.1 gets nothing;
- a secret made at each launch is handed to the window once, in the launch
  URL, and traded there for an HttpOnly, SameSite=Strict cookie that every
  later request must carry, so other local processes and web pages in a
  browser cannot use the server;
- every form that changes something carries a CSRF token (Flask-WTF), and
  arrives as a form: a JSON body is refused, since Flask-WTF would read it as
  form data whose values can be lists, numbers or objects.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading

from flask import Flask, abort, current_app, redirect, request, url_for

log = logging.getLogger(__name__)

AUTH_COOKIE = "imapdesk_auth"


class LaunchGuard:
    """The one-time launch secret and the session cookie it is traded for."""

    def __init__(self, launch_secret: str | None = None):
        self.launch_secret = launch_secret or secrets.token_urlsafe(32)
        self.cookie_value = secrets.token_urlsafe(32)
        self._used = False
        self._lock = threading.Lock()

    def redeem(self, offered: str) -> bool:
        """Accept the launch secret once; every later offer is refused."""
        with self._lock:
            if self._used or not hmac.compare_digest(offered, self.launch_secret):
                return False
            self._used = True
            return True

    def admits(self, cookie: str | None) -> bool:
        return cookie is not None and hmac.compare_digest(cookie, self.cookie_value)


def allowed_hosts(port: int) -> list[str]:
    """The Host header values a server on 127.0.0.1:port answers."""
    return [f"127.0.0.1:{port}", f"localhost:{port}"]


def content_security_policy(style_hashes: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy header every page is sent with.

    :param style_hashes: ``sha256-...`` sources for inline stylesheets. Only
        the preview page passes one: the HTML emails shown in its sandboxed
        srcdoc frames inherit the page's policy, and their single fixed
        stylesheet must be allowed by its hash (never 'unsafe-inline').
    """
    styles = " ".join(["'self'", *(f"'{h}'" for h in style_hashes)])
    scripts = "'self'"
    if current_app.config.get("WINDOW_BRIDGE"):
        # pywebview's bridge evaluates the strings it sends to the page (its
        # set-up, the Python side's answers); inline scripts stay forbidden,
        # so injected markup still cannot run
        scripts += " 'unsafe-eval'"
    return (
        f"default-src 'self'; img-src 'self' data:; style-src {styles}; "
        f"script-src {scripts}; frame-src 'self'; frame-ancestors 'self'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'"
    )


def init_security(app: Flask, guard: LaunchGuard) -> None:
    """Install the Host check, the launch exchange and the cookie check."""
    app.extensions["imapdesk_guard"] = guard

    @app.before_request
    def check_request():
        hosts = app.config["ALLOWED_HOSTS"]
        if request.host not in hosts:
            log.warning("Refused a request for host %r", request.host)
            abort(400, "This address is not served here.")
        if request.endpoint == "launch":
            return
        if not guard.admits(request.cookies.get(AUTH_COOKIE)):
            abort(
                403,
                "IMAP Desk answers only its own window. Open it from the "
                "application, or use the link it printed when it started.",
            )
        if request.method == "POST" and request.is_json:
            # Flask-WTF would read a JSON body as the form, values of any type
            abort(415, "IMAP Desk's pages send forms; this request sent JSON.")
        return

    @app.route("/launch/<token>")
    def launch(token: str):
        """Trade the one-time launch secret for the session cookie."""
        if guard.admits(request.cookies.get(AUTH_COOKIE)):
            return redirect(url_for("policies.index"))
        if not guard.redeem(token):
            abort(
                403,
                "This launch link has already been used or is not valid. "
                "Restart IMAP Desk to get a new one.",
            )
        response = redirect(url_for("policies.index"))
        response.set_cookie(
            AUTH_COOKIE,
            guard.cookie_value,
            httponly=True,
            samesite="Strict",
            path="/",
        )
        return response

    @app.after_request
    def harden_response(response):
        # pages never load anything from elsewhere, and cannot be framed
        # by another origin; previews live in sandboxed srcdoc frames
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy()
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response
