"""The coupling handshake of a Controller pair, JS7's ``ClusterCommand``s
(ClusterCommand.scala; ActiveClusterNode.scala L188-315): the passive sends
``ClusterPrepareCoupling`` and ``ClusterCouple`` with a one-time token, the
active has the passive confirm it (``ClusterConfirmCoupling``) before it
journals ``ClusterCouplingPrepared`` or ``ClusterCoupled``. A coupling
command the passive did not send, one sent to the wrong node, a malformed
one and the commands the reference does not carry out are refused, and the
cluster stays as it was."""

from __future__ import annotations

from typing import Any

import pytest

from harness.clients.js7 import ClusterClient, types, wait_cluster
from harness.clients.node import ProblemError
from harness.js7topo import controller_cluster
from harness.workload import read_all_events


async def _refused(client: Any, body: dict[str, Any]) -> tuple[int, str]:
    with pytest.raises(ProblemError) as refused:
        await client.command_path("/cluster/command", body)
    return refused.value.status, refused.value.code


async def test_only_the_passives_own_coupling_commands_couple(deploy):
    dep = await deploy(controller_cluster(0))
    cluster = ClusterClient(dep)
    await wait_cluster(dep, cluster)
    primary, backup = cluster.clients["primary"], cluster.clients["backup"]
    events = await read_all_events(primary)
    # The handshake ran: prepared, then coupled, each once.
    coupling = [t for t in types(events) if t in ("ClusterCouplingPrepared", "ClusterCoupled")]
    assert coupling == ["ClusterCouplingPrepared", "ClusterCoupled"]

    forged = {"activeId": "Primary", "passiveId": "Backup", "token": "FORGED"}
    answers = {
        # A token the passive never issued: not confirmed.
        "forged couple": await _refused(primary, {"TYPE": "ClusterCouple", **forged}),
        "forged prepare": await _refused(primary, {"TYPE": "ClusterPrepareCoupling", **forged}),
        "unknown token": await _refused(
            backup, {"TYPE": "ClusterConfirmCoupling", "token": "FORGED"}
        ),
        # To the passive: it is not the active node.
        "to the passive": await _refused(backup, {"TYPE": "ClusterCouple", **forged}),
        # Other nodes than the setting's.
        "wrong nodes": await _refused(
            primary, {"TYPE": "ClusterCouple", **forged, "passiveId": "Elsewhere"}
        ),
        "malformed": await _refused(primary, {"TYPE": "ClusterCouple", "activeId": "Primary"}),
        "not carried out": await _refused(
            primary, {"TYPE": "ClusterInhibitActivation", "duration": 7}
        ),
    }
    assert answers == {
        "forged couple": (400, "ClusterCouplingNotConfirmed"),
        "forged prepare": (400, "ClusterCouplingNotConfirmed"),
        "unknown token": (400, "ClusterCouplingNotConfirmed"),
        "to the passive": (503, "ClusterNodeIsNotActive"),
        "wrong nodes": (400, "ClusterCommandInapplicable"),
        "malformed": (400, "MissingField"),
        "not carried out": (400, "UnsupportedCommand"),
    }
    states = await cluster.states()
    assert {n: (s or {}).get("TYPE") for n, s in states.items()} == {
        "primary": "Coupled",
        "backup": "Coupled",
    }
    assert await read_all_events(primary) == events  # nothing journaled
