"""The reference Controller and Agent over their real HTTP APIs."""

import asyncio
import json
import signal
import time

import aiohttp
import msgspec
import pytest

from components.wire import overview as wo
from harness.clients.js7 import (
    add_order,
    agent_client,
    controller_client,
    deploy_workflow,
    item_operations,
    order_events,
    types,
    wait_coupled,
    wait_order_state,
)
from harness.clients.node import ProblemError
from harness.clients.snapshot import read_snapshot
from harness.errors import NodeStartError
from harness.js7topo import controller_and_agents, internal_workflow, shell_workflow
from harness.topology import Node, Topology
from harness.workload import read_all_events

CROSS = shell_workflow("cross", ("agent-1", "echo one-$JS7_ORDER_ID"), ("agent-2", "echo two"))


async def test_an_order_across_two_agents_has_js7s_event_sequence(deploy):
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, CROSS)
    await ctl.command(add_order("o1", "cross"))
    await wait_order_state(dep, "o1", ("Finished",))
    evs = await order_events(ctl, "o1")
    step = [
        "OrderProcessingStarted",
        "OrderStdoutWritten",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
    ]
    assert types(evs) == [
        *("OrderAdded", "OrderAttachable", "OrderAttached", "OrderStarted"),
        *step,
        *("OrderAttachable", "OrderAttached"),
        *step,
        "OrderFinished",
    ]
    assert [e["agentPath"] for e in evs if e["TYPE"] == "OrderAttached"] == ["agent-1", "agent-2"]
    out = [e["chunk"] for e in evs if e["TYPE"] == "OrderStdoutWritten"]
    assert out == ["one-o1\n", "two\n"]
    ids = [e["eventId"] for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # The Agents hold nothing of it any more.
    for a in ("agent-1", "agent-2"):
        assert (await agent_client(dep, a).get("/order"))["orders"] == []


async def test_failed_cancelled_and_suspended_orders(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        internal_workflow("fail", ("agent-1", "js7ha.Fail")),
        shell_workflow("slow", ("agent-1", "sleep 30")),
        shell_workflow("two", ("agent-1", "echo a"), ("agent-1", "echo b")),
    )
    await ctl.command(add_order("f", "fail"))
    await wait_order_state(dep, "f", ("Failed",))
    failed = next(e for e in await order_events(ctl, "f") if e["TYPE"] == "OrderFailed")
    assert failed["outcome"]["namedValues"]["returnCode"] == 1

    await ctl.command(add_order("s", "slow"))
    await dep.wait_for(
        "slow order processing",
        lambda: order_events(ctl, "s"),
        accept=lambda evs: "OrderProcessingStarted" in types(evs),
    )
    t0 = time.monotonic()
    await ctl.command(
        {"TYPE": "CancelOrders", "orderIds": ["s"], "mode": {"TYPE": "FreshOrStarted", "kill": {}}}
    )
    await wait_order_state(dep, "s", ("Cancelled",))
    assert time.monotonic() - t0 < 10, "kill must not wait for the 30 s job"

    await ctl.command(add_order("p", "two", scheduledFor=int(time.time() * 1000) + 60_000))
    await wait_order_state(dep, "p", ("Attached",))
    await ctl.command({"TYPE": "SuspendOrders", "orderIds": ["p"]})
    await dep.wait_for(
        "suspended",
        lambda: order_events(ctl, "p"),
        accept=lambda evs: "OrderSuspended" in types(evs),
    )
    await ctl.command({"TYPE": "ResumeOrders", "orderIds": ["p"]})
    await dep.wait_for(
        "resumed", lambda: order_events(ctl, "p"), accept=lambda evs: "OrderResumed" in types(evs)
    )


async def test_a_running_step_is_process_lost_after_an_agent_restart_and_runs_again(
    deploy, tmp_path
):
    marker = tmp_path / "runs"
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        shell_workflow(
            "w", ("agent-1", f"echo run >> {marker}; test $(wc -l < {marker}) -ge 2 || sleep 30")
        ),
    )
    await ctl.command(add_order("o", "w"))
    await dep.wait_for("first run started", lambda: asyncio.sleep(0, marker.exists()))
    await dep.backend.kill("agent-1")
    await dep.backend.start("agent-1")
    await wait_order_state(dep, "o", ("Finished",))
    evs = await order_events(ctl, "o")
    processed = [e["outcome"] for e in evs if e["TYPE"] == "OrderProcessed"]
    # JS7's OrderOutcome.processLost(ProcessLostDueToRestartProblem)
    # (js7-data/shared/src/test/scala/js7/data/order/OrderOutcomeTest.scala:128)
    assert processed[0] == {
        "TYPE": "Disrupted",
        "reason": {
            "TYPE": "ProcessLost",
            "problem": {"code": "ProcessLostDueToRestart", "message": "ProcessLostDueToRestart"},
        },
    }
    assert processed[1]["TYPE"] == "Succeeded"
    assert types(evs).count("OrderProcessingStarted") == 2
    # Then JS7's OrderMoved to the same position, and the job again.
    i = types(evs).index("OrderProcessed")
    assert types(evs)[i : i + 3] == ["OrderProcessed", "OrderMoved", "OrderProcessingStarted"]
    assert evs[i + 1]["to"] == [0]
    assert marker.read_text().count("run") == 2


