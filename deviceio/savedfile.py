"""Saved device configuration files, read for an import into new policies.

A file is either IMAP Desk's own JSON policy file (see :mod:`store.jsonio`)
or a device configuration: XML as ``get-configuration`` returns it, or the
curly-brace or ``set`` text ``show configuration`` prints.
:func:`read_device_file` reads the second kind whole and refuses it with one
sentence naming the line or element at fault; nothing is half-read.
"""

from __future__ import annotations

import logging

from .readback import DeviceConfig, read_saved

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 4_000_000


class DeviceFileError(ValueError):
    """A device configuration file that cannot be imported; says why."""


def is_policy_file(data: bytes | str) -> bool:
    """True when ``data`` looks like a JSON policy file rather than Junos."""
    head = data[:64].decode("utf-8", "replace") if isinstance(data, bytes) else data
    return head.lstrip("\ufeff \t\r\n").startswith("{")


def read_device_file(data: bytes | str) -> DeviceConfig:
    """Read every anti-malware policy in a saved device configuration.

    :raises DeviceFileError: when the file is not readable configuration or
        holds no advanced-anti-malware policy.
    """
    if len(data) > MAX_FILE_BYTES:
        raise DeviceFileError(
            "The file is larger than any device configuration IMAP Desk reads "
            f"({MAX_FILE_BYTES // 1_000_000} MB)."
        )
    if not data.strip():
        raise DeviceFileError("The file is empty.")
    try:
        config = read_saved(data)
    except ValueError as exc:
        raise DeviceFileError(f"The file was not read: {_sentence(exc)}") from exc
    if not config.policies:
        reasons = "".join(f" {warning}" for warning in config.warnings)
        raise DeviceFileError(
            "The file holds no advanced-anti-malware policy IMAP Desk can read "
            f"(services advanced-anti-malware policy).{reasons}"
        )
    return config


def _sentence(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else text + "."
