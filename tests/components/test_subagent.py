"""The reference Subagent over its real HTTP API (/subagent/api), as a
Director talks to it."""

import json

import pytest

from harness import faults
from harness.clients.js7 import PASSWORDS
from harness.clients.node import Js7Client, ProblemError
from harness.js7topo import shell_workflow
from harness.topology import Node, Topology
from harness.workload import JobRuns

DIRECTOR = "agent-1-0"
RUN_ID = "AAAAAAAAAAAAAAAAAAAAAA"
WORKFLOW = shell_workflow(
    "w", ("agent-1", 'sleep 0.3; echo "$JS7_ORDER_ID" >> "$JS7_AGENT_WORK/runs"')
)


def subagent(dep, user=DIRECTOR, password=PASSWORDS["Director"]):
    return Js7Client(dep.http, dep.url("subagent-1"), "/subagent/api", user, password)


def dedicate(agent="agent-1", run=RUN_ID):
    return {
        "TYPE": "DedicateSubagent",
        "subagentId": "subagent-1",
        "agentPath": agent,
        "agentRunId": run,
        "controllerId": "js7",
    }


def couple(run_id, event_id=0):
    return {
        "TYPE": "CoupleDirector",
        "subagentId": "subagent-1",
        "subagentRunId": run_id,
        "eventId": event_id,
        "heartbeatTiming": {"heartbeat": 0.5, "heartbeatTimeout": 2},
    }


ATTACH = {
    "TYPE": "AttachSignedItem",
    "signed": {
        "string": json.dumps(WORKFLOW),
        "signature": {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"},
    },
}


def start(oid, arguments=None):
    order = {
        "id": oid,
        "state": {"TYPE": "Processing", "subagentId": "subagent-1"},
        "workflowPosition": {"workflowId": {"path": "w", "versionId": "1"}, "position": [0]},
    }
    if arguments:
        order["arguments"] = arguments
    return {"TYPE": "StartOrderProcess", "order": order, "defaultArguments": {}}


async def events(dep, client, run_id, after=0, timeout=0):
    params = {"after": str(after), "timeout": str(timeout)}
    if run_id is not None:
        params["subagentRunId"] = run_id
    headers = {"x-js7-session": await client.token()}
    async with dep.http.get(client.url("/event"), params=params, headers=headers) as resp:
        text = await resp.text()
        if resp.status >= 400:
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]


async def processed(dep, client, run_id, oid, after=0):
    async def done():
        evs = await events(dep, client, run_id, after)
        return [e for e in evs if e["TYPE"] == "OrderProcessed" and e["Key"] == oid]

    return await dep.wait_for(f"OrderProcessed {oid}", done, accept=bool)


@pytest.fixture
def topology():
    return Topology.build([Node("subagent-1", "subagent", {"director": DIRECTOR})])


async def test_dedication_is_for_one_agent_run_and_forgotten_by_a_restart(deploy, topology):
    dep = await deploy(topology)
    sub = subagent(dep)
    with pytest.raises(ProblemError) as err:
        await sub.command(couple(RUN_ID))
    assert err.value.code == "SubagentNotDedicated"
    with pytest.raises(ProblemError) as err:
        await sub.command(start("o"))
    assert err.value.code == "SubagentNotDedicated"
    first = await sub.command(dedicate())
    assert first["TYPE"] == "DedicateSubagent.Response" and len(first["subagentRunId"]) == 22
    assert (await sub.command(dedicate()))["subagentRunId"] == first["subagentRunId"]
    for other in (dedicate(agent="agent-2"), dedicate(run="BBBBBBBBBBBBBBBBBBBBBB")):
        with pytest.raises(ProblemError) as err:
            await sub.command(other)
        assert err.value.code == "SubagentAlreadyDedicated"
    with pytest.raises(ProblemError) as err:
        await sub.command(couple("CCCCCCCCCCCCCCCCCCCCCC"))
    assert err.value.code == "SubagentRunIdMismatch"
    assert (await sub.command(couple(first["subagentRunId"])))["TYPE"] == (
        "CoupleDirector.Response"
    )
    # Only a Director commands a Subagent (JS7's AgentDirector permission).
    with pytest.raises(ProblemError) as err:
        await subagent(dep, "Harness", PASSWORDS["Harness"]).command(dedicate())
    assert err.value.status == 403
    async with faults.kill(dep, "subagent-1"):
        pass
    with pytest.raises(ProblemError) as err:
        await sub.command(couple(first["subagentRunId"]))
    assert err.value.code == "SubagentNotDedicated"
    again = await sub.command(dedicate(agent="agent-2"))
    assert again["subagentRunId"] != first["subagentRunId"]


