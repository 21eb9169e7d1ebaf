"""The cluster nodes' commands to each other, ``POST <prefix>/cluster/command``
(JS7's ``ClusterCommand``; sources in sos-berlin/js7:
js7-data/shared/src/main/scala/js7/data/cluster/ClusterCommand.scala and the
JSON of ClusterCommandTest.scala L16-80).

What the reference sends and takes:

* ``ClusterStartBackupNode`` (active → Backup, while ``NodesAppointed``):
  the setting, the active's first eventId, its node name and the user the
  Backup logs in with at the active (ClusterCommandTest.scala L16-47);
* ``ClusterPrepareCoupling`` and ``ClusterCouple`` (passive → active, each
  with a one-time ``token``), which the active checks by sending the token
  back in ``ClusterConfirmCoupling`` (active → passive) before it journals
  ``ClusterCouplingPrepared`` or ``ClusterCoupled``
  (ActiveClusterNode.scala L188-262, ``checkCouplingToken`` L293-315;
  PassiveClusterNode.scala L231-233).

JS7's ``ClusterRecouple``, ``ClusterPassiveDown`` and
``ClusterInhibitActivation`` are decoded (a JS7 node may send them) and
refused as not supported: the reference's restarted nodes ask the Watch
instead (README, "Deliberate differences").
"""

from __future__ import annotations

import msgspec

from components.wire.cluster import ClusterSetting


class _Command(msgspec.Struct, tag_field="TYPE", kw_only=True, forbid_unknown_fields=True):
    pass


class ClusterStartBackupNode(_Command, tag="ClusterStartBackupNode"):
    setting: ClusterSetting
    fileEventId: int
    activeNodeName: str
    passiveNodeUserId: str


class ClusterPrepareCoupling(_Command, tag="ClusterPrepareCoupling"):
    activeId: str
    passiveId: str
    token: str


class ClusterCouple(_Command, tag="ClusterCouple"):
    activeId: str
    passiveId: str
    token: str


class ClusterConfirmCoupling(_Command, tag="ClusterConfirmCoupling"):
    token: str


class ClusterRecouple(_Command, tag="ClusterRecouple"):
    activeId: str
    passiveId: str


class ClusterPassiveDown(_Command, tag="ClusterPassiveDown"):
    activeId: str
    passiveId: str


class ClusterInhibitActivation(_Command, tag="ClusterInhibitActivation"):
    duration: float  # seconds


ClusterCommand = (
    ClusterStartBackupNode
    | ClusterPrepareCoupling
    | ClusterCouple
    | ClusterConfirmCoupling
    | ClusterRecouple
    | ClusterPassiveDown
    | ClusterInhibitActivation
)
