"""JS7's ForkList: its JSON (ForkListTest.scala, v2.8.0), the children its
list and functions give, and a ForkList run by the reference Controller and
Agent (ForkListExecutor.scala, ForkInstructionExecutor.scala)."""

import pytest

from components.common import expression
from components.common import fork_list as fl
from components.common.instructions import next_events
from components.common.position import Position
from components.common.web import Problem
from components.common.workflow import ForkList, Workflow
from harness.clients.js7 import (
    add_order,
    controller_client,
    deploy_workflow,
    order_events,
    types,
    wait_order_state,
)
from harness.js7topo import controller_and_agents, shell_job, workflow

A = "agent-1"
FLT = "js7-data/shared/src/test/scala/js7/data/workflow/instructions/ForkListTest.scala"


def fork_list(*instructions, result=None, **fields):
    inner = {"instructions": list(instructions)}
    if result is not None:
        inner["result"] = result
    return {
        "TYPE": "ForkList",
        "children": "$children",
        "childToId": "element => $element",
        "childToArguments": "element => {myId: $element}",
        "workflow": inner,
        **fields,
    }


def wf(*instructions):
    return Workflow.from_json({"path": "w", "instructions": list(instructions)})


def order(**fields):
    return {"id": "o", "position": [0], "started": True, **fields}


@pytest.mark.parametrize(
    ("source", "js7"),
    [
        (
            f"{FLT}:47",
            {
                "TYPE": "ForkList",
                "children": "$children",
                "childToId": "listElement => $listElement",
                "childToArguments": "listElement => {myId:$listElement}",
                "workflow": {"instructions": []},
                "agentPath": "AGENT",
                "joinIfFailed": False,
            },
        ),
        (
            f"{FLT}:65",
            {
                "TYPE": "ForkList",
                "children": "$children",
                "childToId": "listElement => $listElement",
                "childToArguments": "listElement => {myId:$listElement}",
                "workflow": {"instructions": []},
            },
        ),
    ],
)
def test_the_reference_reads_js7s_fork_list(source, js7):
    ins = wf(js7).instruction(Position.first())
    assert isinstance(ins, ForkList), source
    assert ins.children == fl.Children("children")
    assert ins.child_to_id == fl.Function(("listElement",), expression.Var("listElement"))
    assert ins.agent_path == js7.get("agentPath")


@pytest.mark.parametrize(
    ("changed", "says"),
    [
        # ForkListTest.scala:82-107: JS7's messages.
        (
            {"childToId": "() => 1"},
            "The 'childToId' function is expected to accept between 1 and 2 parameters",
        ),
        (
            {"childToArguments": "(element, i, x) => {}"},
            "The 'childToArguments' function is expected to accept between 0 and 2 parameters",
        ),
        # ForkListTest.scala:16-24: an object's field — not the reference's subset.
        ({"childToArguments": "x => {myId: $x.number}"}, "unexpected"),
        ({"children": "$a + $b"}, "an order variable ($name) or a list literal"),
        ({"childToArguments": "x => $x"}, "an object literal"),
        ({"childToId": "x => {id: $x}"}, "an object literal"),
        ({"childToId": None}, "needs 'childToId'"),
    ],
)
def test_a_fork_list_the_reference_cannot_run_is_refused_naming_it(changed, says):
    raw = {k: v for k, v in {**fork_list(), **changed}.items() if v is not None}
    with pytest.raises(Problem) as err:
        wf(raw)
    assert err.value.code == "InvalidWorkflow"
    assert says in err.value.message


def test_the_children_are_the_lists_elements_with_their_ids_and_arguments():
    w = wf(fork_list(shell_job(A, "true"), childToId="(e, i) => $e ++ '-' ++ $i"))
    assert next_events(w, order(), here=A, now=0).action == "detach"  # the Controller's
    got = next_events(w, order(arguments={"children": ["a", "b"]}), here=None, now=0)
    assert (got.action, got.events) == (
        "forked",
        [
            {
                "TYPE": "OrderForked",
                "children": [
                    {"orderId": "o|a-0", "arguments": {"myId": "a"}},
                    {"orderId": "o|b-1", "arguments": {"myId": "b"}},
                ],
            }
        ],
    )
    literal = wf(fork_list(children="[1, 'x']", childToArguments="() => {}"))
    got = next_events(literal, order(), here=None, now=0)
    assert got.events[0]["children"] == [{"orderId": "o|1"}, {"orderId": "o|x"}]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"children": ["a", "a"]}, "Duplicate child IDs: a"),
        ({"children": "a"}, "is no list"),
        ({}, "No such named value: children"),
        ({"children": ["a|b"]}, "no '|'"),
    ],
)
def test_a_list_that_gives_no_children_fails_the_order(arguments, says):
    got = next_events(wf(fork_list()), order(arguments=arguments), here=None, now=0)
    assert [e["TYPE"] for e in got.events] == ["OrderOutcomeAdded", "OrderFailed"]
    assert says in got.events[0]["outcome"]["reason"]["problem"]["message"]


async def test_a_fork_list_at_the_reference_controller(deploy):
    """A child per element, each with its own argument, runs on the Agent;
    the parent is joined with the results as a list and goes on; an empty
    list is joined at once."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    flw = workflow(
        "fl",
        fork_list(shell_job(A, 'echo "$MYID"'), result={"ids": "$myId"}),
        shell_job(A, "true"),
    )
    await deploy_workflow(ctl, flw)
    await ctl.command(add_order("p", "fl", arguments={"children": ["a", "b", "c"]}))
    await ctl.command(add_order("empty", "fl", arguments={"children": []}))
    for oid in ("p", "empty"):
        await wait_order_state(dep, oid, ("Finished",))
    parent = await order_events(ctl, "p")
    (forked,) = [e for e in parent if e["TYPE"] == "OrderForked"]
    assert forked["children"] == [
        {"orderId": f"p|{x}", "arguments": {"myId": x}} for x in ("a", "b", "c")
    ]
    (joined,) = [e for e in parent if e["TYPE"] == "OrderJoined"]
    assert joined["outcome"] == {"TYPE": "Succeeded", "namedValues": {"ids": ["a", "b", "c"]}}
    assert types(parent)[-1] == "OrderFinished"
    for x in ("a", "b", "c"):
        child = await order_events(ctl, f"p|{x}")
        assert "OrderProcessed" in types(child)
        assert child[0]["TYPE"] == "OrderAttachable"  # born by OrderForked, no event of its own
    empty = types(await order_events(ctl, "empty"))
    assert empty[empty.index("OrderForked") + 1] == "OrderJoined"