async def test_long_poll_waits_for_the_next_event_and_sends_heartbeats(deploy):
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    await wait_coupled(dep)  # coupling journals AgentDedicated: let it happen first

    async def unread() -> list[int]:
        # How far each Agent's journal is ahead of what the Controller read
        # (the Controller journals AgentEventsObserved when it catches up).
        agents = (await read_snapshot(ctl)).agents
        seen = {path: a["eventId"] for path, a in agents.items()}
        return [
            (await agent_client(dep, a, user="Controller").get("/js7ha/overview"))["eventId"]
            - seen[a]
            for a in ("agent-1", "agent-2")
        ]

    await dep.wait_for(
        "the Controller read every Agent event", unread, accept=lambda d: d == [0, 0]
    )
    last = (await ctl.get("/js7ha/overview"))["eventId"]
    url = ctl.url(f"/event?after={last}&timeout=1.2&heartbeat=0.2")
    t0 = time.monotonic()
    async with dep.http.get(url, headers={"x-js7-session": await ctl.token()}) as r:
        body = await r.read()
    waited = time.monotonic() - t0
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    assert body.strip() == b"" and body.count(b"\n") >= 3  # heartbeats while nothing came
    assert 1.1 <= waited < 5

    async def add_later():
        await asyncio.sleep(0.5)
        await deploy_workflow(ctl, CROSS)

    task = asyncio.create_task(add_later())
    t0 = time.monotonic()
    got = [e async for e in ctl.events(last, timeout=10)]
    await task
    assert types(got)[:2] == ["VersionAdded", "VersionedItemAdded"]
    assert 0.4 <= time.monotonic() - t0 < 5


