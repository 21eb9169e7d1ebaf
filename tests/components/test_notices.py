"""JS7's Notices: the GlobalBoard item, PostNotices and ExpectNotices at the
reference Controller, the PostNotice/DeleteNotice commands and a Notice's
end of life, with JS7's events (PostNoticesExecutor.scala,
ConsumeOrExpectNoticesExecutor.scala, NoticeEventSource.scala, v2.8.0)."""

import signal
import time

import pytest

from components.common import board_paths as bp
from components.common.instructions import next_events
from components.common.web import Problem
from components.common.workflow import Workflow
from components.controller import boards, simple_items
from components.wire import events as ev
from harness.clients.js7 import (
    add_order,
    controller_client,
    item_operations,
    order_events,
    read_all_events,
    types,
    wait_order_state,
)
from harness.clients.node import ProblemError
from harness.js7topo import controller_and_agents, shell_job, workflow
from tests.components.test_event_contract import undecodable

A = "agent-1"


def eol_soon():
    return int(time.time() * 1000) + 1500


def board(path, key="'NOTICE'", end_of_life="$js7EpochMilli + 24 * 3600 * 1000"):
    return {
        "TYPE": "GlobalBoard",
        "path": path,
        "postOrderToNoticeKey": key,
        "expectOrderToNoticeKey": key,
        "endOfLife": end_of_life,
    }


def board_item(path, **fields):
    return {"TYPE": "AddOrChangeSimple", "item": board(path, **fields)}


def post(*paths):
    return {"TYPE": "PostNotices", "boardPaths": list(paths)}


def expect(paths, **fields):
    return {"TYPE": "ExpectNotices", "boardPaths": paths, **fields}


def wf(*instructions):
    return Workflow.from_json({"path": "w", "instructions": list(instructions)})


def order(position=(0,), **fields):
    return {"id": "o", "position": list(position), "arguments": {}, "started": True, **fields}


class Boards:
    """A NoticeView over a set of Notices that are there."""

    def __init__(self, *there, problem=None):
        self.there = {tuple(i) for i in there}
        self.problem = problem

    def post(self, order, boards):
        if self.problem:
            return self.problem
        return [{"TYPE": "OrderNoticePosted", "noticeId": [b, "N"], "endOfLife": 9} for b in boards]

    def expect(self, order, boards):
        return self.problem or [[b, "N"] for b in boards]

    def available(self, notice_id):
        return True if tuple(notice_id) in self.there else None


# -- the instructions, stepped -------------------------------------------------


def test_an_agent_hands_an_order_at_a_notice_instruction_to_the_controller():
    for ins in (post("B"), expect("'B'")):
        w = wf(ins, shell_job(A, "true"))
        got = next_events(w, order(), here=A, now=0)
        assert (got.action, types_of(got.events)) == ("detach", ["OrderDetachable"])


def types_of(events):
    return [e["TYPE"] for e in events]


def test_posting_emits_order_notice_posted_per_board_then_moves():
    got = next_events(wf(post("A", "B")), order(), here=None, now=0, notices=Boards())
    assert got.events[:3] == [
        {"TYPE": "OrderNoticePosted", "noticeId": ["A", "N"], "endOfLife": 9},
        {"TYPE": "OrderNoticePosted", "noticeId": ["B", "N"], "endOfLife": 9},
        {"TYPE": "OrderMoved", "to": [1]},
    ]
    assert got.events[-1]["TYPE"] == "OrderFinished"


def test_expecting_reads_what_is_there_and_waits_once_for_what_is_not():
    w = wf(expect("'A' || 'B' && 'C'"), shell_job(A, "true"))
    there = next_events(w, order(), here=None, now=0, notices=Boards(("A", "N")))
    assert there.events[:2] == [{"TYPE": "OrderNoticesRead"}, {"TYPE": "OrderMoved", "to": [1]}]
    waiting = next_events(w, order(), here=None, now=0, notices=Boards(("B", "N")))
    ids = [["A", "N"], ["B", "N"], ["C", "N"]]
    assert (waiting.action, waiting.events) == (
        "noticewait",
        [{"TYPE": "OrderNoticesExpected", "noticeIds": ids}],
    )
    assert waiting.order["expectedNoticeIds"] == ids
    # Asked again without the Notices: no second event.
    again = next_events(w, waiting.order, here=None, now=0, notices=Boards(("B", "N")))
    assert (again.action, again.events) == ("noticewait", [])
    # B and C are there now: read, and on.
    both = Boards(("B", "N"), ("C", "N"))
    read = next_events(w, waiting.order, here=None, now=0, notices=both)
    assert types_of(read.events)[:2] == ["OrderNoticesRead", "OrderMoved"]
    assert read.order["expectedNoticeIds"] is None


