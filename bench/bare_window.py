"""The floor for the window benchmark: pywebview over a static page, nothing else.

    python bench/bare_window.py STAMP_FILE

Serves one static page from a loopback HTTP server, opens it in a pywebview
window like IMAP Desk's (Qt WebEngine on Linux), writes the time at which
the page has loaded to STAMP_FILE and closes.
"""

from __future__ import annotations

import http.server
import os
import sys
import threading
import time

PAGE = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Bare window</title></head><body><h1>Policies</h1></body></html>"""


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format, *args):
        pass


def main() -> None:
    stamp = sys.argv[1]
    if sys.platform.startswith("linux"):
        os.environ.setdefault("QT_API", "pyside6")
        os.environ.setdefault("PYWEBVIEW_GUI", "qt")
        if os.geteuid() == 0:  # as IMAP Desk does: Chromium's sandbox needs a user
            os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    import webview

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    window = webview.create_window(
        "Bare window", f"http://127.0.0.1:{server.server_port}/"
    )

    def loaded():
        with open(stamp, "w") as out:
            out.write(repr(time.time()))
        window.destroy()

    window.events.loaded += loaded
    webview.start(private_mode=True)
    server.shutdown()


if __name__ == "__main__":
    main()
