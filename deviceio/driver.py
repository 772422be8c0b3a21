"""NETCONF to one SRX through PyEZ, and the sync workflow built on it."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _pending(*_args: object) -> None:
    raise NotImplementedError("The device workflow is not written yet.")


test_connection = check_drift = fetch_managed = run_sync = _pending
rollback_device = get_commit_history = check_pending = _pending