def test_skip_when_no_notice_moves_on_with_the_reason():
    w = wf(expect("'A'", whenNotAnnounced="SkipWhenNoNotice"), shell_job(A, "true"))
    got = next_events(w, order(), here=None, now=0, notices=Boards())
    assert got.events[:2] == [
        {"TYPE": "OrderNoticesRead"},
        {"TYPE": "OrderMoved", "to": [1], "reason": {"TYPE": "NoNotice"}},
    ]


def test_a_board_problem_fails_the_order():
    w = wf(post("A"))
    got = next_events(w, order(), here=None, now=0, notices=Boards(problem="No such BoardState"))
    assert types_of(got.events) == ["OrderOutcomeAdded", "OrderFailed"]
    assert got.events[0]["outcome"]["reason"]["problem"]["message"] == "No such BoardState"


# -- the instructions' JSON ------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "says"),
    [
        # PostNoticesTest.scala:20-27
        (post("BOARD", "BOARD"), "Unexpected duplicates: 2×Board:BOARD"),  # noqa: RUF001
        (post(), None),
        ({"TYPE": "PostNotices"}, "needs 'boardPaths'"),
        (expect("'A' &&"), "boardPaths"),
        (expect("A"), "boardPaths"),
        (expect("'A'", whenNotAnnounced="Never"), "whenNotAnnounced"),
        ({"TYPE": "ExpectNotices"}, "needs 'boardPaths'"),
    ],
)
def test_a_bad_notice_instruction_is_refused_naming_it(instruction, says):
    if says is None:
        wf(instruction)  # JS7 accepts an empty list
        return
    with pytest.raises(Problem) as err:
        wf(instruction)
    assert err.value.code == "InvalidWorkflow"
    assert says in err.value.message


def test_the_board_path_expression_is_js7s_three_valued_logic():
    """BoardPathExpressionTest.scala:17-47, a row of each kind."""
    e = bp.parse("'A' || 'B' && 'C'")
    assert e == bp.Or(bp.Board("A"), bp.And(bp.Board("B"), bp.Board("C")))
    assert bp.parse("'A'||'B'&&'C'") == e
    assert bp.parse("'A' && ('B' || 'C')") == bp.And(
        bp.Board("A"), bp.Or(bp.Board("B"), bp.Board("C"))
    )
    T, F, U = True, False, None
    for a, b, c, want in [
        (F, F, F, F),
        (F, U, U, U),
        (F, T, U, U),
        (F, T, T, T),
        (U, F, F, U),
        (U, T, T, T),
        (T, F, F, T),
        (T, U, U, T),
    ]:
        assert bp.evaluate(e, {"A": a, "B": b, "C": c}) is want, (a, b, c)
    assert bp.board_paths(bp.parse("'A' && ('B' || 'A')")) == ["A", "B"]


# -- the Board item ----------------------------------------------------------------


def test_a_board_is_kept_as_js7_2_8_writes_it_and_older_forms_are_read():
    std = board("BOARD", key="'N'")
    (added,) = simple_items.check([std], {}, [A])
    assert added == ("Board:BOARD", std)
    assert simple_items.for_agent({"Board:BOARD": std}, A) == []
    # GlobalBoardTest.scala:33-64: v2.7.3's field names, v2.7.2's TYPE.
    for kind in ("GlobalBoard", "Board"):
        old = {
            "TYPE": kind,
            "path": "BOARD",
            "postOrderToNoticeId": "1",
            "endOfLife": "1",
            "expectOrderToNoticeId": "1",
            "itemRevision": 7,
        }
        assert boards.canonical(old) == {
            "TYPE": "GlobalBoard",
            "path": "BOARD",
            "postOrderToNoticeKey": "1",
            "expectOrderToNoticeKey": "1",
            "endOfLife": "1",
            "itemRevision": 7,
        }


@pytest.mark.parametrize(
    ("item", "says"),
    [
        # JOC's default (GlobalBoard.joc): a function the reference does not evaluate.
        (
            board("B", key="match(orderId, '#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*', '$1')"),
            "postOrderToNoticeKey",
        ),
        (board("B", end_of_life="$js7EpochMilli +"), "endOfLife"),
        ({"TYPE": "PlannableBoard", "path": "B"}, "GlobalBoards only"),
        (board(""), "path"),
    ],
)
def test_a_board_the_reference_cannot_run_is_refused_naming_the_field(item, says):
    with pytest.raises(Problem) as err:
        simple_items.check([item], {}, [A])
    assert (err.value.status, err.value.code) == (400, "InvalidItem")
    assert says in err.value.message


