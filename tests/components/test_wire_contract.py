"""Contract tests: each wire shape the reference reads or writes, against the
JSON JS7's own codec tests state for it.

Every case quotes JS7's JSON from ``sos-berlin/js7`` (file and line in its
comment). ``both``: JS7's ``testJson`` — the reference decodes it to the same
value and encodes that value back to exactly this JSON. ``decode``: JS7's
``testJsonDecoder`` — an accepted older or shorter form, decoded only.

A new TYPE in ``components/wire`` without a case here is a review finding:
``test_every_wire_type_has_a_contract_case`` enforces it.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from components.common.web import Problem
from components.wire import agent_commands as ac
from components.wire import cluster as cl
from components.wire import cluster_commands as ccm
from components.wire import cluster_watch as cw
from components.wire import controller_commands as cc
from components.wire import events as ev
from components.wire import items as it
from components.wire import lock as lw
from components.wire import notice as nw
from components.wire import overview as wo
from components.wire import session as ss
from components.wire import snapshot as sn
from components.wire import subagent as sw
from components.wire.codec import decode

CCT = "js7-data/shared/src/test/scala/js7/data/controller/ControllerCommandTest.scala"
CST = "js7-data/shared/src/test/scala/js7/data/cluster/ClusterStateTest.scala"
ACT = "js7-agent-data/shared/src/test/scala/js7/agent/data/commands/AgentCommandTest.scala"
OMT = "js7-data/shared/src/test/scala/js7/data/order/OrderMarkTest.scala"
OET = "js7-data/shared/src/test/scala/js7/data/order/OrderEventTest.scala"
CET = "js7-data/shared/src/test/scala/js7/data/cluster/ClusterEventTest.scala"
CWT = "js7-data/shared/src/test/scala/js7/data/cluster/ClusterWatchingCommandTest.scala"
CWR = "js7-data/shared/src/test/scala/js7/data/cluster/ClusterWatchRequestTest.scala"
CCM = "js7-data/shared/src/test/scala/js7/data/cluster/ClusterCommandTest.scala"
IOT = "js7-data/shared/src/test/scala/js7/data/item/ItemOperationTest.scala"
VET = "js7-data/shared/src/test/scala/js7/data/item/VersionedEventTest.scala"
JOC_NOTICE_KEY = "match(orderId, '#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*', '$1')"
NET = "js7-data/shared/src/test/scala/js7/data/board/NoticeEventTest.scala"
SIGNED_WORKFLOW = {
    "string": '{"TYPE":"Workflow","path":"WORKFLOW","instructions":[{"TYPE":"Fail"}]}',
    "signature": {"TYPE": "PGP", "signatureString": "SIGNATURE"},
}
SETTING = {
    "idToUri": {"A": "https://A", "B": "https://B"},
    "activeId": "A",
    "timing": {"heartbeat": 10, "heartbeatTimeout": 20, "consentTimeout": 6},
}

# (source, mode, wire type, JS7's JSON)
CASES: list[tuple[str, str, Any, dict[str, Any]]] = [
    # js7-base/shared/src/test/scala/js7/base/session/SessionCommandTest.scala
    (
        "SessionCommandTest.scala:30",
        "decode",
        ss.SessionCommand,
        {
            "TYPE": "Login",
            "userAndPassword": {"userId": "USER", "password": "PASSWORD"},
            "js7Version": "0.0.0-TEST",
        },
    ),
    (
        "SessionCommandTest.scala:42",
        "both",
        ss.SessionCommand,
        {"TYPE": "Logout", "sessionToken": "SESSION-TOKEN"},
    ),
    (
        "SessionCommandTest.scala:49",
        "both",
        ss.LoggedIn,
        {"TYPE": "LoggedIn", "sessionToken": "SESSION-TOKEN", "js7Version": "0.0.0-TEST"},
    ),
    # ControllerCommandTest.scala
    (
        f"{CCT}:31",
        "both",
        cc.ControllerCommand,
        {
            "TYPE": "Batch",
            "commands": [
                {"TYPE": "NoOperation"},
                {"TYPE": "EmergencyStop", "correlId": "_CORREL_"},
            ],
        },
    ),
    (
        f"{CCT}:60",
        "both",
        cc.BatchResponse,
        {
            "TYPE": "BatchResponse",
            "responses": [{"TYPE": "Accepted"}, {"TYPE": "Problem", "message": "PROBLEM"}],
        },
    ),
    (
        f"{CCT}:81",
        "both",
        cc.ControllerCommand,
        {"TYPE": "AddOrder", "order": {"id": "ORDER", "workflowPath": "WORKFLOW", "planId": []}},
    ),
    (
        f"{CCT}:92",
        "both",
        cc.AddOrderResponse,
        {"TYPE": "AddOrder.Response", "ignoredBecauseDuplicate": True},
    ),
    (
        f"{CCT}:101",
        "both",
        cc.ControllerCommand,
        {"TYPE": "CancelOrders", "orderIds": ["A", "B"]},
    ),
    (
        f"{CCT}:108",
        "both",
        cc.ControllerCommand,
        {"TYPE": "CancelOrders", "orderIds": "orderId => true"},
    ),
    (
        f"{CCT}:115",
        "both",
        cc.ControllerCommand,
        {
            "TYPE": "CancelOrders",
            "orderIds": ["ORDER"],
            "mode": {
                "TYPE": "FreshOrStarted",
                "kill": {
                    "immediately": True,
                    "workflowPosition": {
                        "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
                        "position": [1],
                    },
                },
            },
        },
    ),
    (
        f"{CCT}:140",
        "decode",
        cc.ControllerCommand,
        {
            "TYPE": "CancelOrders",
            "orderIds": ["A", "B"],
            "mode": {"TYPE": "FreshOrStarted", "kill": {}},
        },
    ),
    (
        f"{CCT}:279",
        "both",
        cc.ControllerCommand,
        {"TYPE": "DeleteOrdersWhenTerminated", "orderIds": ["A", "B"]},
    ),
    (f"{CCT}:286", "both", cc.ControllerCommand, {"TYPE": "AnswerOrderPrompt", "orderId": "ORDER"}),
    (f"{CCT}:294", "both", cc.ControllerCommand, {"TYPE": "EmergencyStop"}),
    (f"{CCT}:300", "both", cc.ControllerCommand, {"TYPE": "EmergencyStop", "restart": True}),
    (f"{CCT}:308", "both", cc.ControllerCommand, {"TYPE": "ReleaseEvents", "untilEventId": 123}),
    (f"{CCT}:316", "both", cc.ControllerCommand, {"TYPE": "NoOperation", "duration": 3}),
    (f"{CCT}:329", "both", cc.ControllerCommand, {"TYPE": "TakeSnapshot"}),
    (f"{CCT}:336", "both", cc.ControllerCommand, {"TYPE": "ShutDown"}),
    (f"{CCT}:342", "both", cc.ControllerCommand, {"TYPE": "ShutDown", "restart": True}),
    (
        f"{CCT}:349",
        "both",
        cc.ControllerCommand,
        {"TYPE": "ShutDown", "clusterAction": {"TYPE": "Switchover"}},
    ),
    (
        f"{CCT}:358",
        "both",
        cc.ControllerCommand,
        {"TYPE": "ShutDown", "clusterAction": {"TYPE": "Failover"}},
    ),
    (
        f"{CCT}:367",
        "both",
        cc.ControllerCommand,
        {"TYPE": "ShutDown", "suppressSnapshot": True, "dontNotifyActiveNode": True},
    ),
    (
        f"{CCT}:406",
        "both",
        cc.ControllerCommand,
        {
            "TYPE": "ResumeOrder",
            "orderId": "ORDER",
            "position": [1],
            "historyOperations": [
                {
                    "TYPE": "Replace",
                    "position": [0],
                    "outcome": {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}},
                },
                {
                    "TYPE": "Replace",
                    "position": [1],
                    "outcome": {"TYPE": "Failed", "namedValues": {"returnCode": 1}},
                },
            ],
            "asSucceeded": True,
            "restartKilledJob": False,
        },
    ),
    (f"{CCT}:445", "decode", cc.ControllerCommand, {"TYPE": "ResumeOrder", "orderId": "ORDER"}),
    (
        f"{CCT}:452",
        "both",
        cc.ControllerCommand,
        {
            "TYPE": "ResumeOrders",
            "orderIds": ["A", "B"],
            "asSucceeded": True,
            "restartKilledJob": True,
        },
    ),
    (
        f"{CCT}:464",
        "decode",
        cc.ControllerCommand,
        {"TYPE": "ResumeOrders", "orderIds": ["A", "B"]},
    ),
    (
        f"{CCT}:470",
        "both",
        cc.ControllerCommand,
        {
            "TYPE": "SuspendOrders",
            "orderIds": ["A"],
            "mode": {"resetState": True, "kill": {"immediately": False}},
        },
    ),
    (
        f"{CCT}:487",
        "decode",
        cc.ControllerCommand,
        {"TYPE": "SuspendOrders", "orderIds": ["A", "B"], "mode": {}},
    ),
    (
        f"{CCT}:563",
        "both",
        cc.ControllerCommand,
        {"TYPE": "ClusterSwitchOver", "agentPath": "AGENT"},
    ),
    (f"{CCT}:570", "both", cc.ControllerCommand, {"TYPE": "ClusterSwitchOver"}),
    (
        f"{CCT}:575",
        "both",
        cc.ControllerCommand,
        {
            "TYPE": "ConfirmClusterNodeLoss",
            "agentPath": "AGENT",
            "lostNodeId": "Primary",
            "confirmer": "me",
        },
    ),
    (f"{CCT}:585", "both", cc.Accepted, {"TYPE": "Accepted"}),
    # js7-data/shared/src/test/scala/js7/data/order/OrderEventTest.scala:598, the
    # "mode" of OrderCancellationMarked(CancellationMode.FreshOnly)
    ("OrderEventTest.scala:598", "both", cc.CancellationMode, {"TYPE": "FreshOnly"}),
    # js7-data/shared/src/test/scala/js7/data/order/FreshOrderTest.scala:27
    (
        "FreshOrderTest.scala:27",
        "both",
        cc.FreshOrder,
        {
            "id": "ORDER-ID",
            "workflowPath": "WORKFLOW",
            "planId": ["DailyPlan", "2025-02-26"],
            "arguments": {"boolean": True, "string": "STRING", "list": [True, 123, "string"]},
            "scheduledFor": 1488888000000,
            "priority": 1.23,
            "deleteWhenTerminated": True,
            "forceAdmission": True,
            "innerBlock": [1, "then"],
            "startPosition": [1, "then", 2],
            "stopPositions": [[9, "catch", 0], "LABEL"],
        },
    ),
    (
        "FreshOrderTest.scala:61",
        "decode",
        cc.FreshOrder,
        {"id": "ORDER-ID", "workflowPath": "WORKFLOW", "planId": [], "forceJobAdmission": True},
    ),
    # AgentCommandTest.scala
    (
        f"{ACT}:34",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "Batch",
            "commands": [
                {"TYPE": "NoOperation"},
                {"TYPE": "EmergencyStop", "correlId": "_CORREL_"},
            ],
        },
    ),
    (
        f"{ACT}:47",
        "both",
        ac.BatchResponse,
        {
            "TYPE": "Batch.Response",
            "responses": [
                {"TYPE": "Accepted"},
                {
                    "TYPE": "Problem",
                    "code": "TestCode",
                    "arguments": {"ARG": "VALUE"},
                    "message": "TestCode(ARG=VALUE)",
                },
            ],
        },
    ),
    (
        f"{ACT}:65",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "MarkOrder",
            "orderId": "ORDER",
            "mark": {"TYPE": "Cancelling", "mode": {"TYPE": "FreshOnly"}},
        },
    ),
    (f"{ACT}:79", "both", ac.AgentCommand, {"TYPE": "EmergencyStop"}),
    (f"{ACT}:83", "both", ac.AgentCommand, {"TYPE": "EmergencyStop", "restart": True}),
    (f"{ACT}:91", "both", ac.AgentCommand, {"TYPE": "ReleaseEvents", "untilEventId": 123}),
    (f"{ACT}:98", "both", ac.AgentCommand, {"TYPE": "NoOperation"}),
    (
        f"{ACT}:104",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "DedicateAgentDirector",
            "agentPath": "AGENT",
            "directors": ["SUBAGENT", "BACKUP-SUBAGENT"],
            "controllerId": "CONTROLLER",
            "controllerRunId": "AAAAAAAAAAAAAAAAAAAAAA",
        },
    ),
    (
        f"{ACT}:119",
        "decode",
        ac.AgentCommand,
        {
            "TYPE": "DedicateAgentDirector",
            "agentPath": "AGENT",
            "subagentId": "SUBAGENT",
            "controllerId": "CONTROLLER",
            "controllerRunId": "AAAAAAAAAAAAAAAAAAAAAA",
        },
    ),
    (
        f"{ACT}:131",
        "both",
        ac.DedicateAgentDirectorResponse,
        {
            "TYPE": "DedicateAgentDirector.Response",
            "agentRunId": "ERERESIiMzNERFVVVVVVVQ",
            "agentEventId": 1000,
        },
    ),
    (
        f"{ACT}:142",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "CoupleController",
            "agentPath": "AGENT",
            "agentRunId": "ERERESIiMzNERFVVVVVVVQ",
            "controllerRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "eventId": 1000,
        },
    ),
    (
        f"{ACT}:166",
        "both",
        ac.CoupleControllerResponse,
        {"TYPE": "CoupleController.Response", "orderIds": ["ORDER"]},
    ),
    (f"{ACT}:175", "decode", ac.AgentCommand, {"TYPE": "ShutDown"}),
    (
        f"{ACT}:181",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "ShutDown",
            "processSignal": "SIGTERM",
            "suppressSnapshot": False,
            "restart": False,
            "restartDirector": False,
        },
    ),
    (
        f"{ACT}:218",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "AttachSignedItem",
            "signed": {
                "signature": {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"},
                "string": '{"TYPE":"Workflow","path":"WORKFLOW","versionId":"VERSION"}',
            },
        },
    ),
    (
        f"{ACT}:234",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "AttachSignedItem",
            "signed": {
                "signature": {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"},
                "string": '{"TYPE":"JobResource","path":"JOB-RESOURCE","variables":{},"env":{}}',
            },
            "itemRevision": 7,
        },
    ),
    (f"{ACT}:258", "both", ac.AgentCommand, {"TYPE": "DetachItem", "key": "Workflow:WORKFLOW~1"}),
    (
        f"{ACT}:267",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "AttachOrder",
            "order": {
                "id": "ORDER-ID",
                "workflowPosition": {
                    "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
                    "position": [3],
                },
                "state": {"TYPE": "Ready"},
                "arguments": {"KEY": "VALUE"},
                "attachedState": {"TYPE": "Attached", "agentPath": "AGENT"},
            },
        },
    ),
    # No literal in the tests: js7-agent-data/shared/src/main/scala/js7/agent/
    # data/commands/AgentCommand.scala:252 and :286 (deriveCodec of
    # DetachOrder(orderId: OrderId)).
    ("AgentCommand.scala:286", "both", ac.AgentCommand, {"TYPE": "DetachOrder", "orderId": "A"}),
    # OrderMarkTest.scala
    (
        f"{OMT}:20",
        "both",
        ac.OrderMark,
        {"TYPE": "Suspending", "mode": {"resetState": False}},
    ),
    (f"{OMT}:29", "decode", ac.OrderMark, {"TYPE": "Suspending", "mode": {}}),
    (
        f"{OMT}:50",
        "both",
        ac.OrderMark,
        {
            "TYPE": "Resuming",
            "position": [1],
            "historicOperations": [],
            "asSucceeded": True,
            "restartKilledJob": True,
        },
    ),
    (
        f"{OMT}:63",
        "decode",
        ac.OrderMark,
        {"TYPE": "Resuming", "position": [1], "historicOperations": []},
    ),
    # js7-data/shared/src/test/scala/js7/data/order/OrderEventTest.scala:169, the
    # order fields of OrderAttachedToAgent (a decoder takes them from the event)
    (
        "OrderEventTest.scala:169",
        "decode",
        ac.Order,
        {
            "id": "ORDER-ID",
            "workflowPosition": {
                "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
                "position": [2],
            },
            "state": {"TYPE": "Fresh"},
            "scheduledFor": 1510749224789,
            "mark": {"TYPE": "Suspending", "mode": {"resetState": False}},
            "deleteWhenTerminated": True,
        },
    ),
    # Events. OrderEventTest.scala (OET), OrderOutcomeTest.scala,
    # ControllerEventTest.scala, ClusterEventTest.scala (CET),
    # AgentRefStateEventTest.scala, AgentEventTest.scala, JournalEventTest.scala,
    # BasicItemEventTest.scala — the forms the reference writes.
    (
        f"{OET}:63",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "OrderAdded",
            "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
            "scheduledFor": 1609459200000,
            "arguments": {"VAR": "VALUE"},
            "planId": ["DailyPlan", "2024-11-20"],
            "deleteWhenTerminated": True,
        },
    ),
    (f"{OET}:135", "both", ev.ControllerEvent, {"TYPE": "OrderAttachable", "agentPath": "AGENT"}),
    (
        f"{OET}:169",
        "decode",
        ev.AgentEvent,
        {
            "TYPE": "OrderAttachedToAgent",
            "workflowPosition": {
                "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
                "position": [2],
            },
            "state": {"TYPE": "Ready"},
            "arguments": {"KEY": "VALUE"},
            "scheduledFor": 1510749224789,
            "agentPath": "AGENT",
            "mark": {"TYPE": "Suspending", "mode": {"resetState": False}},
        },
    ),
    (f"{OET}:258", "both", ev.ControllerEvent, {"TYPE": "OrderAttached", "agentPath": "AGENT"}),
    (f"{OET}:265", "both", ev.ControllerEvent, {"TYPE": "OrderStarted"}),
    (f"{OET}:290", "both", ev.ControllerEvent, {"TYPE": "OrderProcessingStarted", "stick": False}),
    (
        f"{OET}:286",
        "decode",
        ev.ControllerEvent,
        {"TYPE": "OrderProcessingStarted", "subagentId": "SUBAGENT"},
    ),
    (f"{OET}:303", "both", ev.AgentEvent, {"TYPE": "OrderStdoutWritten", "chunk": "STDOUT\n"}),
    (f"{OET}:310", "both", ev.AgentEvent, {"TYPE": "OrderStderrWritten", "chunk": "STDOUT\n"}),
    (
        f"{OET}:317",
        "both",
        ev.AgentEvent,
        {
            "TYPE": "OrderProcessed",
            "outcome": {"TYPE": "Succeeded", "namedValues": {"KEY": "VALUE"}},
        },
    ),
    (
        f"{OET}:395",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "OrderFailed",
            "movedTo": [1],
            "outcome": {"TYPE": "Failed", "namedValues": {"returnCode": 1}, "message": "ERROR"},
        },
    ),
    (
        f"{OET}:414",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "OrderFailed",
            "movedTo": [1],
            "outcome": {
                "TYPE": "Disrupted",
                "reason": {"TYPE": "Other", "problem": {"message": "PROBLEM"}},
            },
        },
    ),
    (
        "OrderOutcomeTest.scala:128",
        "both",
        ev.Outcome,
        {
            "TYPE": "Disrupted",
            "reason": {
                "TYPE": "ProcessLost",
                "problem": {
                    "code": "ProcessLostDueToRestart",
                    "message": "ProcessLostDueToRestart",
                },
            },
        },
    ),
    (f"{OET}:499", "both", ev.AgentEvent, {"TYPE": "OrderMoved", "to": [7]}),
    (f"{OET}:571", "both", ev.AgentEvent, {"TYPE": "OrderDetachable"}),
    (f"{OET}:577", "both", ev.AgentEvent, {"TYPE": "OrderDetached"}),
    (f"{OET}:583", "both", ev.ControllerEvent, {"TYPE": "OrderFinished"}),
    (
        f"{OET}:588",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderFinished", "outcome": {"TYPE": "Failed"}},
    ),
    (
        f"{OET}:597",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderCancellationMarked", "mode": {"TYPE": "FreshOnly"}},
    ),
    (f"{OET}:611", "both", ev.AgentEvent, {"TYPE": "OrderCancellationMarkedOnAgent"}),
    (f"{OET}:617", "both", ev.ControllerEvent, {"TYPE": "OrderCancelled"}),
    (f"{OET}:629", "both", ev.ControllerEvent, {"TYPE": "OrderDeletionMarked"}),
    (f"{OET}:635", "both", ev.ControllerEvent, {"TYPE": "OrderDeleted"}),
    (
        f"{OET}:641",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderSuspensionMarked", "mode": {"resetState": False}},
    ),
    (f"{OET}:655", "both", ev.AgentEvent, {"TYPE": "OrderSuspensionMarkedOnAgent"}),
    (f"{OET}:661", "both", ev.AgentEvent, {"TYPE": "OrderSuspended"}),
    (f"{OET}:680", "decode", ev.ControllerEvent, {"TYPE": "OrderResumptionMarked"}),
    (f"{OET}:747", "decode", ev.AgentEvent, {"TYPE": "OrderResumed"}),
    # The events of If/Try/Retry/Fail/Finish/Sleep/Prompt
    # (components/common/instructions.py).
    (f"{OET}:353", "both", ev.AgentEvent, {"TYPE": "OrderCaught", "movedTo": [1]}),
    (
        f"{OET}:360",
        "both",
        ev.AgentEvent,
        {
            "TYPE": "OrderCaught",
            "outcome": {"TYPE": "Failed", "namedValues": {"returnCode": 1}, "message": "FAILED"},
            "movedTo": [1],
        },
    ),
    (f"{OET}:387", "both", ev.ControllerEvent, {"TYPE": "OrderFailed", "movedTo": [1]}),
    (f"{OET}:434", "both", ev.ControllerEvent, {"TYPE": "OrderFailedInFork", "movedTo": [1]}),
    (
        f"{OET}:441",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "OrderFailedInFork",
            "movedTo": [1],
            "outcome": {"TYPE": "Failed", "namedValues": {"returnCode": 1}, "message": "ERROR"},
        },
    ),
    # The events of Fork (components/controller/controller.py _fork, _join).
    (
        f"{OET}:473",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "OrderForked",
            "children": [{"branchId": "A", "orderId": "A/1"}, {"branchId": "B", "orderId": "B/1"}],
        },
    ),
    (
        f"{OET}:490",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderJoined", "outcome": {"TYPE": "Succeeded"}},
    ),
    # The events of Lock (components/common/instructions.py lock, release).
    (
        f"{OET}:752",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderLocksAcquired", "demands": [{"lockPath": "LOCK", "count": 3}]},
    ),
    (
        f"{OET}:800",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderLocksQueued", "demands": [{"lockPath": "LOCK", "count": 1}]},
    ),
    (
        f"{OET}:874",
        "both",
        ev.ControllerEvent,
        {"TYPE": "OrderLocksReleased", "lockPaths": ["LOCK"]},
    ),
    (f"{OET}:459", "both", ev.AgentEvent, {"TYPE": "OrderRetrying"}),
    (
        f"{OET}:465",
        "both",
        ev.AgentEvent,
        {"TYPE": "OrderRetrying", "movedTo": [1], "delayedUntil": 1551700800000},
    ),
    (f"{OET}:1064", "both", ev.ControllerEvent, {"TYPE": "OrderPrompted", "question": "QUESTION"}),
    (f"{OET}:1071", "both", ev.ControllerEvent, {"TYPE": "OrderPromptAnswered"}),
    (
        f"{OET}:1085",
        "both",
        ev.AgentEvent,
        {"TYPE": "OrderSleeping", "until": 1734523200000, "cause": {"TYPE": "SleepInstruction"}},
    ),
    # The form JS7 2.8 writes (and 2.9 still reads), the reference's.
    (f"{OET}:1099", "both", ev.AgentEvent, {"TYPE": "OrderSleeping", "until": 1734523200000}),
    (
        f"{OET}:1109",
        "both",
        ev.AgentEvent,
        {"TYPE": "OrderSleeping", "until": 1734523200000, "cause": {"TYPE": "Throttle"}},
    ),
    # No literal in the tests: js7-data/shared/src/main/scala/js7/data/order/
    # OrderEvent.scala:574 and :1105 (deriveCodec of OrderOutcomeAdded(outcome)),
    # :651 and :1090 (the case object OrderAwoke); the outcomes are
    # OrderOutcomeTest.scala:85 and :163.
    (
        "OrderEvent.scala:574",
        "both",
        ev.AgentEvent,
        {
            "TYPE": "OrderOutcomeAdded",
            "outcome": {
                "TYPE": "Failed",
                "message": "MESSAGE",
                "namedValues": {"returnCode": 1, "KEY": "VALUE"},
            },
        },
    ),
    (
        "OrderEvent.scala:574 with OrderOutcomeTest.scala:163",
        "both",
        ev.AgentEvent,
        {
            "TYPE": "OrderOutcomeAdded",
            "outcome": {
                "TYPE": "Disrupted",
                "uncatchable": True,
                "reason": {"TYPE": "Other", "problem": {"message": "OTHER"}},
            },
        },
    ),
    (
        "OrderOutcomeTest.scala:71",
        "decode",
        ev.Outcome,
        {"TYPE": "Failed", "uncatchable": True, "namedValues": {}},
    ),
    ("OrderEvent.scala:651", "both", ev.AgentEvent, {"TYPE": "OrderAwoke"}),
    # js7-data/shared/src/test/scala/js7/data/order/OrderTest.scala:77, an
    # order with its historicOutcomes, as AttachOrder carries it.
    (
        "OrderTest.scala:77",
        "decode",
        ac.Order,
        {
            "id": "ID",
            "workflowPosition": {
                "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
                "position": [1, "then", 2],
            },
            "innerBlock": [1, "then"],
            "state": {"TYPE": "Ready"},
            "arguments": {"key1": "value1", "key2": "value2"},
            "scheduledFor": 4775114024789,
            "priority": 1.23,
            "externalOrder": {
                "orderWatchPath": "ORDER-WATCH",
                "name": "EXTERNAL",
                "vanished": True,
            },
            "historicOutcomes": [
                {
                    "position": [123],
                    "outcome": {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}},
                }
            ],
            "attachedState": {"TYPE": "Attached", "agentPath": "AGENT"},
            "parent": "PARENT",
            "stickySubagents": [{"agentPath": "AGENT", "subagentBundleId": "SUBAGENT-BUNDLE"}],
            "forceAdmission": True,
        },
    ),
    (
        "ControllerEventTest.scala:15",
        "both",
        ev.ControllerEvent,
        {"TYPE": "ControllerReady", "timezone": "Europe/Berlin", "totalRunningTime": 3600},
    ),
    (
        "ControllerEventTest.scala:23",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "ControllerInitialized",
            "controllerId": "CONTROLLER",
            "initiallyStartedAt": 1635336000000,
        },
    ),
    (
        f"{CET}:19",
        "both",
        ev.ControllerEvent,
        {"TYPE": "ClusterNodesAppointed", "setting": {**SETTING, "clusterWatchId": "W"}},
    ),
    (f"{CET}:45", "both", ev.ControllerEvent, {"TYPE": "ClusterCouplingPrepared", "activeId": "P"}),
    (f"{CET}:52", "both", ev.ControllerEvent, {"TYPE": "ClusterCoupled", "activeId": "PRIMARY"}),
    (f"{CET}:59", "both", ev.ControllerEvent, {"TYPE": "ClusterSwitchedOver", "activatedId": "B"}),
    (
        f"{CET}:66",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "ClusterFailedOver",
            "failedActiveId": "PRIMARY",
            "activatedId": "BACKUP",
            "failedAt": {"fileEventId": 0, "position": 1234},
        },
    ),
    (f"{CET}:78", "both", ev.ControllerEvent, {"TYPE": "ClusterPassiveLost", "id": "BACKUP"}),
    (f"{CET}:85", "both", ev.ControllerEvent, {"TYPE": "ClusterActiveNodeShutDown"}),
    (f"{CET}:91", "both", ev.ControllerEvent, {"TYPE": "ClusterActiveNodeRestarted"}),
    (
        f"{CET}:113",
        "both",
        ev.ControllerEvent,
        {"TYPE": "ClusterWatchRegistered", "clusterWatchId": "CLUSTER-WATCH"},
    ),
    ("JournalEventTest.scala:16", "both", ev.ControllerEvent, {"TYPE": "SnapshotTaken"}),
    (
        "JournalEventTest.scala:22",
        "both",
        ev.ControllerEvent,
        {"TYPE": "JournalEventsReleased", "userId": "USER", "untilEventId": 1234},
    ),
    (
        "AgentRefStateEventTest.scala:65",
        "both",
        ev.ControllerEvent,
        {"TYPE": "AgentDedicated", "agentRunId": "ABEiM0RVZneImaq7zN3u_w", "agentEventId": 1000},
    ),
    (
        "AgentRefStateEventTest.scala:100",
        "both",
        ev.ControllerEvent,
        {"TYPE": "AgentEventsObserved", "untilEventId": 123},
    ),
    (
        "AgentRefStateEventTest.scala:125",
        "both",
        ev.ControllerEvent,
        {"TYPE": "AgentMirroredEvent", "event": {"TYPE": "ClusterPassiveLost", "id": "Backup"}},
    ),
    (
        "AgentRefStateEventTest.scala:139",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "AgentClusterWatchConfirmationRequired",
            "problem": {
                "TYPE": "ClusterNodeLossNotConfirmedProblem",
                "fromNodeId": "Primary",
                "event": {"TYPE": "ClusterPassiveLost", "id": "Backup"},
            },
        },
    ),
    # AgentRefStateEvent.scala L79, L93: a case object, no field of its own.
    (
        "AgentRefStateEvent.scala:79",
        "both",
        ev.ControllerEvent,
        {"TYPE": "AgentClusterWatchManuallyConfirmed"},
    ),
    (
        "AgentEventTest.scala:17",
        "both",
        ev.AgentEvent,
        {
            "TYPE": "AgentDedicated",
            "agentPath": "AGENT",
            "agentRunId": "ABEiM0RVZneImaq7zN3u_w",
            "controllerId": "CONTROLLER",
            "directors": ["PRIMARY-SUBAGENT", "BACKUP-SUBAGENT"],
            "controllerRunId": "AAAAAAAAAAAAAAAAAAAAAA",
        },
    ),
    (
        f"{VET}:32",
        "both",
        ev.ControllerEvent,
        {"TYPE": "VersionedItemAdded", "signed": SIGNED_WORKFLOW},
    ),
    (
        f"{VET}:46",
        "both",
        ev.ControllerEvent,
        {"TYPE": "VersionedItemChanged", "signed": SIGNED_WORKFLOW},
    ),
    (f"{VET}:22", "both", ev.ControllerEvent, {"TYPE": "VersionAdded", "versionId": "VERSION"}),
    (
        "AgentStateTest.scala:168 via BasicItemEvent.scala:96 (SignableItem.signedEncodeJson)",
        "both",
        ev.AgentEvent,
        {"TYPE": "SignedItemAttachedToMe", "signed": SIGNED_WORKFLOW},
    ),
    (
        "BasicItemEventTest.scala:122",
        "both",
        ev.AgentEvent,
        {"TYPE": "ItemDetached", "key": "Workflow:PATH~1", "delegateId": "Agent:AGENT"},
    ),
    # ItemOperationTest.scala, VersionedEventTest.scala, SignedStringTest.scala
    (
        f"{IOT}:16",
        "both",
        it.ItemOperation,
        {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "LOCK", "limit": 1}},
    ),
    (f"{IOT}:29", "both", it.ItemOperation, {"TYPE": "DeleteSimple", "path": "Lock:LOCK"}),
    (f"{IOT}:37", "both", it.ItemOperation, {"TYPE": "AddVersion", "versionId": "1"}),
    (
        f"{IOT}:45",
        "both",
        it.ItemOperation,
        {
            "TYPE": "AddOrChangeSigned",
            "signedString": {
                "signature": {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"},
                "string": '{"TYPE":"Workflow","path":"WORKFLOW","versionId":"1","instructions":[]}',
            },
        },
    ),
    (
        f"{IOT}:61",
        "both",
        it.ItemOperation,
        {"TYPE": "RemoveVersioned", "path": "Workflow:WORKFLOW"},
    ),
    (f"{VET}:22", "both", it.VersionedEvent, {"TYPE": "VersionAdded", "versionId": "VERSION"}),
    (
        f"{VET}:32",
        "both",
        it.VersionedEvent,
        {"TYPE": "VersionedItemAdded", "signed": SIGNED_WORKFLOW},
    ),
    (
        f"{VET}:46",
        "both",
        it.VersionedEvent,
        {"TYPE": "VersionedItemChanged", "signed": SIGNED_WORKFLOW},
    ),
    (
        f"{VET}:60",
        "both",
        it.VersionedEvent,
        {"TYPE": "VersionedItemRemoved", "path": "Workflow:TEST"},
    ),
    (
        "js7-base/shared/src/test/scala/js7/base/crypt/SignedStringTest.scala:20",
        "both",
        it.SignedString,
        {
            "string": "STRING",
            "signature": {
                "TYPE": "SIGNATURE TYPE",
                "signatureString": "SIGNATURE",
                "algorithm": "ALGORITHM",
                "signerId": "SIGNER",
                "signerCertificate": "SIGNERS CERTIFICATE",
            },
        },
    ),
    # ClusterStateTest.scala and ClusterNodeStateTest.scala
    (f"{CST}:26", "both", cl.ClusterState, {"TYPE": "Empty"}),
    *(
        (f"{CST}:{line}", "both", cl.ClusterState, {"TYPE": kind, "setting": SETTING})
        for line, kind in (
            (33, "NodesAppointed"),
            (53, "PreparedToBeCoupled"),
            (73, "Coupled"),
            (93, "ActiveShutDown"),
            (113, "PassiveLost"),
            (133, "SwitchedOver"),
        )
    ),
    (
        f"{CST}:153",
        "both",
        cl.ClusterState,
        {
            "TYPE": "FailedOver",
            "setting": SETTING,
            "failedAt": {"fileEventId": 0, "position": 1234},
        },
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/cluster/ClusterNodeStateTest.scala:13",
        "both",
        cl.ClusterNodeState,
        {"nodeId": "MY-NODE", "isBackup": True, "clusterState": {"TYPE": "Empty"}},
    ),
]


# The snapshot objects (components/wire/snapshot.py). JS7's snapshot codec
# (ControllerState.scala snapshotObjectJsonCodec) writes each with its TYPE;
# where JS7's literal is of the bare object (OrderTest), the case adds it.
CSTT = "js7-data/shared/src/test/scala/js7/data/controller/ControllerStateTest.scala"
ORT = "js7-data/shared/src/test/scala/js7/data/order/OrderTest.scala"
DCS = "js7-data/shared/src/test/scala/js7/data/delegate/DelegateCouplingStateTest.scala"
ORDER_AT_0 = {
    "workflowPosition": {
        "workflowId": {"path": "WORKFLOW", "versionId": "VERSION"},
        "position": [0],
    }
}
SNAPSHOT_CASES: list[tuple[str, str, Any, dict[str, Any]]] = [
    (f"{CSTT}:172", "both", sn.SnapshotObject, {"TYPE": "SnapshotEventId", "eventId": 1001}),
    (
        f"{CSTT}:180",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "ClusterStateSnapshot",
            "clusterState": {
                "TYPE": "Coupled",
                "setting": {**SETTING, "clusterWatchId": "CLUSTER-WATCH"},
            },
        },
    ),
    (
        f"{CSTT}:209",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "AgentRefState",
            "agentRef": {
                "path": "AGENT",
                "directors": ["SUBAGENT"],
                "requireFailoverConfirmation": False,
                "itemRevision": 0,
            },
            "couplingState": {"TYPE": "Coupled"},
            "clusterState": {"TYPE": "Empty"},
            "eventId": 7,
        },
    ),
    (
        # AgentRefStateTest.scala:92 "JSON full" (platformInfo and
        # clusterNodeProblems are read and ignored: the reference has neither)
        "js7-data/shared/src/test/scala/js7/data/agent/AgentRefStateTest.scala:92",
        "decode",
        sn.AgentRefState,
        {
            "agentRef": {
                "path": "AGENT",
                "directors": ["SUBAGENT-1"],
                "requireFailoverConfirmation": True,
                "itemRevision": 0,
            },
            "agentRunId": "ABEiM0RVZneImaq7zN3u_w",
            "timezone": "UTC",
            "couplingState": {"TYPE": "Resetting", "force": True},
            "eventId": 123,
            "problem": {"message": "PROBLEM"},
            "clusterState": {"TYPE": "Coupled", "setting": SETTING},
        },
    ),
    *(
        (f"{DCS}:{line}", "both", sn.DelegateCouplingState, js7)
        for line, js7 in (
            (19, {"TYPE": "Reset", "reason": {"TYPE": "Fresh"}}),
            (28, {"TYPE": "Reset", "reason": {"TYPE": "ResetCommand"}}),
            (37, {"TYPE": "Reset", "reason": {"TYPE": "Shutdown"}}),
            (46, {"TYPE": "Reset", "reason": {"TYPE": "Restart"}}),
            (55, {"TYPE": "Resetting", "force": False}),
            (62, {"TYPE": "Coupled"}),
            (68, {"TYPE": "ShutDown"}),
        )
    ),
    (
        # no literal in the test: DelegateCouplingState.scala:64, Subtype(ShutdownStarted)
        "js7-data/shared/src/main/scala/js7/data/delegate/DelegateCouplingState.scala:64",
        "both",
        sn.DelegateCouplingState,
        {"TYPE": "ShutdownStarted"},
    ),
    (f"{CSTT}:312", "both", sn.SnapshotObject, {"TYPE": "VersionAdded", "versionId": "1.0"}),
    (
        f"{CSTT}:314",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "VersionedItemAdded",
            "signed": {
                "signature": {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"},
                "string": '{"TYPE":"Workflow","path":"WORKFLOW","versionId":"1.0"}',
            },
        },
    ),
    (
        # with an externalOrder, which the reference reads and ignores
        f"{CSTT}:330",
        "decode",
        sn.SnapshotObject,
        {
            "TYPE": "Order",
            "id": "ORDER",
            "state": {"TYPE": "Fresh"},
            "externalOrder": {"orderWatchPath": "WATCH", "name": "ORDER-NAME", "vanished": True},
            "workflowPosition": {
                "position": [0],
                "workflowId": {"path": "WORKFLOW", "versionId": "1.0"},
            },
        },
    ),
    (
        f"{ORT}:240",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "Order",
            "id": "ID",
            **ORDER_AT_0,
            "state": {"TYPE": "Fresh"},
            "mark": {"TYPE": "Cancelling", "mode": {"TYPE": "FreshOnly"}},
            "isSuspended": True,
        },
    ),
    *(
        (f"{ORT}:{line}", "both", sn.OrderState, state)
        for line, state in (
            (278, {"TYPE": "Ready"}),
            (284, {"TYPE": "Processing", "subagentId": "SUBAGENT"}),
            (291, {"TYPE": "Processed"}),
            (445, {"TYPE": "Cancelled"}),
            (451, {"TYPE": "Finished"}),
            # Where an order waits: a retry's delay, a sleep, a prompt.
            (303, {"TYPE": "DelayingRetry", "until": 1551960000000}),
            (387, {"TYPE": "Prompting", "question": "QUESTION"}),
            (
                413,
                {"TYPE": "Sleeping", "until": 1734523200000, "cause": {"TYPE": "SleepInstruction"}},
            ),
            (413, {"TYPE": "Sleeping", "until": 1734523200000, "cause": {"TYPE": "Throttle"}}),
            # A Fork's parent waiting for its children.
            (
                317,
                {
                    "TYPE": "Forked",
                    "children": [
                        {"orderId": "A|1", "branchId": "A"},
                        {"orderId": "B|2", "branchId": "B"},
                    ],
                },
            ),
        )
    ),
    (f"{ORT}:352", "both", sn.OrderState, {"TYPE": "WaitingForLock"}),
    (
        f"{CSTT}:248",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "LockState",
            "lock": {"path": "LOCK", "limit": 1, "itemRevision": 7},
            "acquired": {"TYPE": "Available"},
            "queue": [],
        },
    ),
    *(
        (
            "js7-data/shared/src/test/scala/js7/data/lock/AcquiredTest.scala:" + line,
            "both",
            into,
            js7,
        )
        for line, into, js7 in (
            ("17", lw.Exclusive, {"TYPE": "Exclusive", "orderId": "A"}),
            ("23", lw.NonExclusive, {"TYPE": "NonExclusive", "orderToCount": {"A": 3}}),
        )
    ),
    (
        # LockTest.scala:9, with its TYPE as AddOrChangeSimple carries it
        # (ControllerStateTest.scala:240-247 writes the items so).
        "js7-data/shared/src/test/scala/js7/data/lock/LockTest.scala:9",
        "both",
        lw.Lock,
        {"TYPE": "Lock", "path": "LOCK", "limit": 3},
    ),
    (
        # no literal in the test: Order.scala:1171, Subtype(FailedInFork)
        "js7-data/shared/src/main/scala/js7/data/order/Order.scala:1171",
        "both",
        sn.OrderState,
        {"TYPE": "FailedInFork"},
    ),
    # JS7 2.8's Sleeping, as the reference writes it (2.9 still reads it).
    (f"{ORT}:423", "both", sn.OrderState, {"TYPE": "Sleeping", "until": 1734523200000}),
    (
        # no literal in the test: Order.scala:1169, Subtype(Failed)
        "js7-data/shared/src/main/scala/js7/data/order/Order.scala:1169",
        "both",
        sn.OrderState,
        {"TYPE": "Failed"},
    ),
    (
        f"{ORT}:95",  # "Ready": the full Order, of which the fields the reference has
        "decode",
        sn.Order,
        {
            "TYPE": "Order",
            "id": "ID",
            **ORDER_AT_0,
            "state": {"TYPE": "Ready"},
            "arguments": {"key1": "value1", "key2": "value2"},
            "scheduledFor": 4775114024789,
            "attachedState": {"TYPE": "Attached", "agentPath": "AGENT"},
            "parent": "PARENT",
        },
    ),
    (
        f"{ORT}:483",
        "both",
        sn.Order,
        {
            "TYPE": "Order",
            "id": "ID",
            **ORDER_AT_0,
            "state": {"TYPE": "Ready"},
            "attachedState": {"TYPE": "Detaching", "agentPath": "AGENT"},
        },
    ),
    (
        # no literal in the test: Order.scala:1125, Subtype(deriveCodec[Attaching])
        "js7-data/shared/src/main/scala/js7/data/order/Order.scala:1125",
        "both",
        sn.Order,
        {
            "TYPE": "Order",
            "id": "ID",
            **ORDER_AT_0,
            "state": {"TYPE": "Fresh"},
            "attachedState": {"TYPE": "Attaching", "agentPath": "AGENT"},
        },
    ),
]
CASES.extend(SNAPSHOT_CASES)
SISE = "js7-data/shared/src/test/scala/js7/data/subagent/SubagentItemStateEventTest.scala"
# SubagentItemStateTest.scala's item, as it is written inside its state
SUBAGENT_ITEM = {
    "agentPath": "AGENT",
    "disabled": False,
    "id": "SUBAGENT",
    "itemRevision": 1,
    "uri": "https://example.com",
}
SCT = "js7-data/shared/src/test/scala/js7/data/subagent/SubagentCommandTest.scala"
SUBAGENT_CASES: list[tuple[str, str, Any, dict[str, Any]]] = [
    (
        f"{ACT}:201",
        "both",
        ac.AgentCommand,
        {
            "TYPE": "AttachItem",
            "item": {
                "TYPE": "FileWatch",
                "path": "PATH",
                "workflowPath": "WORKFLOW",
                "agentPath": "AGENT",
                "directoryExpr": "'DIRECTORY'",
                "delay": 0,
            },
        },
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/subagent/SubagentItemTest.scala:14",
        "both",
        sw.SimpleItem,
        {
            "TYPE": "SubagentItem",
            "id": "SUBAGENT",
            "agentPath": "AGENT",
            "uri": "https://example.com",
            "disabled": True,
            "itemRevision": 1,
        },
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/subagent/SubagentItemTest.scala:30",
        "decode",
        sw.SimpleItem,
        {"TYPE": "SubagentItem", "id": "SUBAGENT", "agentPath": "AGENT", "uri": "https://x"},
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/subagent/SubagentBundleTest.scala:19",
        "both",
        sw.SimpleItem,
        {
            "TYPE": "SubagentBundle",
            "id": "BUNDLE",
            "subagentToPriority": {
                "A-SUBAGENT": 1,
                "B-SUBAGENT": "min(100, (1 / $cpuLoad) ? 100)",
            },
        },
    ),
    (
        # AgentRefTest.scala:15 is the codec without the item's TYPE, which
        # the item API (UnsignedSimpleItem) adds.
        "js7-data/shared/src/test/scala/js7/data/agent/AgentRefTest.scala:15",
        "both",
        sw.SimpleItem,
        {
            "TYPE": "AgentRef",
            "path": "AGENT",
            "directors": ["SUBAGENT-1"],
            "itemRevision": 7,
            "requireFailoverConfirmation": True,
            "processLimit": 10,
        },
    ),
    (
        f"{SCT}:16",
        "both",
        sw.SubagentCommand,
        {
            "TYPE": "DedicateSubagent",
            "subagentId": "SUBAGENT",
            "agentPath": "AGENT",
            "agentRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "controllerId": "CONTROLLER",
        },
    ),
    (
        f"{SCT}:29",
        "decode",
        sw.SubagentCommand,
        {
            "TYPE": "DedicateSubagent",
            "subagentId": "SUBAGENT",
            "agentPath": "AGENT",
            "controllerId": "CONTROLLER",
        },
    ),
    (
        f"{SCT}:44",
        "both",
        sw.DedicateSubagentResponse,
        {
            "TYPE": "DedicateSubagent.Response",
            "subagentRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "subagentEventId": 1001,
            "version": "2.8.1",
        },
    ),
    (
        f"{SCT}:57",
        "both",
        sw.SubagentCommand,
        {
            "TYPE": "CoupleDirector",
            "subagentId": "SUBAGENT",
            "subagentRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "eventId": 1001,
            "heartbeatTiming": {"heartbeat": 1.234, "heartbeatTimeout": 12.345},
        },
    ),
    (
        f"{SCT}:72",
        "both",
        sw.CoupleDirectorResponse,
        {"TYPE": "CoupleDirector.Response", "version": "2.8.1"},
    ),
    (
        f"{SCT}:80",
        "both",
        sw.SubagentCommand,
        {
            "TYPE": "AttachSignedItem",
            "signed": {
                "signature": {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"},
                "string": '{"TYPE":"Workflow","path":"WORKFLOW","versionId":"1","instructions":[]}',
            },
        },
    ),
    (
        f"{SCT}:110",
        "both",
        sw.SubagentCommand,
        {
            "TYPE": "ShutDown",
            "processSignal": "SIGTERM",
            "dontWaitForDirector": True,
            "restart": True,
        },
    ),
    (f"{SCT}:120", "decode", sw.SubagentCommand, {"TYPE": "ShutDown"}),
    (
        f"{SCT}:127",
        "both",
        sw.SubagentCommand,
        {
            "TYPE": "StartOrderProcess",
            "order": {
                "id": "ORDER",
                "state": {"TYPE": "Processing", "subagentId": "SUBAGENT"},
                "workflowPosition": {
                    "workflowId": {"path": "WORKFLOW", "versionId": "1"},
                    "position": [0],
                },
            },
            "defaultArguments": {"expr": "'EXPR'"},
            "endOfAdmissionPeriod": 1751389200000,
        },
    ),
    (
        f"{SCT}:183",
        "both",
        sw.SubagentCommand,
        {"TYPE": "KillProcess", "orderId": "ORDER", "signal": "SIGTERM"},
    ),
    (
        f"{ACT}:300",
        "both",
        ac.AgentCommand,
        {"TYPE": "ResetSubagent", "subagentId": "SUBAGENT", "force": False},
    ),
    (
        # no codec test: ControllerCommand.scala:367, a derived codec
        "js7-data/shared/src/main/scala/js7/data/controller/ControllerCommand.scala:367",
        "decode",
        cc.ControllerCommand,
        {"TYPE": "ResetSubagent", "subagentId": "SUBAGENT", "force": True},
    ),
    (
        f"{CSTT}:224",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "SubagentItemState",
            "subagentItem": {
                "id": "SUBAGENT",
                "agentPath": "AGENT",
                "uri": "https://SUBAGENT",
                "disabled": False,
                "itemRevision": 7,
            },
            "couplingState": {"TYPE": "Reset", "reason": {"TYPE": "Fresh"}},
            "eventId": 0,
        },
    ),
    (
        f"{CSTT}:239",
        "both",
        sn.SnapshotObject,
        {
            "TYPE": "SubagentBundle",
            "id": "BUNDLE",
            "subagentToPriority": {"SUBAGENT": 1},
            "itemRevision": 7,
        },
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/subagent/SubagentItemStateTest.scala:72",
        "decode",  # the codec without the snapshot's TYPE
        sn.SubagentItemState,
        {
            "subagentItem": SUBAGENT_ITEM,
            "couplingState": {"TYPE": "Coupled"},
            "isDetaching": True,
            "isResettingForcibly": False,
            "eventId": 1001,
        },
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/subagent/SubagentItemStateTest.scala:30",
        "decode",  # the codec without the snapshot's TYPE
        sn.SubagentItemState,
        {
            "subagentItem": SUBAGENT_ITEM,
            "subagentRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "couplingState": {"TYPE": "Coupled"},
            "eventId": 1001,
            "problem": {"message": "PROBLEM"},
            "platformInfo": {"timestamp": 1657281600000, "js7Version": "2.4.0-TEST"},
        },
    ),
    (f"{SISE}:17", "both", ev.ControllerEvent, {"TYPE": "SubagentCoupled"}),
    (
        f"{SISE}:24",
        "both",
        ev.ControllerEvent,
        {"TYPE": "SubagentCouplingFailed", "problem": {"message": "PROBLEM"}},
    ),
    (
        f"{SISE}:33",
        "decode",
        ev.ControllerEvent,
        {
            "TYPE": "SubagentDedicated",
            "subagentRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "platformInfo": {"timestamp": 1657281600000, "js7Version": "2.4.0-TEST"},
        },
    ),
    (f"{SISE}:97", "both", ev.ControllerEvent, {"TYPE": "SubagentResetStarted", "force": False}),
    (f"{SISE}:106", "both", ev.ControllerEvent, {"TYPE": "SubagentReset"}),
    (
        # SubagentItemStateEvent.scala: the derived codecs of the rest
        "js7-data/shared/src/main/scala/js7/data/subagent/SubagentItemStateEvent.scala:16",
        "both",
        ev.ControllerEvent,
        {"TYPE": "SubagentEventsObserved", "untilEventId": 1001},
    ),
    (
        "js7-data/shared/src/main/scala/js7/data/subagent/SubagentItemStateEvent.scala:16",
        "both",
        ev.ControllerEvent,
        {"TYPE": "SubagentResetStartedByController", "force": True},
    ),
    *[
        (
            "js7-data/shared/src/main/scala/js7/data/subagent/SubagentItemStateEvent.scala:16",
            "both",
            ev.ControllerEvent,
            {"TYPE": kind},
        )
        for kind in ("SubagentRestarted", "SubagentShutdownStarted", "SubagentShutdown2")
    ],
    (
        f"{CSTT}:281",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "UnsignedSimpleItemAdded",
            "item": {
                "TYPE": "FileWatch",
                "path": "WATCH",
                "workflowPath": "WORKFLOW",
                "agentPath": "AGENT",
                "directoryExpr": "'/tmp/directory'",
                "delay": 0,
                "itemRevision": 7,
            },
        },
    ),
    (
        # UnsignedSimpleItemEvent.scala: Added's sibling, the same codec
        "js7-data/shared/src/main/scala/js7/data/item/UnsignedSimpleItemEvent.scala:20",
        "both",
        ev.ControllerEvent,
        {"TYPE": "UnsignedSimpleItemChanged", "item": {"TYPE": "SubagentBundle", "id": "B"}},
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/item/BasicItemEventTest.scala:73",
        "both",
        ev.AgentEvent,
        {
            "TYPE": "ItemAttachedToMe",
            "item": {
                "TYPE": "JobResource",
                "path": "JOB-RESOURCE",
                "variables": {},
                "env": {},
                "itemRevision": 7,
            },
        },
    ),
    (
        "js7-data/shared/src/test/scala/js7/data/subagent/SubagentEventTest.scala:16",
        "both",
        ev.SubagentEvent,
        {"TYPE": "SubagentShutdown"},
    ),
    # No codec test of their own: SubagentCommand.scala's derived codecs.
    (
        "js7-data/shared/src/main/scala/js7/data/subagent/SubagentCommand.scala:41",
        "both",
        sw.SubagentCommand,
        {"TYPE": "Batch", "commands": [{"TYPE": "NoOperation"}]},
    ),
    (
        "js7-data/shared/src/main/scala/js7/data/subagent/SubagentCommand.scala:150",
        "both",
        sw.SubagentCommand,
        {"TYPE": "ReleaseEvents", "untilEventId": 1001},
    ),
    (
        "js7-data/shared/src/main/scala/js7/data/subagent/SubagentCommand.scala:163",
        "both",
        sw.SubagentCommand,
        {"TYPE": "NoOperation"},
    ),
    (
        f"{OET}:271",
        "both",
        ev.ControllerEvent,
        {
            "TYPE": "OrderProcessingStarted",
            "subagentId": "SUBAGENT",
            "subagentBundleId": "BUNDLE",
            "stick": False,
            "endOfAdmissionPeriod": 1751544000000,
        },
    ),
    # A node's requests to its Cluster Watch (ClusterWatchRequest.scala).
    (
        f"{CWR}:24",
        "both",
        cw.ClusterWatchRequest,
        {
            "TYPE": "ClusterWatchCheckEvent",
            "requestId": 123,
            "correlId": "TESTTEST",
            "from": "A",
            "event": {"TYPE": "ClusterNodesAppointed", "setting": SETTING},
            "clusterState": {"TYPE": "NodesAppointed", "setting": SETTING},
            "forceWhenUntaught": False,
        },
    ),
    (
        f"{CWR}:141",
        "both",
        cw.ClusterWatchRequest,
        {
            "TYPE": "ClusterWatchCheckState",
            "requestId": 123,
            "correlId": "TESTTEST",
            "from": "A",
            "clusterState": {"TYPE": "NodesAppointed", "setting": SETTING},
        },
    ),
    # The Cluster Watch's answer (ClusterWatchingCommand.scala), as a JS7
    # Watch posts it to a node's /cluster/command.
    (
        f"{CWT}:12",
        "both",
        cw.ClusterWatchConfirm,
        {
            "TYPE": "ClusterWatchConfirm",
            "clusterWatchId": "WATCH",
            "clusterWatchRunId": "AAAAAAAAAAAAAAAAAAAAAA",
            "requestId": 123,
            "manualConfirmer": "SOMEONE",
            "problem": {"message": "PROBLEM"},
        },
    ),
]
# The cluster nodes' commands to each other (ClusterCommandTest.scala).
CASES.extend(
    [
        (
            f"{CCM}:17",
            "both",
            ccm.ClusterCommand,
            {
                "TYPE": "ClusterStartBackupNode",
                "setting": {
                    "idToUri": {"A": "https://A", "B": "https://B"},
                    "activeId": "A",
                    "timing": {"heartbeat": 10, "heartbeatTimeout": 20, "consentTimeout": 6},
                    "clusterWatchId": "CLUSTER-WATCH",
                },
                "fileEventId": 1000,
                "activeNodeName": "ActiveNodeName",
                "passiveNodeUserId": "PassiveNodeUserId",
            },
        ),
        (
            f"{CCM}:50",
            "both",
            ccm.ClusterCommand,
            {"TYPE": "ClusterPrepareCoupling", "activeId": "A", "passiveId": "B", "token": "TOKEN"},
        ),
        (
            f"{CCM}:60",
            "both",
            ccm.ClusterCommand,
            {"TYPE": "ClusterCouple", "activeId": "A", "passiveId": "B", "token": "TOKEN"},
        ),
        (
            f"{CCM}:70",
            "both",
            ccm.ClusterCommand,
            {"TYPE": "ClusterConfirmCoupling", "token": "TOKEN"},
        ),
        (
            f"{CCM}:78",
            "both",
            ccm.ClusterCommand,
            {"TYPE": "ClusterRecouple", "activeId": "A", "passiveId": "B"},
        ),
        (
            # no codec test: ClusterCommand.scala:72-76, deriveCodec of its fields
            "js7-data/shared/src/main/scala/js7/data/cluster/ClusterCommand.scala:72",
            "both",
            ccm.ClusterCommand,
            {"TYPE": "ClusterPassiveDown", "activeId": "A", "passiveId": "B"},
        ),
        (
            f"{CCM}:87",
            "both",
            ccm.ClusterCommand,
            {"TYPE": "ClusterInhibitActivation", "duration": 7},
        ),
        (
            # no codec test: AgentCommand.scala:262-264, a case object
            "js7-agent-data/shared/src/main/scala/js7/agent/data/commands/AgentCommand.scala:264",
            "both",
            ac.AgentCommand,
            {"TYPE": "ClusterSwitchOver"},
        ),
    ]
)
CASES.extend(SUBAGENT_CASES)
CASES.extend(
    [
        (
            "js7-agent-data/shared/src/test/scala/js7/agent/data/views/AgentOverviewTest.scala:28",
            "both",
            wo.AgentOverview,
            {
                "startedAt": 1433160000000,
                "version": "TEST-VERSION",
                "buildId": "BUILD-ID",
                "java": {
                    "version": "x.y.z",
                    "availableProcessors": 8,
                    "memory": {"maximum": 3, "total": 2, "free": 1},
                    "systemProperties": {"test": "TEST"},
                },
                "system": {"hostname": "TEST-HOSTNAME", "mxBeans": {}},
            },
        ),
        (
            # no codec test: ControllerOverview.scala:15-24, its fields (derived codec)
            "js7-data/shared/src/main/scala/js7/data/controller/ControllerOverview.scala:15",
            "both",
            wo.ControllerOverview,
            {
                "id": "CONTROLLER",
                "version": "TEST-VERSION",
                "buildId": "BUILD-ID",
                "initiallyStartedAt": 1433160000000,
                "startedAt": 1433160000000,
                "totalRunningTime": 3600.5,
                "orderCount": 7,
                "system": {"hostname": "HOST", "distribution": "Linux", "mxBeans": {}},
                "java": {
                    "version": "x.y.z",
                    "availableProcessors": 2,
                    "memory": {"maximum": 3, "total": 2, "free": 1},
                    "systemProperties": {},
                },
            },
        ),
        # Notices, as JS7 v2.8.0 writes them (its tag; the line numbers are that
        # tag's): components/wire/notice.py, components/controller/notices.py.
        (
            "js7-data/shared/src/test/scala/js7/data/board/GlobalBoardTest.scala:25 (v2.8.0)",
            "both",
            nw.GlobalBoard,
            {
                "TYPE": "GlobalBoard",
                "path": "BOARD",
                "postOrderToNoticeKey": JOC_NOTICE_KEY,
                "endOfLife": "$js7EpochMilli + 24 * 3600 * 1000",
                "expectOrderToNoticeKey": JOC_NOTICE_KEY,
                "itemRevision": 7,
            },
        ),
        (
            f"{NET}:30 (v2.8.0)",
            "both",
            ev.ControllerEvent,
            {"TYPE": "NoticePosted", "plannedNoticeKey": "NOTICE", "endOfLife": 3600000},
        ),
        (
            f"{NET}:51 (v2.8.0)",
            "both",
            ev.ControllerEvent,
            {"TYPE": "NoticeDeleted", "plannedNoticeKey": "NOTICE"},
        ),
        (
            f"{OET}:913 (v2.8.0)",
            "both",
            ev.ControllerEvent,
            {"TYPE": "OrderNoticePosted", "noticeId": ["BOARD", "NOTICE"], "endOfLife": 3600000},
        ),
        (
            f"{OET}:947 (v2.8.0)",
            "both",
            ev.ControllerEvent,
            {"TYPE": "OrderNoticesExpected", "noticeIds": [["BOARD", "NOTICE"]]},
        ),
        (f"{OET}:1018 (v2.8.0)", "both", ev.ControllerEvent, {"TYPE": "OrderNoticesRead"}),
        (
            f"{OET}:505 (v2.8.0)",
            "both",
            ev.ControllerEvent,
            {"TYPE": "OrderMoved", "to": [7], "reason": {"TYPE": "NoNotice"}},
        ),
        (
            "js7-data/shared/src/test/scala/js7/data/order/OrderTest.scala:344 (v2.8.0)",
            "both",
            sn.OrderState,
            {"TYPE": "ExpectingNotices", "noticeIds": [["BOARD", "NOTICE"]]},
        ),
        (
            f"{CSTT}:247 (v2.8.0)",
            "both",
            sn.SnapshotObject,
            {"TYPE": "Plan", "planId": [], "status": "Open"},
        ),
        (
            f"{CSTT}:251 (v2.8.0)",
            "both",
            sn.SnapshotObject,
            {"TYPE": "Notice", "id": ["BOARD", "NOTICE-1"], "endOfLife": 10086400000},
        ),
        (
            f"{CSTT}:255 (v2.8.0)",
            "both",
            sn.SnapshotObject,
            {
                "TYPE": "GlobalBoard",
                "path": "BOARD",
                "postOrderToNoticeKey": "$orderId",
                "expectOrderToNoticeKey": "$orderId",
                "endOfLife": "$js7EpochMilli + 24 * 3600 * 1000",
                "itemRevision": 7,
            },
        ),
        (
            f"{CCT}:153 (v2.8.0)",
            "both",
            cc.ControllerCommand,
            {"TYPE": "PostNotice", "noticeId": ["BOARD", "NOTICE"]},
        ),
        (
            f"{CCT}:162 (v2.8.0)",
            "both",
            cc.ControllerCommand,
            {"TYPE": "PostNotice", "noticeId": ["BOARD", "NOTICE"], "endOfLife": 3600000},
        ),
        (
            f"{CCT}:183 (v2.8.0)",
            "decode",
            cc.ControllerCommand,
            {
                "TYPE": "PostNotice",
                "boardPath": "BOARD",
                "noticeId": "NOTICE",
                "endOfLife": 3600000,
            },
        ),
        (
            f"{CCT}:193 (v2.8.0)",
            "both",
            cc.ControllerCommand,
            {"TYPE": "DeleteNotice", "noticeId": ["DailyPlan", "2025-01-17", "BOARD", "NOTICE"]},
        ),
        (
            f"{CCT}:202 (v2.8.0)",
            "decode",
            cc.ControllerCommand,
            {"TYPE": "DeleteNotice", "boardPath": "BOARD", "noticeId": "NOTICE"},
        ),
    ]
)


def _canonical(value: Any) -> Any:
    """JSON numbers compare by value (JS7 writes 3 where Python may say 3.0)."""
    return json.loads(json.dumps(value), parse_float=float, parse_int=float)


@pytest.mark.parametrize(
    ("source", "mode", "into", "js7"), CASES, ids=[f"{c[0].rsplit('/', 1)[-1]}" for c in CASES]
)
def test_the_reference_reads_and_writes_js7s_json(source, mode, into, js7):
    value = decode(json.dumps(js7), into, "Contract")
    if mode == "both":
        assert _canonical(msgspec.to_builtins(value)) == _canonical(js7), source


def _wire_structs() -> set[type]:
    found: set[type] = set()
    for module in (ac, cc, ccm, cl, cw, ev, it, nw, ss, sn, wo, sw):
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, msgspec.Struct)
                and obj.__module__ == module.__name__
                and not obj.__name__.startswith("_")
            ):
                found.add(obj)
    return found


def _covered() -> set[type]:
    seen: set[type] = set()

    def walk(v: Any) -> None:
        if isinstance(v, msgspec.Struct):
            seen.add(type(v))
            for f in v.__struct_fields__:
                walk(getattr(v, f))
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    for _, _, into, js7 in CASES:
        walk(decode(json.dumps(js7), into, "Contract"))
    return seen


# Structs without a JS7 JSON literal of their own: the abstract base of the
# cluster states, and the Agent's reference-only ConfirmClusterNodeLoss.
NO_JS7_LITERAL = {
    cl.HasNodes,
    ac.ConfirmClusterNodeLoss,
    *(ev._Event, ev._Outcome),  # abstract bases
}


def test_every_wire_type_has_a_contract_case():
    missing = _wire_structs() - _covered() - NO_JS7_LITERAL
    assert not missing, f"no contract case for {sorted(t.__name__ for t in missing)}"


def test_the_reference_signs_workflows_as_js7s_silly_signer_does():
    (version, signed) = it.silly_signed_workflows("1", [{"TYPE": "Workflow", "path": "W"}])
    assert version == {"TYPE": "AddVersion", "versionId": "1"}
    decode(json.dumps(signed), it.ItemOperation, "Contract")
    assert signed["signedString"]["signature"] == {
        "TYPE": "Silly",
        "signatureString": "SILLY-SIGNATURE",
    }
    assert json.loads(signed["signedString"]["string"]) == {
        "TYPE": "Workflow",
        "path": "W",
        "versionId": "1",
    }


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        (
            '{"TYPE":"Xyz"}',
            "UnknownCommand",
            'Unexpected JSON {"TYPE": "Xyz", ...} for ControllerCommand',
        ),
        ('{"TYPE":"AddOrder"}', "MissingField", "order"),
        ('{"TYPE":"AddOrder","order":{"id":1,"workflowPath":"W"}}', "InvalidField", "$.order.id"),
        ('{"TYPE":"ShutDown","clusterAction":{"TYPE":"X"}}', "UnknownType", "clusterAction"),
        ("[]", "InvalidCommand", "must be an object"),
        ("{}", "InvalidCommand", "lacks its TYPE"),
        ("{not json", "InvalidJson", "not valid JSON"),
    ],
)
def test_json_js7_cannot_decode_is_a_problem_naming_where(body, code, says):
    with pytest.raises(Problem) as err:
        decode(body, cc.ControllerCommand, "ControllerCommand")
    assert (err.value.status, err.value.code) == (400, code)
    assert says in err.value.message


# -- workflows (components/common/workflow.py), from JS7's literals ----------
ET = "js7-data/shared/src/test/scala/js7/data/workflow/instructions/ExecuteTest.scala"
EXT = "js7-data/shared/src/test/scala/js7/data/job/ExecutableTest.scala"


@pytest.mark.parametrize(
    ("source", "instruction"),
    [
        (f"{ET}:21", {"TYPE": "Execute.Named", "jobName": "JOB"}),
        (
            f"{ET}:41",
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": "AGENT",
                    "executable": {"TYPE": "PathExecutable", "path": "EXECUTABLE"},
                    "processLimit": 1,
                },
            },
        ),
        (
            f"{EXT}:73",
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": "AGENT",
                    "executable": {
                        "TYPE": "CommandLineExecutable",
                        "command": 'PROGRAM ARG-1 \'ARG 2\' "ARG 3" $ARG4 "$ARG5"',
                    },
                },
            },
        ),
        (
            f"{EXT}:98",
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": "AGENT",
                    "executable": {"TYPE": "ShellScriptExecutable", "script": "SCRIPT"},
                },
            },
        ),
    ],
)
def test_the_reference_reads_js7s_execute_instructions(source, instruction):
    from components.common.workflow import Workflow

    jobs = {"JOB": {"agentPath": "AGENT", "executable": {"TYPE": "PathExecutable", "path": "X"}}}
    wf = Workflow.from_json(
        {"TYPE": "Workflow", "path": "W", "instructions": [instruction], "jobs": jobs}
    )
    assert [j.agent_path for j in wf.jobs] == ["AGENT"], source


@pytest.mark.parametrize(
    ("meaning", "succeeded", "failed"),
    [
        # js7-data/shared/src/test/scala/js7/data/job/ReturnCodeMeaningTest.scala:43-63
        ({"success": "0"}, [0], [1]),
        ({"success": [0]}, [0], [1]),
        ({"success": ""}, [], [0, 1]),
        ({"success": "0,3"}, [0, 3], [1, 4]),
        ({"success": [0, 3]}, [0, 3], [1, 4]),
        ({"success": "1,3..9"}, [1, 3, 9], [0, 2, 10]),
        ({"success": [1, [3, 9]]}, [1, 3, 9], [0, 2, 10]),
        ({"failure": ""}, [0, 1, 99], []),
        ({"failure": []}, [0, 1, 99], []),
        (None, [0], [1]),
    ],
)
def test_return_code_meanings_as_js7_writes_them(meaning, succeeded, failed):
    from components.common.workflow import parse_return_code_meaning

    m = parse_return_code_meaning(meaning)
    assert [rc for rc in succeeded if m.succeeded(rc)] == succeeded
    assert [rc for rc in failed if not m.succeeded(rc)] == failed


# JS7's instruction literals (js7-data/shared/src/test/scala/js7/data/workflow/
# instructions/*Test.scala), each with a path at which the reference finds it.
IT = "js7-data/shared/src/test/scala/js7/data/workflow/instructions"
PATH_EXE = {
    "TYPE": "Execute.Anonymous",
    "job": {
        "agentPath": "AGENT",
        "executable": {"TYPE": "PathExecutable", "path": "THEN"},
        "processLimit": 1,
    },
}


@pytest.mark.parametrize(
    ("source", "instruction", "inner"),
    [
        (
            f"{IT}/IfTest.scala:33",
            {"TYPE": "If", "ifThens": [{"predicate": "true", "then": {"instructions": []}}]},
            None,
        ),
        (
            f"{IT}/IfTest.scala:76",
            {
                "TYPE": "If",
                "ifThens": [
                    {"predicate": "$returnCode >= 3", "then": {"instructions": [PATH_EXE]}}
                ],
                "else": {"instructions": [PATH_EXE]},
                "sourcePos": [1, 2],
            },
            [0, "else", 0],
        ),
        (
            f"{IT}/IfTest.scala:116",
            {"TYPE": "If", "predicate": "true", "then": {"instructions": [PATH_EXE]}},
            [0, "then", 0],
        ),
        (
            f"{IT}/TryInstructionTest.scala:30",
            {
                "TYPE": "Try",
                "try": {"instructions": [PATH_EXE]},
                "catch": {"instructions": [PATH_EXE]},
            },
            [0, "catch+0", 0],
        ),
        (
            f"{IT}/TryInstructionTest.scala:66",
            {
                "TYPE": "Try",
                "try": {"instructions": [{"TYPE": "Fail"}]},
                "catch": {"instructions": [{"TYPE": "Retry"}]},
                "retryDelays": [0.1, 60],
                "maxTries": 10,
                "sourcePos": [1, 2],
            },
            [0, "try+3", 0],
        ),
        (f"{IT}/RetryTest.scala:15", {"TYPE": "Retry", "sourcePos": [1, 2]}, None),
        (f"{IT}/FailTest.scala:19", {"TYPE": "Fail"}, None),
        (
            f"{IT}/FailTest.scala:26",
            {
                "TYPE": "Fail",
                "message": "'ERROR'",
                "namedValues": {"returnCode": 7},
                "uncatchable": True,
                "sourcePos": [1, 2],
            },
            None,
        ),
        (f"{IT}/FinishTest.scala:19", {"TYPE": "Finish"}, None),
        (f"{IT}/FinishTest.scala:25", {"TYPE": "Finish", "outcome": {"TYPE": "Failed"}}, None),
        (
            f"{IT}/FinishTest.scala:34",
            {"TYPE": "Finish", "outcome": {"TYPE": "Succeeded", "namedValues": {}}},
            None,
        ),
        (
            f"{IT}/FinishTest.scala:45",
            {
                "TYPE": "Finish",
                "outcome": {"TYPE": "Failed", "message": "MESSAGE", "namedValues": {"A": 7}},
                "sourcePos": [1, 2],
            },
            None,
        ),
        (
            f"{IT}/ForkTest.scala:41",
            {
                "TYPE": "Fork",
                "branches": [
                    {
                        "id": "A",
                        "workflow": {"instructions": [PATH_EXE], "result": {"aResult": "$RESULT"}},
                    },
                    {"id": "B", "workflow": {"instructions": [PATH_EXE]}},
                ],
                "agentPath": "AGENT",
                "joinIfFailed": True,
                "sourcePos": [1, 2],
            },
            [0, "fork+B", 0],
        ),
        (
            f"{IT}/ForkTest.scala:89",
            {"TYPE": "Fork", "branches": [{"id": "A", "workflow": {"instructions": []}}]},
            [0, "fork+A", 0],
        ),
        (
            f"{IT}/LockInstructionTest.scala:20",
            {"TYPE": "Lock", "lockPath": "LOCK", "lockedWorkflow": {"instructions": []}},
            [0, "lock", 0],
        ),
        (
            f"{IT}/LockInstructionTest.scala:31",
            {
                "TYPE": "Lock",
                "lockPath": "LOCK",
                "count": 3,
                "lockedWorkflow": {"instructions": []},
                "sourcePos": [1, 2],
            },
            None,
        ),
        (
            f"{IT}/LockInstructionTest.scala:64",
            {
                "TYPE": "Lock",
                "demands": [{"lockPath": "LOCK", "count": 3}],
                "lockedWorkflow": {"instructions": [PATH_EXE]},
                "sourcePos": [1, 2],
            },
            [0, "lock", 0],
        ),
        (f"{IT}/SleepTest.scala:14", {"TYPE": "Sleep", "duration": "3"}, None),
        (f"{IT}/SleepTest.scala:21", {"TYPE": "Sleep", "duration": "0.003"}, None),
        (f"{IT}/PromptTest.scala:15", {"TYPE": "Prompt", "question": "'QUESTION'"}, None),
        # v2.8.0's notice instructions, and v2.3's single-Board forms they decode.
        (f"{IT}/PostNoticesTest.scala:16", {"TYPE": "PostNotices", "boardPaths": ["BOARD"]}, None),
        (
            f"{IT}/ExpectNoticesTest.scala:25",
            {
                "TYPE": "ExpectNotices",
                "boardPaths": "'A' || 'B' && 'C'",
                "whenNotAnnounced": "SkipWhenNoNotice",
            },
            None,
        ),
        (f"{IT}/ExpectNoticesTest.scala:34", {"TYPE": "ExpectNotices", "boardPaths": "'A'"}, None),
        (f"{IT}/PostNoticeTest.scala:17", {"TYPE": "PostNotice", "boardPath": "BOARD"}, None),
        (f"{IT}/ExpectNoticeTest.scala:17", {"TYPE": "ExpectNotice", "boardPath": "BOARD"}, None),
        (
            f"{IT}/PromptTest.scala:23",
            {"TYPE": "Prompt", "question": "'QUESTION'", "sourcePos": [1, 2]},
            None,
        ),
    ],
)
def test_the_reference_reads_js7s_instructions(source, instruction, inner):
    from components.common.position import Position
    from components.common.workflow import Workflow

    wf = Workflow.from_json({"TYPE": "Workflow", "path": "W", "instructions": [instruction]})
    # 2.3's PostNotice/ExpectNotice decode to the plural instructions, as in JS7.
    kind = type(wf.instruction(Position.first())).__name__
    assert kind in (instruction["TYPE"], instruction["TYPE"] + "s"), source
    if inner is not None:
        wf.check_position(Position.parse(inner))


@pytest.mark.parametrize(
    ("instruction", "says"),
    [
        # IfTest.scala:46: an else block with JS7's Stop.
        (
            {
                "TYPE": "If",
                "ifThens": [{"predicate": "false", "then": {"instructions": []}}],
                "else": {"instructions": [{"TYPE": "Stop"}]},
            },
            "instruction [0/else:0]: the reference does not run JS7's Stop instruction",
        ),
        ({"TYPE": "Lock", "lockPath": "L"}, "'lockedWorkflow' must be a list"),
        ({"TYPE": "ForkList", "children": "$x"}, "ForkList needs 'childToId'"),
        # ForkTest.scala:106-111: duplicate branch ids.
        (
            {
                "TYPE": "Fork",
                "branches": [
                    {"id": "A", "workflow": {"instructions": []}},
                    {"id": "A", "workflow": {"instructions": []}},
                ],
            },
            "DuplicatedBranchIdsInForkProblem",
        ),
        # ForkTest.scala:113-123: a result name in two branches.
        (
            {
                "TYPE": "Fork",
                "branches": [
                    {"id": "A", "workflow": {"instructions": [], "result": {"X": "1"}}},
                    {"id": "B", "workflow": {"instructions": [], "result": {"X": "2"}}},
                ],
            },
            "Result name 'X' is used duplicately in Fork branches 'A' , 'B'",
        ),
        ({"TYPE": "Fork"}, "Fork needs 'branches'"),
        ({"TYPE": "ConsumeNotices", "boardPaths": "'B'"}, "does not run JS7's ConsumeNotices"),
        ({"TYPE": "Whatever"}, "'Whatever' is no JS7 instruction"),
        (
            {"TYPE": "If", "ifThens": [{"predicate": "$a in [1]", "then": {"instructions": []}}]},
            "does not evaluate 'in'",
        ),
        ({"TYPE": "Sleep", "duration": "now()"}, "does not evaluate 'now'"),
        ({"TYPE": "Try", "try": {"instructions": []}, "catch": {}}, "'catch' must be a list"),
        ({"TYPE": "Try", "try": [], "catch": [], "maxTries": 0}, "'maxTries' must be"),
    ],
)
def test_what_the_reference_does_not_run_is_refused_naming_it(instruction, says):
    from components.common.workflow import Workflow

    with pytest.raises(Problem) as err:
        Workflow.from_json({"TYPE": "Workflow", "path": "W", "instructions": [instruction]})
    assert err.value.code == "InvalidWorkflow"
    assert says in err.value.message
