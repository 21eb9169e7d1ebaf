"""The active/passive journal cluster: two nodes replicating one journal
under a Cluster Watch's arbitration — the Controller's cluster today, built
so that the Director Agents' cluster can run on the same mechanism.

``node.Cluster`` is the state machine (what must hold is in its docstring);
``settings`` reads and checks its configuration, ``host`` is the small
protocol the node hosting it offers, ``watch`` talks to the Cluster Watch,
``encoding`` writes its state in JS7's JSON.
"""

from components.common.cluster.host import ClusterHost
from components.common.cluster.node import Cluster
from components.common.cluster.settings import ClusterSettings

__all__ = ["Cluster", "ClusterHost", "ClusterSettings"]
