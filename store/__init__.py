"""The IMAP Desk store: policies and revisions in SQLite.

Only this package knows SQLite. Callers open a connection with
:func:`connect`, pass it to the functions below, and close it.
"""

from .db import DB_FILENAME, connect, init_db, read_snapshot, write_transaction
from .errors import (
    DatabaseUnreadable,
    DuplicateName,
    InvalidImport,
    NotFound,
    StaleRevision,
    StoreError,
)
from .jsonio import dumps_policy, import_policy, loads_policy
from .model import Administrator, Policy, ValidationError
from .policies import (
    Revision,
    StoredPolicy,
    check_policy,
    create_policies,
    create_policy,
    delete_policy,
    ensure_default_policy,
    get_policy,
    get_policy_by_name,
    get_revision,
    get_setting,
    list_policies,
    list_revisions,
    restore_revision,
    save_policy,
    set_setting,
)

__all__ = [
    "DB_FILENAME",
    "Administrator",
    "DatabaseUnreadable",
    "DuplicateName",
    "InvalidImport",
    "NotFound",
    "Policy",
    "Revision",
    "StaleRevision",
    "StoreError",
    "StoredPolicy",
    "ValidationError",
    "check_policy",
    "connect",
    "create_policies",
    "create_policy",
    "delete_policy",
    "dumps_policy",
    "ensure_default_policy",
    "get_policy",
    "get_policy_by_name",
    "get_revision",
    "get_setting",
    "import_policy",
    "init_db",
    "list_policies",
    "list_revisions",
    "loads_policy",
    "read_snapshot",
    "restore_revision",
    "save_policy",
    "set_setting",
    "write_transaction",
]
