"""What each instruction does to an order (components/common/instructions.py):
the events JS7's executors emit, on an Agent and at the Controller
(js7-data/jvm/src/main/scala/js7/data/execution/workflow/instructions/ and
OrderEventSource.scala)."""

from components.common.instructions import apply, next_events
from components.common.workflow import Workflow
from harness.js7topo import block, shell_job

A = "agent-1"


def job(script="true", agent=A):
    return shell_job(agent, script)


def wf(*instructions):
    return Workflow.from_json({"path": "w", "instructions": list(instructions)})


def order(position=(0,), **fields):
    return {"position": list(position), "arguments": {}, **fields}


def types(nxt):
    return [e["TYPE"] for e in nxt.events]


def processed(o, outcome):
    return apply(o, {"TYPE": "OrderProcessed", "outcome": outcome})


OK = {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}}
RC1 = {"TYPE": "Failed", "namedValues": {"returnCode": 1}}


def test_if_picks_the_first_true_branch_else_else_else_on():
    w = wf(
        {
            "TYPE": "If",
            "ifThens": [
                {"predicate": "$x == 1", "then": block(job())},
                {"predicate": "$x == 2", "then": block(job())},
            ],
            "else": block(job()),
        },
        {"TYPE": "If", "predicate": "$x == 9", "then": block(job())},  # JS7 <= 2.7.1's form
        job(),
    )
    for x, to in [(1, [0, "then", 0]), (2, [0, "then+2", 0]), (3, [0, "else", 0])]:
        nxt = next_events(w, order(arguments={"x": x}), here=A, now=0)
        assert nxt.events[0] == {"TYPE": "OrderMoved", "to": to}
        assert nxt.action == "run"
    # Moves in a row are one OrderMoved (OrderEventSource.scala:592-642):
    # the end of the then block, past the If without else, to the job.
    o = processed(order((0, "then", 0), started=True, arguments={"x": 1}), OK)
    nxt = next_events(w, o, here=A, now=0)
    assert nxt.events == [{"TYPE": "OrderMoved", "to": [2]}] and nxt.action == "run"


def test_if_reads_the_last_return_code_and_fails_on_an_unknown_variable():
    w = wf(
        job(),
        {"TYPE": "If", "ifThens": [{"predicate": "$returnCode == 3", "then": block(job())}]},
    )
    o = processed(order(started=True), {"TYPE": "Succeeded", "namedValues": {"returnCode": 3}})
    assert next_events(w, o, here=A, now=0).events[0] == {
        "TYPE": "OrderMoved",
        "to": [1, "then", 0],
    }
    w = wf({"TYPE": "If", "ifThens": [{"predicate": "$nope == 1", "then": block()}]})
    nxt = next_events(w, order(), here=None, now=0)
    assert types(nxt) == ["OrderOutcomeAdded", "OrderFailed"]
    assert nxt.events[0]["outcome"]["TYPE"] == "Disrupted"
    assert "No such named value: nope" in nxt.events[0]["outcome"]["reason"]["problem"]["message"]
    assert nxt.action == "terminated" and nxt.events[-1]["TYPE"] == "OrderFailed"


def test_fail_on_an_agent_detaches_and_the_controller_fails_the_order():
    w = wf({"TYPE": "Fail", "message": "'ERROR'", "namedValues": {"returnCode": 7}})
    on_agent = next_events(w, order(), here=A, now=0)
    assert on_agent.events == [
        {"TYPE": "OrderStarted"},
        {
            "TYPE": "OrderOutcomeAdded",
            "outcome": {"TYPE": "Failed", "namedValues": {"returnCode": 7}, "message": "ERROR"},
        },
        {"TYPE": "OrderDetachable"},
    ]
    at_controller = next_events(w, on_agent.order, here=None, now=0)
    assert at_controller.events == [
        {
            "TYPE": "OrderFailed",
            "movedTo": [0],
            "outcome": {"TYPE": "Failed", "namedValues": {"returnCode": 7}, "message": "ERROR"},
        }
    ]
    assert at_controller.action == "terminated"


def test_finish_and_the_end_of_the_workflow_need_the_controller():
    w = wf({"TYPE": "Finish", "outcome": {"TYPE": "Failed", "message": "M"}})
    assert types(next_events(w, order(started=True), here=A, now=0)) == ["OrderDetachable"]
    nxt = next_events(w, order(started=True), here=None, now=0)
    assert nxt.events == [{"TYPE": "OrderFinished", "outcome": {"TYPE": "Failed", "message": "M"}}]
    w = wf(job())
    o = processed(order(started=True), OK)
    assert types(next_events(w, o, here=A, now=0)) == ["OrderMoved", "OrderDetachable"]
    # An empty workflow: started and finished at the Controller (EndExecutor.scala:22-26).
    assert types(next_events(wf(), order(), here=None, now=0)) == ["OrderStarted", "OrderFinished"]
    # A fresh order waits for its time before it starts.
    nxt = next_events(wf(), order(scheduledFor=5000), here=None, now=0)
    assert (nxt.action, nxt.until, nxt.events) == ("wait", 5000, [])


def test_another_agents_job_detaches_and_the_controller_attaches():
    w = wf(job(agent="agent-2"))
    assert types(next_events(w, order(), here=A, now=0)) == ["OrderDetachable"]
    nxt = next_events(w, order(), here=None, now=0)
    assert nxt.events == [{"TYPE": "OrderAttachable", "agentPath": "agent-2"}]
    assert (nxt.action, nxt.agent) == ("attach", "agent-2")


