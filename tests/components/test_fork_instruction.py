"""What Fork does to a parent and its children (components/common/
instructions.py): JS7's ForkInstructionExecutor.scala, OrderEventSource.scala
(a fork branch is a failure boundary) and the join's outcome."""

import pytest

from components.common.instructions import apply, joined_outcome, next_events
from components.common.position import Position
from components.common.web import Problem
from components.common.workflow import Fork, Workflow
from harness.js7topo import block, shell_job

A = "agent-1"
OK = {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}}
RC1 = {"TYPE": "Failed", "namedValues": {"returnCode": 1}}


def wf(*instructions):
    return Workflow.from_json({"path": "w", "instructions": list(instructions)})


def fork(*branches, **fields):
    return {
        "TYPE": "Fork",
        "branches": [{"id": bid, "workflow": w} for bid, w in branches],
        **fields,
    }


def order(position=(0,), **fields):
    return {"id": "p", "position": list(position), "arguments": {}, "started": True, **fields}


def types(nxt):
    return [e["TYPE"] for e in nxt.events]


TWO = wf(
    fork(("a", block(shell_job(A, "true"))), ("b", block(shell_job("agent-2", "true")))),
    shell_job(A, "true"),
)


def test_the_parent_forks_at_the_controller_and_detaches_from_an_agent_first():
    assert types(next_events(TWO, order(), here=A, now=0)) == ["OrderDetachable"]
    nxt = next_events(TWO, order(started=False), here=None, now=0)
    assert nxt.action == "forked"
    assert nxt.events == [
        {"TYPE": "OrderStarted"},
        {
            "TYPE": "OrderForked",
            "children": [{"branchId": "a", "orderId": "p|a"}, {"branchId": "b", "orderId": "p|b"}],
        },
    ]
    # A fresh order waits for its time before it forks.
    nxt = next_events(TWO, order(started=False, scheduledFor=5000), here=None, now=0)
    assert (nxt.action, nxt.events) == ("wait", [])


def test_a_child_at_its_branch_end_is_joinable_at_the_controller_only():
    end = order((0, "fork+a", 1), id="p|a")
    assert types(next_events(TWO, end, here=A, now=0)) == ["OrderDetachable"]
    nxt = next_events(TWO, end, here=None, now=0)
    assert (nxt.action, nxt.events) == ("joinable", [])
    # The job's step: moved to the branch's end, where the Agent hands it back.
    done = apply(order((0, "fork+b", 0), id="p|b"), {"TYPE": "OrderProcessed", "outcome": OK})
    nxt = next_events(TWO, done, here="agent-2", now=0)
    assert nxt.events == [
        {"TYPE": "OrderMoved", "to": [0, "fork+b", 1]},
        {"TYPE": "OrderDetachable"},
    ]


def test_the_joined_parent_goes_on_or_fails_with_the_joins_outcome():
    joined = apply(order(), {"TYPE": "OrderJoined", "outcome": {"TYPE": "Succeeded"}})
    assert joined["historicOutcomes"] == [{"position": [0], "outcome": {"TYPE": "Succeeded"}}]
    nxt = next_events(TWO, joined, here=None, now=0)
    assert nxt.events == [
        {"TYPE": "OrderMoved", "to": [1]},
        {"TYPE": "OrderAttachable", "agentPath": A},
    ]
    failed = apply(order(), {"TYPE": "OrderJoined", "outcome": {"TYPE": "Failed", "message": "m"}})
    nxt = next_events(TWO, failed, here=None, now=0)
    assert types(nxt) == ["OrderFailed"] and nxt.events[0]["movedTo"] == [0]
    # A Try around the Fork catches the failed join.
    w = wf({"TYPE": "Try", "try": block(fork(("a", block()))), "catch": block()})
    failed = {**failed, "position": [0, "try+0", 0]}
    nxt = next_events(w, failed, here=None, now=0)
    assert nxt.events[0] == {"TYPE": "OrderCaught", "movedTo": [0, "catch+0", 0]}