async def test_a_repeated_start_order_process_starts_no_second_process(deploy, topology):
    dep = await deploy(topology)
    sub = subagent(dep)
    runs = JobRuns(dep, "subagent-1")
    run_id = (await sub.command(dedicate()))["subagentRunId"]
    await sub.command(couple(run_id))
    assert (await events(dep, sub, None))["code"] == "SubagentRunIdMismatch"
    await sub.command(ATTACH)
    await sub.command(start("o1"))
    await sub.command(start("o1"))  # the Director retried: the same process
    batch = await sub.command({"TYPE": "Batch", "commands": [ATTACH, start("o1")]})
    assert batch["responses"] == [{"TYPE": "Accepted"}, {"TYPE": "Accepted"}]
    with pytest.raises(ProblemError) as err:
        await sub.command(start("o1", {"changed": 1}))
    assert "changed Order" in err.value.message
    done = await processed(dep, sub, run_id, "o1")
    assert done[0]["outcome"] == {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}}
    await sub.command(start("o1"))  # OrderProcessed not released: still the same
    assert runs.read() == ["o1"]
    # A Batch stops at its first failure (SubagentCommandExecutor.scala L92-106).
    batch = await sub.command(
        {"TYPE": "Batch", "commands": [start("o1", {"changed": 1}), start("o2")]}
    )
    assert [r["TYPE"] for r in batch["responses"]] == ["Problem"]
    # Released, the order id is free: a new StartOrderProcess is a new process.
    await sub.command({"TYPE": "ReleaseEvents", "untilEventId": done[0]["eventId"]})
    await sub.command(start("o1"))
    await processed(dep, sub, run_id, "o1", after=done[0]["eventId"])
    assert runs.read() == ["o1", "o1"]


async def test_a_superseded_directors_late_start_runs_nothing(deploy, topology):
    """Reference-only fence: once another session coupled (the new active
    Director after a fail-over), a StartOrderProcess on the old session — a
    replaced Director's request delivered late, after the order's
    OrderProcessed was released — is refused instead of running the job
    again."""
    dep = await deploy(topology)
    old, new = subagent(dep), subagent(dep)
    runs = JobRuns(dep, "subagent-1")
    run_id = (await old.command(dedicate()))["subagentRunId"]
    await old.command(couple(run_id))
    await old.command(ATTACH)
    await old.command(start("o1"))
    await new.command(couple(run_id))  # the Backup took over
    await new.command(start("o1"))  # re-attached: the same process
    done = await processed(dep, new, run_id, "o1")
    await new.command({"TYPE": "ReleaseEvents", "untilEventId": done[0]["eventId"]})
    with pytest.raises(ProblemError) as err:
        await old.command(start("o1"))
    assert err.value.code == "DirectorSessionSuperseded"
    batch = await old.command({"TYPE": "Batch", "commands": [start("o1")]})
    assert batch["responses"][0]["code"] == "DirectorSessionSuperseded"
    assert runs.read() == ["o1"]
    await old.command(couple(run_id))  # coupled anew, the session is current again
    await old.command(start("o2"))
    await processed(dep, old, run_id, "o2", after=done[0]["eventId"])
    assert runs.read() == ["o1", "o2"]
