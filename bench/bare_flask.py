"""The floor for the browser-mode benchmark: a Flask app with one page.

    python bench/bare_flask.py

Prints the address it serves, like ``app.py --no-window``, and serves until
it is stopped.
"""

from __future__ import annotations

import contextlib

from flask import Flask
from werkzeug.serving import make_server

app = Flask(__name__)


@app.route("/")
def index():
    return "<!DOCTYPE html><title>Bare Flask</title><h1>Policies</h1>"


if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"Open http://127.0.0.1:{server.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