def test_notice_keys_and_end_of_life_from_the_order():
    b = boards.decode(
        board("B", key="$js7OrderId ++ '-' ++ $day", end_of_life="$js7EpochMilli + 5")
    )
    o = {"id": "#1#", "workflowPath": "w"}
    env = boards.scope(o, {"day": "2026-12-07"}, 1000)
    assert boards.notice_key(b, "postOrderToNoticeKey", env) == "#1#-2026-12-07"
    assert boards.end_of_life(b, env) == 1005


# -- at the reference Controller ---------------------------------------------------------


async def test_an_expecting_order_waits_until_an_order_posts_its_notice(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    poster = workflow("poster", shell_job(A, "true"), post("B"))
    expecter = workflow("expecter", expect("'B'"), shell_job(A, "true"))
    await ctl.post_items([board_item("B"), *item_operations(poster, expecter)])
    await ctl.command(add_order("e", "expecter"))
    waiting = await wait_order_state(dep, "e", ("ExpectingNotices",))
    assert waiting["state"] == {"TYPE": "ExpectingNotices", "noticeIds": [["B", "NOTICE"]]}
    boards_in_snapshot = [
        o
        for o in await ctl.get_ndjson("/snapshot/")
        if o["TYPE"] in ("Plan", "Notice", "GlobalBoard")
    ]
    assert boards_in_snapshot == [{"TYPE": "Plan", "planId": [], "status": "Open"}, board("B")]
    await ctl.command(add_order("p", "poster"))
    for oid in ("p", "e"):
        await wait_order_state(dep, oid, ("Finished",))
    assert undecodable(await read_all_events(ctl), ev.ControllerEvent) == []
    posted = [e for e in await order_events(ctl, "p") if e["TYPE"] == "OrderNoticePosted"]
    assert [e["noticeId"] for e in posted] == [["B", "NOTICE"]]
    assert posted[0]["endOfLife"] > posted[0]["eventId"] // 1000
    e = types(await order_events(ctl, "e"))
    assert e[e.index("OrderNoticesExpected") :][:3] == [
        "OrderNoticesExpected",
        "OrderNoticesRead",
        "OrderMoved",
    ]
    (notice,) = [o for o in await ctl.get_ndjson("/snapshot/") if o["TYPE"] == "Notice"]
    assert notice == {
        "TYPE": "Notice",
        "id": ["B", "NOTICE"],
        "endOfLife": posted[0]["endOfLife"],
    }
    # The Notice stays: the next expecting order reads it at once.
    await ctl.command(add_order("e2", "expecter"))
    await wait_order_state(dep, "e2", ("Finished",))
    assert "OrderNoticesExpected" not in types(await order_events(ctl, "e2"))


async def test_post_and_delete_notice_commands(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    expecter = workflow("expecter", expect("'B'"), shell_job(A, "true"))
    await ctl.post_items([board_item("B"), *item_operations(expecter)])
    await ctl.command(add_order("e", "expecter"))
    await wait_order_state(dep, "e", ("ExpectingNotices",))

    def noticed(events):  # what the commands could have changed: the Boards, the order
        return [e for e in events if e.get("Key") in ("B", "X", "e")]

    before = noticed(await read_all_events(ctl))
    for bad, code in [
        ({"TYPE": "PostNotice", "noticeId": ["X", "NOTICE"]}, "UnknownKey"),
        ({"TYPE": "DeleteNotice", "noticeId": ["B", "NOTICE"]}, "UnknownKey"),
        ({"TYPE": "DeleteNotice", "noticeId": ["DailyPlan", "2025-01-17", "B", "N"]}, None),
    ]:
        with pytest.raises(ProblemError) as err:
            await ctl.command(bad)
        if code is not None:
            assert err.value.code == code
    assert noticed(await read_all_events(ctl)) == before  # nothing changed
    await ctl.command({"TYPE": "PostNotice", "noticeId": ["B", "NOTICE"]})
    await wait_order_state(dep, "e", ("Finished",))
    # v2.7.3's form (ControllerCommandTest.scala:197-205).
    await ctl.command({"TYPE": "DeleteNotice", "boardPath": "B", "noticeId": "NOTICE"})
    events = await read_all_events(ctl)
    assert undecodable(events, ev.ControllerEvent) == []  # every event as JS7 writes it
    board_events = [e for e in events if e.get("Key") == "B"]
    assert [(e["TYPE"], e["plannedNoticeKey"]) for e in board_events] == [
        ("NoticePosted", "NOTICE"),
        ("NoticeDeleted", "NOTICE"),
    ]
    # An end of life already past: posted and deleted at once (NoticeEventSource.scala:52-57).
    await ctl.command({"TYPE": "PostNotice", "noticeId": ["B", "OLD"], "endOfLife": 1})
    old = [e for e in await read_all_events(ctl) if e.get("Key") == "B"][-2:]
    assert [(e["TYPE"], e["plannedNoticeKey"]) for e in old] == [
        ("NoticePosted", "OLD"),
        ("NoticeDeleted", "OLD"),
    ]
    snapshot = await ctl.get_ndjson("/snapshot/")
    assert not [o for o in snapshot if o["TYPE"] == "Notice"]


async def test_a_notice_is_deleted_at_its_end_of_life(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    poster = workflow("poster", post("B"))
    await ctl.post_items(
        [board_item("B", end_of_life="$js7EpochMilli + 300"), *item_operations(poster)]
    )
    await ctl.command(add_order("p", "poster"))
    await wait_order_state(dep, "p", ("Finished",))

    async def deleted():
        return [e for e in await read_all_events(ctl) if e["TYPE"] == "NoticeDeleted"]

    found = await dep.wait_for("NoticeDeleted", deleted, accept=bool)
    assert found[0]["Key"] == "B" and found[0]["plannedNoticeKey"] == "NOTICE"


async def test_a_workflow_naming_an_unknown_board_is_refused(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    with pytest.raises(ProblemError) as err:
        await ctl.post_items(item_operations(workflow("w", post("NOBOARD"))))
    assert err.value.code == "UnknownItemPath"
    assert "Board:NOBOARD" in err.value.message

    # A Board the reference cannot run refuses the whole request: no item,
    # no workflow is added.
    def item_events(events):
        return [e for e in events if "Item" in e["TYPE"] or e["TYPE"] == "VersionAdded"]

    before = item_events(await read_all_events(ctl))
    joc_board = {"TYPE": "AddOrChangeSimple", "item": board("B", key="match(orderId, '#(.*)#')")}
    with pytest.raises(ProblemError) as err:
        await ctl.post_items([joc_board, *item_operations(workflow("w", post("B")))])
    assert err.value.code == "InvalidItem"
    assert item_events(await read_all_events(ctl)) == before


async def test_notices_and_waiting_orders_survive_a_controller_sigkill(deploy):
    """The Notice and the waiting order are the journal's: after a SIGKILL
    and restart the order still waits, and a Notice posted then moves it."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    poster = workflow("poster", post("B"))
    expecter = workflow("expecter", expect("'B' && 'C'"), shell_job(A, "true"))
    items = [board_item("B"), board_item("C"), *item_operations(poster, expecter)]
    await ctl.post_items(items)
    await ctl.command(add_order("p", "poster"))
    await ctl.command(add_order("e", "expecter"))
    await wait_order_state(dep, "e", ("ExpectingNotices",))
    await dep.backend.kill("controller", signal.SIGKILL)
    await dep.backend.start("controller")
    await wait_order_state(dep, "e", ("ExpectingNotices",))
    await ctl.command({"TYPE": "PostNotice", "noticeId": ["C", "NOTICE"]})
    await wait_order_state(dep, "e", ("Finished",))
    assert types(await order_events(ctl, "e")).count("OrderNoticesExpected") == 1


async def test_an_end_of_life_passed_while_the_controller_was_down_deletes_the_notice(deploy):
    """The end of life is the journal's: the restarted Controller re-arms it."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await ctl.post_items([board_item("B")])
    await ctl.command({"TYPE": "PostNotice", "noticeId": ["B", "N"], "endOfLife": eol_soon()})
    await dep.backend.kill("controller", signal.SIGKILL)
    await dep.backend.start("controller")

    async def deleted():
        return [e for e in await read_all_events(ctl) if e["TYPE"] == "NoticeDeleted"]

    (found,) = await dep.wait_for("NoticeDeleted after the restart", deleted, accept=bool)
    assert (found["Key"], found["plannedNoticeKey"]) == ("B", "N")