async def test_workflows_are_added_as_js7_adds_items(deploy):
    """``POST /controller/api/item``: NDJSON operations, a Silly signature,
    ``VersionAdded`` + ``VersionedItemAdded``/``Changed``; a bad request
    changes nothing."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    v1 = shell_workflow("w", ("agent-1", "echo 1"))
    v2 = shell_workflow("w", ("agent-1", "echo 2"), version="2")
    assert await ctl.post_items(item_operations(v1)) == {}
    assert await ctl.post_items(item_operations(v1)) == {}  # the same again: nothing new
    ops = item_operations(v2)
    tampered = [ops[0], {**ops[1], "signedString": {**ops[1]["signedString"]}}]
    tampered[1]["signedString"]["signature"] = {"TYPE": "Silly", "signatureString": "FORGED"}
    pgp = [ops[0], {**ops[1], "signedString": {**ops[1]["signedString"]}}]
    pgp[1]["signedString"]["signature"] = {"TYPE": "PGP", "signatureString": "x"}

    def not_agents(events):  # the Agent's coupling goes on meanwhile
        return [e for e in events if not e["TYPE"].startswith("Agent")]

    before = not_agents(await read_all_events(ctl))
    for bad, code in [
        (tampered, "TamperedWithSignedMessage"),
        (pgp, "MessageSignedByUnknown"),
        (ops[1:], "InvalidItemOperation"),
        ([{"TYPE": "AddVersion", "versionId": "3"}, ops[1]], "ItemVersionDoesNotMatch"),
        ([*ops, {"TYPE": "DeleteSimple", "path": "Lock:L"}], "UnsupportedItemOperation"),
        ([{"TYPE": "AddOrChangeSimple"}], "MissingField"),
        ([], "BadRequest"),  # an empty body
        (item_operations(shell_workflow("w9", ("agent-99", "true"))), "UnknownItemPath"),
        (item_operations({"TYPE": "Workflow", "path": "x"}), "InvalidWorkflow"),
    ]:
        with pytest.raises(ProblemError) as err:
            await ctl.post_items(bad)
        assert (err.value.status, err.value.code) == (400, code), bad
    assert not_agents(await read_all_events(ctl)) == before
    assert await ctl.post_items(ops) == {}
    added = [e for e in await read_all_events(ctl) if e["TYPE"].startswith("Version")]
    assert types(added) == [
        "VersionAdded",
        "VersionedItemAdded",
        "VersionAdded",
        "VersionedItemChanged",
    ]
    assert added[2]["versionId"] == "2"
    assert json.loads(added[3]["signed"]["string"])["instructions"] == v2["instructions"]
    await ctl.command(add_order("o", "w"))
    finished = await wait_order_state(dep, "o", ("Finished",))
    # an order takes the latest version
    assert finished["workflowPosition"]["workflowId"] == {"path": "w", "versionId": "2"}


async def test_a_workflow_is_removed_as_js7_removes_items(deploy):
    """``RemoveVersioned`` in a new version: ``VersionAdded`` +
    ``VersionedItemRemoved``, in the snapshot too; the workflow takes no new
    order; an order already in it finishes in its version; removing an
    unknown path is refused and changes nothing; added again, it runs."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, shell_workflow("w", ("agent-1", "sleep 3; echo slow")))
    await ctl.command(add_order("running", "w"))
    await wait_order_state(dep, "running", ("Attached",))
    remove = [
        {"TYPE": "AddVersion", "versionId": "2"},
        {"TYPE": "RemoveVersioned", "path": "Workflow:w"},
    ]
    for bad, code in [
        ([remove[0], {"TYPE": "RemoveVersioned", "path": "Workflow:nope"}], "UnknownItemPath"),
        ([remove[0], {"TYPE": "RemoveVersioned", "path": "Lock:w"}], "InvalidItemPath"),
        (remove[1:], "InvalidItemOperation"),
    ]:
        with pytest.raises(ProblemError) as err:
            await ctl.post_items(bad)
        assert (err.value.status, err.value.code) == (400, code), bad
    assert await ctl.post_items(remove) == {}
    removed = [e for e in await read_all_events(ctl) if e["TYPE"].startswith("Version")]
    assert [(e["TYPE"], e.get("versionId") or e.get("path")) for e in removed[-2:]] == [
        ("VersionAdded", "2"),
        ("VersionedItemRemoved", "Workflow:w"),
    ]
    with pytest.raises(ProblemError) as err:
        await ctl.command(add_order("late", "w"))
    assert err.value.code == "UnknownItemPath"
    done = await wait_order_state(dep, "running", ("Finished",))
    assert done["workflowPosition"]["workflowId"] == {"path": "w", "versionId": "1"}
    snapshot = await ctl.get_ndjson("/snapshot/")
    repo = [o["TYPE"] for o in snapshot if o["TYPE"].startswith("Version")]
    assert repo == ["VersionAdded", "VersionedItemAdded", "VersionAdded", "VersionedItemRemoved"]
    await deploy_workflow(ctl, shell_workflow("w", ("agent-1", "echo back"), version="3"))
    await ctl.command(add_order("again", "w"))
    assert (await wait_order_state(dep, "again", ("Finished",)))["workflowPosition"][
        "workflowId"
    ] == {"path": "w", "versionId": "3"}


