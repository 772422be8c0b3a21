"""Commit-time checks of a candidate against Juniper's YANG models.

The checking itself is ``deviceio.yang.validate``; this module turns its
findings into what Junos reports on a failed commit: an edit path in
``[edit ...]`` form, the offending statement and a message.  Results are
cached by release and the text of what is checked, so fifty devices
committing the same policy run yanglint once, and at most two yanglint
processes run at a time.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from lxml import etree

from .config import child_node, quote
from .schema import ROOT

logger = logging.getLogger(__name__)

_STEP = re.compile(r"([^/\[]+)((?:\[[^\]]*\])*)")
_PREDICATE = re.compile(r"\[([^=\]]+)='([^']*)'\]")
_CACHE_SIZE = 256
_SCOPE = ("services", "security")


@dataclass(frozen=True)
class Problem:
    """One reason a commit fails, the way Junos words it."""

    severity: str
    edit_path: str
    bad_element: str | None
    message: str


class Validator:
    """Validates ``services`` and ``security`` of candidates for a release."""

    def __init__(self, parallel: int = 2) -> None:
        self._cache: OrderedDict[tuple[str, bytes], list[Problem]] = OrderedDict()
        self._running: dict[tuple[str, bytes], threading.Event] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(parallel)

    def check(self, config: etree._Element, release: str) -> list[Problem]:
        parts = [etree.tostring(el) for tag in _SCOPE for el in config.findall(tag)]
        # the text as it is, not a canonical form: a candidate with the same
        # statements in another order is checked again, which only costs time
        key = (release, b"".join(parts))
        while True:
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
                running = self._running.get(key)
                if running is None:
                    done = self._running[key] = threading.Event()
                    break
            # another device is checking the same content: wait for its answer
            running.wait()
        try:
            scope = etree.fromstring(b"<configuration>" + key[1] + b"</configuration>")
            with self._slots:
                problems = _run(scope, release)
            with self._lock:
                self._cache[key] = problems
                if len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        finally:
            with self._lock:
                del self._running[key]
            done.set()
        return problems


VALIDATOR = Validator()


def _run(scope: etree._Element, release: str) -> list[Problem]:
    try:
        from deviceio import yang
    except ImportError:
        logger.warning("deviceio.yang is missing; commits are not validated")
        return []
    try:
        findings = yang.validate(scope, release)
    except yang.YangUnavailable as exc:
        logger.warning("commit not validated: %s", exc)
        return []
    return [_problem(f.severity, f.path, f.message) for f in findings]


def _problem(severity: str, path: str, message: str) -> Problem:
    words, bad = edit_words(path)
    edit = "[edit" + "".join(" " + w for w in words) + "]"
    return Problem(severity, edit, bad, message)


def edit_words(path: str) -> tuple[list[str], str | None]:
    """Turn a YANG data path into Junos edit-path words and the last statement."""
    steps = [(m[1], dict(_PREDICATE.findall(m[2]))) for m in _STEP.finditer(path)]
    if steps and steps[0][0] == "configuration":
        steps = steps[1:]
    node = ROOT
    words: list[str] = []
    for tag, keys in steps:
        sub = child_node(node, tag)
        if sub is not None and node is not None and sub is node.hidden:
            words.append(quote(keys.get(sub.keys[0][1])))
        else:
            keyword = (node.keyword_of(tag) if node is not None else None) or tag
            part = [keyword]
            if sub is not None and sub.kind in ("list", "macro"):
                for kw, ktag in sub.keys:
                    part += ([kw] if kw else []) + [quote(keys.get(ktag))]
            else:
                part += [quote(v) for v in keys.values()]
            words.append(" ".join(part))
        node = sub
    if not words:
        return [], None
    return words[:-1], words[-1]
