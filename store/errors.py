"""Exceptions raised by the store; the web interface and CLI word them."""


class StoreError(Exception):
    """Base class for every error the store raises on purpose."""


class DatabaseUnreadable(StoreError):
    """A database file SQLite cannot open: damaged, locked or not a database."""


class NotFound(StoreError):
    """A policy or revision that does not exist."""


class DuplicateName(StoreError):
    """A policy name already used by another policy."""


class StaleRevision(StoreError):
    """A save based on a revision that is no longer the current one."""


class InvalidImport(StoreError):
    """A file that cannot be imported; nothing of it was stored.

    :param errors: maps a field path to what is wrong with it.
    """

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        self.errors = dict(errors or {})
        super().__init__(message)