@pytest.mark.parametrize("join_if_failed", [True, False])
def test_a_failure_does_not_leave_its_branch(join_if_failed):
    """A Try outside the Fork does not catch a child's failure
    (BranchId.IsFailureBoundary); one inside the branch does."""
    w = wf(
        {
            "TYPE": "Try",
            "try": block(
                fork(
                    ("a", block(shell_job(A, "false"))),
                    (
                        "b",
                        block(
                            {"TYPE": "Try", "try": block(shell_job(A, "false")), "catch": block()}
                        ),
                    ),
                    joinIfFailed=join_if_failed,
                )
            ),
            "catch": block(),
        }
    )
    a = apply(
        order((0, "try+0", 0, "fork+a", 0), id="p|a"), {"TYPE": "OrderProcessed", "outcome": RC1}
    )
    assert types(next_events(w, a, here=A, now=0)) == ["OrderDetachable"]
    nxt = next_events(w, a, here=None, now=0)
    kind = "OrderFailedInFork" if join_if_failed else "OrderFailed"
    assert nxt.events[0] == {"TYPE": kind, "movedTo": [0, "try+0", 0, "fork+a", 0]} | (
        {} if join_if_failed else {"outcome": RC1}
    )
    assert nxt.action == ("joinable" if join_if_failed else "terminated")
    b = apply(
        order((0, "try+0", 0, "fork+b", 0, "try+0", 0), id="p|b"),
        {"TYPE": "OrderProcessed", "outcome": RC1},
    )
    nxt = next_events(w, b, here=A, now=0)
    assert nxt.events[0] == {
        "TYPE": "OrderCaught",
        "movedTo": [0, "try+0", 0, "fork+b", 0, "catch+0", 0],
    }


def test_the_joins_outcome_is_js7s():
    w = wf(
        fork(
            ("a", {"instructions": [], "result": {"aRc": "$returnCode", "x": "$x ++ '!'"}}),
            ("b", block()),
        )
    )
    ins = w.instruction(Position.first())
    assert isinstance(ins, Fork)

    def child(oid, *outcomes, **arguments):
        return {
            "id": oid,
            "arguments": arguments,
            "historicOutcomes": [{"position": [0], "outcome": o} for o in outcomes],
        }

    ok = [(child("p|a", OK, x="y"), False), (child("p|b"), False)]
    assert joined_outcome(ins, ok) == {"TYPE": "Succeeded", "namedValues": {"aRc": 0, "x": "y!"}}
    # A child's last outcome decides; Caught counts as succeeded (OrderOutcome.scala:146).
    caught = [(child("p|a", RC1, {"TYPE": "Caught"}, x=""), False), (child("p|b"), False)]
    assert joined_outcome(ins, caught)["TYPE"] == "Succeeded"
    bad = [
        (child("p|a", OK, {"TYPE": "Failed", "message": "M", "uncatchable": True}), False),
        (child("p|b", RC1), False),
    ]
    assert joined_outcome(ins, bad) == {
        "TYPE": "Failed",
        "message": "p|a Failed(uncatchable, M);\np|b Failed",
    }
    assert joined_outcome(ins, [(child("p|a"), True), (child("p|b"), False)]) == {
        "TYPE": "Failed",
        "message": "p|a has been cancelled",
    }
    # A result that cannot be evaluated fails the join (OrderOutcome.Completed.fromChecked).
    unknown = [(child("p|a", OK), False), (child("p|b"), False)]
    assert joined_outcome(ins, unknown)["TYPE"] == "Failed"
    # At most three failed children are named.
    many = wf(fork(*((str(i), block()) for i in range(5)))).instruction(Position.first())
    assert isinstance(many, Fork)
    failed = [(child(f"p|{i}", RC1), False) for i in range(5)]
    assert joined_outcome(many, failed)["message"].count("\n") == 2


@pytest.mark.parametrize(
    ("branches", "says"),
    [
        ([{"id": "a|b", "workflow": {"instructions": []}}], "without '|'"),
        ([{"id": "", "workflow": {"instructions": []}}], "non-empty"),
        ([{"id": "a"}], "workflow must be an object"),
        ([{"id": "a", "workflow": {"instructions": [{"TYPE": "Lock"}]}}], "[0/fork+a:0]"),
    ],
)
def test_a_bad_fork_is_refused_naming_where(branches, says):
    with pytest.raises(Problem) as err:
        wf(fork(("x", block())) | {"branches": branches})
    assert err.value.code == "InvalidWorkflow" and says in err.value.message