async def test_named_jobs_command_lines_path_executables_and_return_code_meanings(deploy):
    """JS7's job shapes (ExecuteTest, ExecutableTest, ReturnCodeMeaningTest):
    Execute.Named with the workflow's jobs, a command line started without a
    shell, a program from the Agent's config/executables, returnCodeMeaning
    as a string and as a list; an empty workflow; and what is refused."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    executables = dep.backend.data_dir("agent-1") / "config" / "executables"
    executables.mkdir(parents=True, exist_ok=True)
    (executables / "hello.sh").write_text("#!/bin/sh\necho hello-from-path\n")
    (executables / "hello.sh").chmod(0o755)
    agent = "agent-1"
    named = {
        "TYPE": "Workflow",
        "path": "named",
        "versionId": "1",
        "instructions": [
            {"TYPE": "Execute.Named", "jobName": "A"},
            {"TYPE": "Execute.Named", "jobName": "B"},
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": agent,
                    "executable": {"TYPE": "PathExecutable", "path": "hello.sh"},
                },
            },
        ],
        "jobs": {
            "A": {
                "agentPath": agent,
                "executable": {
                    "TYPE": "CommandLineExecutable",
                    "command": "sh -c 'echo \"a b\"; exit 3'",
                    "returnCodeMeaning": {"success": "0,3"},
                },
            },
            "B": {
                "agentPath": agent,
                "executable": {
                    "TYPE": "ShellScriptExecutable",
                    "script": "exit 2",
                    "returnCodeMeaning": {"failure": [1, [4, 9]]},
                },
            },
        },
    }
    strict = shell_workflow("strict", (agent, "exit 3"))
    empty = {"TYPE": "Workflow", "path": "empty", "versionId": "1", "instructions": []}
    await deploy_workflow(ctl, named, strict, empty)
    for oid, wf in [("n", "named"), ("s", "strict"), ("e", "empty")]:
        await ctl.command(add_order(oid, wf))
    await wait_order_state(dep, "n", ("Finished",))
    await wait_order_state(dep, "s", ("Failed",))
    await wait_order_state(dep, "e", ("Finished",))
    evs = await order_events(ctl, "n")
    outcomes = [
        (e["outcome"]["TYPE"], e["outcome"]["namedValues"]["returnCode"])
        for e in evs
        if e["TYPE"] == "OrderProcessed"
    ]
    assert outcomes == [("Succeeded", 3), ("Succeeded", 2), ("Succeeded", 0)]
    out = "".join(e["chunk"] for e in evs if e["TYPE"] == "OrderStdoutWritten")
    assert out == "a b\nhello-from-path\n"
    assert "OrderAttachable" not in types(await order_events(ctl, "e"))  # nothing to run
    for bad in [
        {**named, "path": "x", "instructions": [{"TYPE": "Execute.Named", "jobName": "C"}]},
        {**empty, "path": "y", "instructions": [{"TYPE": "ForkList", "children": "$x"}]},
        shell_workflow("z", (agent, "true"))
        | {
            "instructions": [
                {
                    "TYPE": "Execute.Anonymous",
                    "job": {
                        "agentPath": agent,
                        "executable": {"TYPE": "PathExecutable", "path": "../x"},
                    },
                }
            ]
        },
        {
            **empty,
            "path": "w",
            "instructions": [
                {
                    "TYPE": "Execute.Anonymous",
                    "job": {
                        "agentPath": agent,
                        "executable": {
                            "TYPE": "ShellScriptExecutable",
                            "script": "true",
                            "returnCodeMeaning": {"success": "zero"},
                        },
                    },
                }
            ],
        },
    ]:
        with pytest.raises(ProblemError) as err:
            await deploy_workflow(ctl, bad)
        assert err.value.code == "InvalidWorkflow", bad


async def test_release_events_only_by_listed_users_and_never_in_reverse(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    history = controller_client(dep, "controller", user="History")
    await deploy_workflow(ctl, CROSS.copy() | {"instructions": CROSS["instructions"][:1]})
    events = await read_all_events(ctl)
    middle = events[len(events) // 2]["eventId"]
    with pytest.raises(ProblemError) as err:
        await ctl.command({"TYPE": "ReleaseEvents", "untilEventId": middle})
    assert err.value.code == "UserIsNotEnabledToReleaseEvents"
    await history.command({"TYPE": "ReleaseEvents", "untilEventId": middle})
    with pytest.raises(ProblemError) as err:
        await history.command({"TYPE": "ReleaseEvents", "untilEventId": middle - 1})
    assert err.value.code == "ReverseReleaseEvents"

    async def torn():
        try:
            await read_all_events(ctl, after=0)
            return None
        except ProblemError as exc:
            return exc

    problem = await dep.wait_for("events released", torn, accept=lambda e: e is not None)
    assert problem.code == "EventSeqTorn"
    assert f"Oldest available EventId is {middle}" in problem.message
    remaining = [e["eventId"] for e in await read_all_events(ctl, after=middle)]
    kept = [e["eventId"] for e in events if e["eventId"] > middle]
    assert remaining[: len(kept)] == kept  # (and later events may have followed)


BAD_COMMANDS = [
    ({"TYPE": "NoSuchCommand"}, 400, "UnknownCommand"),
    ({"no": "type"}, 400, "InvalidCommand"),
    (["not", "an", "object"], 400, "InvalidCommand"),
    ({"TYPE": "AddOrder"}, 400, "MissingField"),
    # The reference's older flat shape is not JS7's: the order is nested.
    ({"TYPE": "AddOrder", "id": "x", "workflowPath": "cross"}, 400, "MissingField"),
    (add_order("x", "nope"), 400, "UnknownItemPath"),
    (add_order("x", "cross", scheduledFor="soon"), 400, "InvalidField"),
    (add_order("x", "cross", startPosition=[1]), 400, "UnsupportedField"),
    (add_order("x|y", "cross"), 400, "InvalidOrderId"),
    # The reference's former private UpdateItems: not a JS7 command.
    ({"TYPE": "UpdateItems", "items": []}, 400, "UnknownCommand"),
    ({"TYPE": "CancelOrders", "orderIds": ["ghost"]}, 400, "UnknownOrder"),
    # JS7's CancellationMode has a TYPE; a bare {"kill": true} is not one.
    ({"TYPE": "CancelOrders", "orderIds": ["dup"], "mode": {"kill": True}}, 400, "MissingField"),
    ({"TYPE": "ReleaseEvents", "untilEventId": -1}, 403, "UserIsNotEnabledToReleaseEvents"),
    ({"TYPE": "ReleaseEvents"}, 400, "MissingField"),
    ({"TYPE": "ShutDown", "clusterAction": {"TYPE": "Sometimes"}}, 400, "UnknownType"),
    ({"TYPE": "Batch", "commands": "AddOrder"}, 400, "InvalidField"),
]


async def test_bad_input_gets_a_problem_and_leaves_the_journal_unchanged(deploy):
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, CROSS)
    assert await ctl.command(add_order("dup", "cross")) == {
        "TYPE": "AddOrder.Response",
        "ignoredBecauseDuplicate": False,
    }
    await wait_order_state(dep, "dup", ("Finished",))
    # JS7: adding an existing id again is ignored, not an error.
    assert await ctl.command(add_order("dup", "cross")) == {
        "TYPE": "AddOrder.Response",
        "ignoredBecauseDuplicate": True,
    }
    before = await read_all_events(ctl)
    for cmd, status, code in BAD_COMMANDS:
        with pytest.raises(ProblemError) as err:
            await ctl.command(cmd)
        assert (err.value.status, err.value.code) == (status, code), cmd
        assert err.value.body["TYPE"] == "Problem" and err.value.message
    base = dep.url("controller") + "/controller/api"
    await ctl.login()
    auth = {"x-js7-session": await ctl.token()}
    raw_cases = [
        ("POST", "/command", b"{not json", auth, 400, "InvalidJson"),
        ("POST", "/command", b"", auth, 400, "BadRequest"),
        ("POST", "/command", b'{"TYPE":"NoOperation"}', {}, 401, "Unauthorized"),
        (
            "POST",
            "/command",
            b'{"TYPE":"NoOperation"}',
            {"x-js7-session": "forged"},
            401,
            "InvalidSessionToken",
        ),
        ("GET", f"/event?after={before[-1]['eventId'] + 10**9}", auth, 400, "UnknownEventId"),
        ("GET", "/event?after=0&limit=-1", auth, 400, "InvalidParameter"),
        ("GET", "/event?after=abc", auth, 400, "InvalidParameter"),
        ("GET", "/event", auth, 400, "MissingParameter"),
        (
            "POST",
            "/session",
            b'{"TYPE":"Login","userAndPassword":{"userId":"History","password":"wrong"}}',
            {},
            401,
            "InvalidLogin",
        ),
        ("GET", "/no/such/path", auth, 404, "NotFound"),
    ]
    for case in raw_cases:
        if case[0] == "GET":
            method, path, headers, status, code = case
            data = None
        else:
            method, path, data, headers, status, code = case
        async with dep.http.request(method, base + path, data=data, headers=headers) as r:
            body = await r.json(content_type=None)
        assert (r.status, body.get("code")) == (status, code), (path, body)
        assert body["TYPE"] == "Problem" and "Traceback" not in json.dumps(body)
    after = await read_all_events(ctl)
    assert [e for e in after if e["TYPE"] != "ControllerReady"] == [
        e for e in before if e["TYPE"] != "ControllerReady"
    ]
    assert "Traceback" not in dep.backend.logs("controller")


async def test_agent_refuses_order_commands_before_dedication_and_bad_sessions(deploy):
    """JS7's Agent commands (AgentCommandTest.scala): dedication, coupling,
    attaching; each wrong one refused with its problem."""
    dep = await deploy(Topology.build([Node("agent-1", "agent")]))
    agent = agent_client(dep, "agent-1", user="Controller")
    order = {
        "id": "x",
        "workflowPosition": {"workflowId": {"path": "w", "versionId": "1"}, "position": [0]},
        "state": {"TYPE": "Fresh"},
        "attachedState": {"TYPE": "Attached", "agentPath": "agent-1"},
    }
    with pytest.raises(ProblemError) as err:
        await agent.command({"TYPE": "AttachOrder", "order": order})
    assert err.value.code == "AgentNotDedicated"
    with pytest.raises(ProblemError) as err:
        await agent.command({"TYPE": "AttachOrder", "order": {"id": "x"}})
    assert err.value.code == "MissingField"
    dedicate = {
        "TYPE": "DedicateAgentDirector",
        "agentPath": "agent-1",
        "directors": ["agent-1-0"],
        "controllerId": "js7",
        "controllerRunId": "AAAAAAAAAAAAAAAAAAAAAA",
    }
    r = await agent.command(dedicate)
    assert r["TYPE"] == "DedicateAgentDirector.Response" and len(r["agentRunId"]) == 22
    with pytest.raises(ProblemError) as err:
        await agent.command({**dedicate, "controllerId": "other"})
    assert err.value.code == "AgentAlreadyDedicated"
    couple = {
        "TYPE": "CoupleController",
        "agentPath": "agent-1",
        "agentRunId": "wrong",
        "controllerRunId": "AAAAAAAAAAAAAAAAAAAAAA",
        "eventId": 0,
    }
    with pytest.raises(ProblemError) as err:
        await agent.command(couple)
    assert err.value.code == "AgentRunIdMismatch"
    ok = await agent.command({**couple, "agentRunId": r["agentRunId"]})
    assert ok == {"TYPE": "CoupleController.Response", "orderIds": []}
    with pytest.raises(ProblemError) as err:
        await agent.command({"TYPE": "AttachOrder", "order": order})
    assert err.value.code == "UnknownItemPath"
    signed = {
        "string": json.dumps({"TYPE": "Workflow", "path": "w", "versionId": "1"}),
        "signature": {"TYPE": "Silly", "signatureString": "FORGED"},
    }
    with pytest.raises(ProblemError) as err:
        await agent.command({"TYPE": "AttachSignedItem", "signed": signed})
    assert err.value.code == "TamperedWithSignedMessage"
    with pytest.raises(ProblemError) as err:
        # AttachItem carries unsigned simple items (the Subagent items); a
        # workflow comes signed.
        await agent.command({"TYPE": "AttachItem", "item": {"TYPE": "Workflow"}})
    assert err.value.code == "UnknownType"
    mark = {"TYPE": "MarkOrder", "orderId": "x", "mark": {"TYPE": "Cancelling", "mode": {}}}
    with pytest.raises(ProblemError) as err:
        await agent.command(mark)
    assert err.value.code == "MissingField"  # a CancellationMode has a TYPE


async def test_a_bad_setting_stops_the_node_at_start_naming_it(deploy):
    topo = Topology.build([Node("agent-1", "agent", {"release_users": "not-a-list"})])
    with pytest.raises(NodeStartError) as err:
        await deploy(topo)
    assert "js7.journal.users-allowed-to-release-events" in str(err.value)


async def test_graceful_stop_and_sigkill_keep_the_journal(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, shell_workflow("w", ("agent-1", "echo hi")))
    await ctl.command(add_order("a", "w"))
    await wait_order_state(dep, "a", ("Finished",))
    before = [e for e in await read_all_events(ctl) if e["TYPE"] != "ControllerReady"]
    assert await dep.backend.stop("controller") == 0
    await dep.backend.start("controller")
    await dep.backend.kill("controller", signal.SIGKILL)
    await dep.backend.start("controller")
    after = [e for e in await read_all_events(ctl) if e["TYPE"] != "ControllerReady"]
    assert after[: len(before)] == before
    with pytest.raises(aiohttp.ClientResponseError):
        await dep.get_json("controller", "/controller/api/order")  # needs a session


async def test_the_overviews_are_js7s_and_nothing_more(deploy):
    """``GET /controller/api`` and ``GET /agent/api``: JS7's ControllerOverview
    and AgentOverview, each written back exactly as it reads (no extra field);
    what the reference's tests need beside them is at ``…/js7ha/overview``."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    agent = agent_client(dep, "agent-1", user="Controller")
    for client, shape in ((ctl, wo.ControllerOverview), (agent, wo.AgentOverview)):
        answer = await client.get("")
        assert msgspec.to_builtins(msgspec.convert(answer, shape)) == answer
        assert answer["java"]["version"].startswith("CPython ")
    assert (await ctl.get(""))["id"] == "js7"
    assert "eventId" in await ctl.get("/js7ha/overview")


