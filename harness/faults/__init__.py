"""Fault families, one per module, each an async context manager that heals itself."""

from harness.faults.active_loss import lose_active
from harness.faults.base import Fault
from harness.faults.db_outage import DbOutage, db_outage
from harness.faults.disconnect import Disconnect, disconnect
from harness.faults.kill import Kill, kill
from harness.faults.latency import Latency, jitter, latency
from harness.faults.lose_state import LoseState, lose_state
from harness.faults.partition import Partition, bridge, isolate, one_way, partition, split
from harness.faults.pause import Pause, pause
from harness.faults.stop import Stop, stop

__all__ = [
    "DbOutage",
    "Disconnect",
    "Fault",
    "Kill",
    "Latency",
    "LoseState",
    "Partition",
    "Pause",
    "Stop",
    "bridge",
    "db_outage",
    "disconnect",
    "isolate",
    "jitter",
    "kill",
    "latency",
    "lose_active",
    "lose_state",
    "one_way",
    "partition",
    "pause",
    "split",
    "stop",
]
