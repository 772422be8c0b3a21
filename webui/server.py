"""Serving the Flask application on a free loopback port in a thread."""

from __future__ import annotations

import logging
import socket
import threading

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from .security import allowed_hosts

log = logging.getLogger(__name__)


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, logging the launch path without its secret."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path
        if path.startswith("/launch/"):
            self.path = "/launch/(secret)"
        try:
            super().log_request(code, size)
        finally:
            self.path = path


class LocalServer:
    """The interface's HTTP server, bound to 127.0.0.1 only.

    :param port: 0 picks a free port.
    :param listening: a socket already listening on 127.0.0.1 to serve on
        instead, which the server then owns; ``port`` is ignored.
    """

    def __init__(
        self, app: Flask, port: int = 0, listening: socket.socket | None = None
    ):
        self.app = app
        self._server = make_server(
            "127.0.0.1",
            port,
            app,
            threaded=True,
            request_handler=RequestHandler,
            fd=None if listening is None else listening.fileno(),
        )
        if listening is not None:
            listening.close()  # werkzeug serves on its own duplicate
        self.port: int = self._server.port
        app.config["ALLOWED_HOSTS"] = allowed_hosts(self.port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def launch_url(self) -> str:
        """The one-time URL that lets a window in; give it out once."""
        guard = self.app.extensions["imapdesk_guard"]
        return f"{self.url}launch/{guard.launch_secret}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http", daemon=True
        )
        self._thread.start()
        log.info("Serving on %s", self.url)

    def serve_forever(self) -> None:
        """Serve in this thread until shutdown() is called from another."""
        log.info("Serving on %s", self.url)
        self._server.serve_forever()

    def close(self) -> None:
        """Close the listening socket of a server that never served."""
        self._server.server_close()

    def shutdown(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("Server stopped")
