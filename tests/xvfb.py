"""Starting a private Xvfb display, for the window tests and the benchmark."""

from __future__ import annotations

import os
import subprocess


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Start Xvfb on the first free display; return it and its name (":7").

    :raises RuntimeError: when the server does not come up.
    """
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24"]
        + ["-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as numbers:
        number = numbers.readline().strip()
    if not number:
        server.kill()
        raise RuntimeError("Xvfb did not start.")
    return server, f":{number}"
