"""Junos configuration for IMAP Desk: render, check, print and read back.

Pure configuration work on lxml trees, with no database and no web code:

- :mod:`deviceio.render` turns policies and bindings into a load document;
- :mod:`deviceio.macro` keeps the ATP Cloud settings as apply-macro data;
- :mod:`deviceio.junostext` prints and parses set and curly-brace text;
- :mod:`deviceio.readback` reads policies and bindings from a device;
- :mod:`deviceio.merge` applies a load to a configuration as Junos does;
- :mod:`deviceio.yang` checks a configuration against the YANG models.

The names below are imported from their module when first used, so that
importing one light module (``deviceio.errors``, ``deviceio.macro``) does
not load lxml and the rest of the package with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .junostext import (
        ConfigSyntaxError,
        parse_set,
        parse_text,
        quote,
        to_set,
        to_text,
    )
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

# where each public name lives
_SOURCES = {
    "junostext": (
        "ConfigSyntaxError",
        "parse_set",
        "parse_text",
        "quote",
        "to_set",
        "to_text",
    ),
    "macro": ("MACRO_NAME", "Enforcement", "enforcement"),
    "merge": ("apply_load",),
    "readback": ("DeviceConfig", "ReadBack", "read_config", "read_saved"),
    "render": (
        "Binding",
        "export",
        "render_binding",
        "render_binding_deletion",
        "render_load",
        "render_policy",
        "render_policy_deletion",
        "to_xml",
    ),
    "yang": ("RELEASES", "YangError", "YangUnavailable", "find_models", "validate"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    # later look-ups find the name directly, without this function
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
