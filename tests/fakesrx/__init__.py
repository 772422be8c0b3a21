"""A simulated Juniper SRX answering NETCONF over SSH, for tests and benchmarks.

    with FakeSRX(user="admin", password="secret") as srx:
        Device(host="127.0.0.1", port=srx.port, user="admin", passwd="secret")

See ``server.FakeSRX`` for options, ``faults.Faults`` for what can go wrong and
``device`` for the Junos semantics modelled.
"""

from .faults import Faults
from .server import FakeSRX, start_many

__all__ = ["FakeSRX", "Faults", "start_many"]
