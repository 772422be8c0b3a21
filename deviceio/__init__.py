"""Junos configuration for IMAP Desk: render, check, print and read back.

Pure configuration work on lxml trees, with no database and no web code:

- :mod:`deviceio.render` turns policies and bindings into a load document;
- :mod:`deviceio.macro` keeps the ATP Cloud settings as apply-macro data;
- :mod:`deviceio.junostext` prints and parses set and curly-brace text;
- :mod:`deviceio.readback` reads policies and bindings from a device;
- :mod:`deviceio.merge` applies a load to a configuration as Junos does;
- :mod:`deviceio.yang` checks a configuration against the YANG models.
"""

from .junostext import ConfigSyntaxError, parse_set, parse_text, quote, to_set, to_text
from .macro import MACRO_NAME, Enforcement, enforcement
from .merge import apply_load
from .readback import DeviceConfig, ReadBack, read_config, read_saved
from .render import (
    Binding,
    export,
    render_binding,
    render_binding_deletion,
    render_load,
    render_policy,
    render_policy_deletion,
    to_xml,
)
from .yang import RELEASES, YangError, YangUnavailable, find_models, validate

__all__ = [
    "MACRO_NAME",
    "RELEASES",
    "Binding",
    "ConfigSyntaxError",
    "DeviceConfig",
    "Enforcement",
    "ReadBack",
    "YangError",
    "YangUnavailable",
    "apply_load",
    "enforcement",
    "export",
    "find_models",
    "parse_set",
    "parse_text",
    "quote",
    "read_config",
    "read_saved",
    "render_binding",
    "render_binding_deletion",
    "render_load",
    "render_policy",
    "render_policy_deletion",
    "to_set",
    "to_text",
    "to_xml",
    "validate",
]
