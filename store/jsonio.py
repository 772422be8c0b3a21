"""The JSON file format for one policy: reading, writing, importing.

A file is an object::

    {"format": "imapdesk-policy", "version": 1, "policy": {...}}

where ``policy`` holds every field of :class:`store.model.Policy` under the
same names (``servers`` as a list of hostnames, ``administrators`` as a list
of ``{"email", "block", "unblock"}`` objects). Fields left out take their
defaults; unknown fields are refused. Version 1 is the only one so far.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from .errors import DuplicateName, InvalidImport
from .model import Policy, ValidationError
from .policies import StoredPolicy, create_policy

FORMAT = "imapdesk-policy"
VERSION = 1
MAX_FILE_BYTES = 2_000_000


def dumps_policy(policy: Policy) -> str:
    """The policy as a JSON document in the versioned file format."""
    document = {"format": FORMAT, "version": VERSION, "policy": policy.to_dict()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def loads_policy(data: bytes | str) -> Policy:
    """Read and validate a policy file; nothing is stored.

    :raises InvalidImport: naming the field and the problem.
    """
    document = _parse(data)
    if document.get("format") != FORMAT:
        raise InvalidImport(
            f"This is not an IMAP Desk policy file: 'format' must be {FORMAT!r}.",
            {"format": "missing or wrong"},
        )
    if document.get("version") != VERSION:
        raise InvalidImport(
            f"This file is version {document.get('version')!r}; this IMAP Desk "
            f"reads version {VERSION}.",
            {"version": "unsupported"},
        )
    extra = sorted(set(document) - {"format", "version", "policy"})
    if extra:
        raise InvalidImport(
            f"The file holds {extra[0]!r}, which is not part of the format.",
            {extra[0]: "unknown"},
        )
    try:
        return Policy.from_dict(document.get("policy"))
    except ValidationError as exc:
        errors = {f"policy.{key}": text for key, text in exc.errors.items()}
        first, problem = next(iter(errors.items()))
        raise InvalidImport(
            f"The file was not imported: {first}: {problem}", errors
        ) from None


def import_policy(
    db: Database, data: bytes | str, name: str | None = None
) -> StoredPolicy:
    """Validate a policy file and store it as a new policy, or store nothing.

    :param name: a name to use instead of the one in the file.
    :raises InvalidImport:
    """
    policy = loads_policy(data)
    if name is not None:
        try:
            policy = Policy.from_dict({**policy.to_dict(), "name": name})
        except ValidationError as exc:
            raise InvalidImport(
                f"The name is not valid: {exc.errors['name']}"
            ) from None
    try:
        return create_policy(db, policy, "Imported from a file.")
    except DuplicateName as exc:
        raise InvalidImport(
            f"{exc} Import it under another name, or rename the existing one.",
            {"policy.name": "already used"},
        ) from None


def _parse(data: bytes | str) -> dict[str, Any]:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidImport("The file is too large to be a policy file.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidImport("The file is not UTF-8 text.") from None
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidImport(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}."
        ) from None
    if not isinstance(document, dict):
        raise InvalidImport("The file must hold a JSON object.")
    return document