async def test_a_long_batch_takes_effect_in_its_commands_order(deploy):
    """A Batch's run of AddOrders goes in chunks (``BATCH_CHUNK``), yet its
    events keep the commands' order, a duplicate in a later chunk is still a
    duplicate, and a command of another TYPE after the run sees every order
    of it."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, CROSS)
    ids = [f"b{i:04d}" for i in range(900)]
    commands = [add_order(i, "cross", scheduledFor=4_000_000_000_000) for i in ids]
    commands.insert(700, add_order("b0001", "cross"))  # a duplicate, four chunks later
    commands.append({"TYPE": "CancelOrders", "orderIds": [ids[-1]]})
    answer = await ctl.command({"TYPE": "Batch", "commands": commands})
    responses = answer["responses"]
    assert len(responses) == len(commands)
    assert responses[700] == {"TYPE": "AddOrder.Response", "ignoredBecauseDuplicate": True}
    assert responses[-1]["TYPE"] == "Accepted"
    events = await read_all_events(ctl)
    added = [e["Key"] for e in events if e["TYPE"] == "OrderAdded"]
    assert added == ids
    # (marked, or cancelled at once: whether the Agent has it yet)
    assert any(e["TYPE"].startswith("OrderCancel") and e["Key"] == ids[-1] for e in events)
