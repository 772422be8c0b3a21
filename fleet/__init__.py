"""The devices seen from the application: inventory in, results recorded.

:mod:`deviceio` talks to SRX devices and knows nothing of the database;
:mod:`store` keeps the inventory and knows nothing of NETCONF. This package
joins them for the window and the command line alike:

- :mod:`fleet.targets` turns stored devices and policies into sync targets,
  with passwords from the keyring or memory;
- :mod:`fleet.actions` runs connection tests, syncs, drift checks, imports
  and rollbacks, and records each attempt in the audit log, the pinned host
  keys and the last synced state;
- :mod:`fleet.cli` holds the ``devices`` and ``sync`` commands;
- :mod:`fleet.demo` starts simulated devices for ``app.py --demo``.
"""
