"""Subagent items through the Controller's POST /controller/api/item: bad
ones refused with a problem naming the field, all or nothing."""

import pytest

from harness.clients.js7 import agent_client, controller_client, types
from harness.clients.node import ProblemError
from harness.js7topo import controller_and_agents, subagent_cluster_items
from harness.workload import read_all_events

GOOD = subagent_cluster_items(
    "http://127.0.0.1:1",
    {"s1": "http://127.0.0.1:2", "s2": "http://127.0.0.1:3"},
    {"s1": 2, "s2": 1},
)


def simple(item):
    return {"TYPE": "AddOrChangeSimple", "item": item}


SUB = {"TYPE": "SubagentItem", "id": "s1", "agentPath": "agent-1", "uri": "http://x"}


@pytest.mark.parametrize(
    ("items", "code", "field"),
    [
        (
            [{**SUB, "id": f"d{i}"} for i in range(3)]
            + [{"TYPE": "AgentRef", "path": "agent-1", "directors": ["d0", "d1", "d2"]}],
            "InvalidItem",
            "directors",
        ),
        ([{"TYPE": "AgentRef", "path": "agent-1", "directors": []}], "InvalidItem", "directors"),
        (
            [{"TYPE": "AgentRef", "path": "agent-1", "directors": ["nobody"]}],
            "UnknownItemPath",
            "directors",
        ),
        (
            [{"TYPE": "AgentRef", "path": "agent-9", "directors": ["s1"]}, SUB],
            "UnknownItemPath",
            "path",
        ),
        ([{**SUB, "agentPath": "agent-9"}], "UnknownItemPath", "agentPath"),
        (
            [SUB, {"TYPE": "SubagentBundle", "id": "B", "subagentToPriority": {"s1": "1 +"}}],
            "InvalidItem",
            "subagentToPriority.s1",
        ),
        (
            [
                SUB,
                {"TYPE": "SubagentBundle", "id": "B", "subagentToPriority": {"s1": "$cpuLoad"}},
            ],
            "InvalidItem",
            "subagentToPriority.s1",
        ),
        (
            [SUB, {"TYPE": "SubagentBundle", "id": "B", "subagentToPriority": {"s9": 1}}],
            "UnknownItemPath",
            "subagentToPriority.s9",
        ),
    ],
)
async def test_bad_subagent_items_are_refused_naming_the_field_and_nothing_is_added(
    deploy, items, code, field
):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    with pytest.raises(ProblemError) as err:
        await ctl.post_items([simple(i) for i in items])
    assert err.value.status == 400
    assert err.value.code == code, err.value.body
    assert err.value.body["arguments"]["field"] == field
    assert field.split(".")[0] in err.value.message
    added = [t for t in types(await read_all_events(ctl)) if t.startswith("UnsignedSimpleItem")]
    assert added == []


async def test_a_priority_neither_number_nor_string_is_refused(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    bundle = {"TYPE": "SubagentBundle", "id": "B", "subagentToPriority": {"s1": [1]}}
    with pytest.raises(ProblemError) as err:
        await ctl.post_items([simple(SUB), simple(bundle)])
    assert err.value.status == 400
    assert "subagentToPriority" in err.value.message


async def test_good_items_are_added_once_and_attached_to_their_agent(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    assert await ctl.post_items(GOOD) == {}
    assert await ctl.post_items(GOOD) == {}  # the same again: no change
    events = await read_all_events(ctl)
    added = [e["item"] for e in events if e["TYPE"] == "UnsignedSimpleItemAdded"]
    assert [i["TYPE"] for i in added] == [
        "SubagentItem",
        "AgentRef",
        "SubagentItem",
        "SubagentItem",
        "SubagentBundle",
    ]
    assert added[-1] == {
        "TYPE": "SubagentBundle",
        "id": "BUNDLE",
        "subagentToPriority": {"s1": 2, "s2": 1},
    }
    changed = [
        {**GOOD[-1]["item"], "subagentToPriority": {"s1": 1, "s2": "-$js7SubagentProcessCount"}}
    ]
    await ctl.post_items([simple(i) for i in changed])
    # Attached to agent-1: the Director knows its Subagents (s1, s2 remote,
    # its own agent-1-0 local), though it cannot reach the made-up URIs.
    agent = agent_client(dep, "agent-1")

    async def subagents():
        return (await agent.get("/js7ha/overview"))["subagents"]

    known = await dep.wait_for("items attached", subagents, accept=lambda s: len(s) == 3)
    assert {sid: (s["local"], s["coupled"]) for sid, s in known.items()} == {
        "agent-1-0": (True, True),
        "s1": (False, False),
        "s2": (False, False),
    }
    kinds = types(await read_all_events(ctl))
    assert kinds.count("UnsignedSimpleItemChanged") == 1