def test_a_failed_step_is_caught_by_the_innermost_try():
    w = wf({"TYPE": "Try", "try": block(job()), "catch": block(job())}, job())
    nxt = next_events(w, order(), here=A, now=0)
    assert nxt.events[0] == {"TYPE": "OrderMoved", "to": [0, "try+0", 0]}
    o = processed(nxt.order, RC1)
    nxt = next_events(w, o, here=A, now=0)
    assert nxt.events == [{"TYPE": "OrderCaught", "movedTo": [0, "catch+0", 0]}]
    assert nxt.action == "run"
    # The catch block's job succeeds: on after the Try.
    nxt = next_events(w, processed(nxt.order, OK), here=A, now=0)
    assert nxt.events == [{"TYPE": "OrderMoved", "to": [1]}]
    # A failure in the catch block is not caught by its own Try.
    nxt = next_events(w, processed(order((0, "catch+0", 0), started=True), RC1), here=None, now=0)
    assert types(nxt) == ["OrderFailed"] and nxt.events[0]["movedTo"] == [0, "catch+0", 0]


def test_uncatchable_fail_passes_every_try():
    w = wf({"TYPE": "Try", "try": block({"TYPE": "Fail", "uncatchable": True}), "catch": block()})
    nxt = next_events(w, order(), here=None, now=0)
    assert types(nxt) == ["OrderMoved", "OrderStarted", "OrderOutcomeAdded", "OrderFailed"]
    assert nxt.events[2]["outcome"] == {"TYPE": "Failed", "uncatchable": True}


def test_retry_with_delays_and_max_tries():
    w = wf(
        {
            "TYPE": "Try",
            "try": block({"TYPE": "Fail"}),
            "catch": block({"TYPE": "Retry"}),
            "retryDelays": [1, 20],
            "maxTries": 3,
        }
    )
    nxt = next_events(w, order(), here=A, now=1000)
    assert nxt.events[-2:] == [
        {"TYPE": "OrderCaught", "movedTo": [0, "catch+0", 0]},
        {"TYPE": "OrderRetrying", "delayedUntil": 2000},
    ]
    assert (nxt.action, nxt.until) == ("wait", 2000)
    assert next_events(w, nxt.order, here=A, now=1999).events == []
    nxt = next_events(w, nxt.order, here=A, now=2500)
    assert nxt.events[:2] == [
        {"TYPE": "OrderAwoke"},
        {"TYPE": "OrderMoved", "to": [0, "try+1", 0]},
    ]
    # The second delay, 20 s, is rounded up to the next second (RetryExecutor.scala:43-45).
    assert nxt.events[-1] == {"TYPE": "OrderRetrying", "delayedUntil": 23000}
    nxt = next_events(w, nxt.order, here=A, now=23000)
    # The third try fails for good: the catch block starts with Retry and the
    # tries are used up, so the failure keeps its position (OrderEventSource.scala:793-801).
    assert types(nxt)[-2:] == ["OrderOutcomeAdded", "OrderDetachable"]
    nxt = next_events(w, nxt.order, here=None, now=23000)
    assert nxt.events[0]["TYPE"] == "OrderFailed"
    assert nxt.events[0]["movedTo"] == [0, "try+2", 0]


def test_retry_without_delay_moves_at_once_and_outside_a_catch_block_fails():
    w = wf({"TYPE": "Try", "try": block(job()), "catch": block({"TYPE": "Retry"})})
    nxt = next_events(w, processed(order((0, "try+0", 0), started=True), RC1), here=A, now=0)
    assert nxt.events == [
        {"TYPE": "OrderCaught", "movedTo": [0, "catch+0", 0]},
        {"TYPE": "OrderRetrying"},
        {"TYPE": "OrderMoved", "to": [0, "try+1", 0]},
    ]
    assert nxt.action == "run"
    nxt = next_events(wf({"TYPE": "Retry"}), order(started=True), here=None, now=0)
    assert types(nxt) == ["OrderOutcomeAdded", "OrderFailed"]
    assert "not in a 'catch' block" in str(nxt.events[0]["outcome"])


def test_sleep_and_prompt():
    w = wf({"TYPE": "Sleep", "duration": "$s"}, {"TYPE": "Prompt", "question": "'OK?'"})
    nxt = next_events(w, order(arguments={"s": 2}), here=A, now=1000)
    assert nxt.events == [{"TYPE": "OrderStarted"}, {"TYPE": "OrderSleeping", "until": 3000}]
    nxt = next_events(w, nxt.order, here=A, now=3000)
    # Prompt is the Controller's (PromptExecutor.scala:19).
    assert nxt.events == [{"TYPE": "OrderMoved", "to": [1]}, {"TYPE": "OrderDetachable"}]
    nxt = next_events(w, nxt.order, here=None, now=3000)
    assert nxt.events == [{"TYPE": "OrderPrompted", "question": "OK?"}]
    assert nxt.action == "prompted"
    # A duration of 0 (or less) sleeps not at all.
    nxt = next_events(w, order(arguments={"s": 0}), here=None, now=0)
    assert types(nxt) == ["OrderStarted", "OrderMoved", "OrderPrompted"]


def test_a_lost_process_runs_again():
    w = wf(job())
    lost = {"TYPE": "Disrupted", "reason": {"TYPE": "ProcessLost"}}
    nxt = next_events(w, processed(order(started=True), lost), here=A, now=0)
    # JS7's explicit OrderMoved to the same position ("Repeat",
    # ExecuteExecutor.processedEvents), then the job again.
    assert (nxt.events, nxt.action) == ([{"TYPE": "OrderMoved", "to": [0]}], "run")
