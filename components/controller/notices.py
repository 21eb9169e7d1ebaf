"""The Controller's Notices: what its GlobalBoards hold, who posts them, who
waits for them, and when they go.

A Notice is posted by an order at ``PostNotices`` (``OrderNoticePosted``) or
by the ``PostNotice`` command (``NoticePosted``, keyed by the Board); it is
deleted by ``DeleteNotice`` or when its end of life has come
(``NoticeDeleted``). An order at ``ExpectNotices`` waits
(``OrderNoticesExpected``) until the Notices it expects make the
instruction's expression hold; each posting moves the orders waiting for it
on in the same transaction (NoticeEventSource.scala:28-58, 99-133). Only the
global Plan is run: a NoticeId is ``[boardPath, noticeKey]``.

What must hold: a Notice is the journal's (state kind ``notice``), changed
only with its event in the same transaction. The commands are
``notice_commands.py``'s; the moves of the waiting orders ``orders.py``'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from components.common import expression
from components.common.board_paths import L3
from components.common.instructions import Event, variables
from components.controller import boards, simple_items
from components.controller.transaction import ORDER, TERMINAL, Tx
from components.wire import notice as nw

if TYPE_CHECKING:
    from components.controller.controller import Controller

NOTICE = "notice"  # journal state kind: json [board, key] -> the Notice
log = logging.getLogger("js7.controller.notices")


def state_key(board: str, key: str) -> str:
    return json.dumps([board, key])


def now_millis() -> int:
    return int(time.time() * 1000)


def known_boards(c: Controller) -> dict[str, nw.GlobalBoard]:
    return boards.known(c.journal.state(simple_items.ITEM))


def unknown_board(board: str) -> str:
    # JS7's UnknownKeyProblem of ``keyTo(BoardState).checked`` (messages-en.conf:28).
    return f"No such BoardState: Board:{board}"


class BoardView:
    """The Controller's Boards as an order at a notice instruction sees them
    (``components.common.instructions.NoticeView``)."""

    def __init__(self, c: Controller, now: int) -> None:
        self.c = c
        self.now = now
        self.boards = known_boards(c)
        self.posted: set[str] = set()  # in this step, not yet in c.notices

    def post(self, order: dict[str, Any], board_paths: tuple[str, ...]) -> list[Event] | str:
        """``postingOrderToNotice`` per Board (GlobalBoard.scala:41-50)."""
        events: list[Event] = []
        env = boards.scope(order, variables(order), self.now)
        for path in board_paths:
            board = self.boards.get(path)
            if board is None:
                return f"PostNotices: {unknown_board(path)}"
            try:
                key = boards.notice_key(board, "postOrderToNoticeKey", env)
                eol = boards.end_of_life(board, env)
            except expression.ExpressionError as exc:
                return f"PostNotices: {exc}"
            events.append({"TYPE": "OrderNoticePosted", "noticeId": [path, key], "endOfLife": eol})
            self.posted.add(state_key(path, key))
        return events

    def expect(self, order: dict[str, Any], board_paths: list[str]) -> list[list[str]] | str:
        """``expectingOrderToNoticeId`` per Board (GlobalBoard.scala:52-60)."""
        env = boards.scope(order, variables(order), self.now)
        ids: list[list[str]] = []
        for path in board_paths:
            board = self.boards.get(path)
            if board is None:
                return f"ExpectNotices: {unknown_board(path)}"
            try:
                ids.append([path, boards.notice_key(board, "expectOrderToNoticeKey", env)])
            except expression.ExpressionError as exc:
                return f"ExpectNotices: {exc}"
        return ids

    def available(self, notice_id: list[str]) -> L3:
        """Global Notices are never announced: there, or Unknown
        (PlannedBoard.isNoticeAvailable)."""
        skey = state_key(*notice_id)
        return True if skey in self.c.notices or skey in self.posted else None


def put(c: Controller, tx: Tx, board: str, key: str, end_of_life: int | None) -> None:
    """Record a Notice posted with its end of life, or deleted (None), in
    ``tx`` and the working state."""
    skey = state_key(board, key)
    if end_of_life is None:
        tx.changes.append((NOTICE, skey, None))
        c.notices.pop(skey, None)
    else:
        notice = {"boardPath": board, "noticeKey": key, "endOfLife": end_of_life}
        tx.changes.append((NOTICE, skey, notice))
        c.notices[skey] = notice
        tx.notices.append((board, key, end_of_life))


async def delete(c: Controller, board_path: str, key: str) -> None:
    tx = Tx()
    tx.events.append({"Key": board_path, "TYPE": "NoticeDeleted", "plannedNoticeKey": key})
    put(c, tx, board_path, key, None)
    await c.commit(tx)


def snapshot_objects(c: Controller) -> list[nw.PlanSnapshot | nw.Notice | nw.GlobalBoard]:
    """The global Plan while it has a Notice or an order expecting one, its
    Notices, then the Boards, as JS7's snapshot writes them
    (ControllerStateTest.scala:247-261; Plan.toSnapshotStream) — from the
    committed state, as the rest of the snapshot."""
    out: list[nw.PlanSnapshot | nw.Notice | nw.GlobalBoard] = []
    posted = c.journal.state(NOTICE)
    expecting = any(
        o.get("expectedNoticeIds") and o["state"] not in TERMINAL
        for o in c.journal.state(ORDER).values()
    )
    if posted or expecting:
        out.append(nw.PlanSnapshot(planId=[], status="Open"))
    for n in posted.values():
        out.append(nw.Notice(id=[n["boardPath"], n["noticeKey"]], endOfLife=int(n["endOfLife"])))
    out.extend(known_boards(c).values())
    return out


class Lifetimes:
    """Deletes each Notice when its end of life has come (JS7's
    ``NoticeDeleted`` by the Controller's clock); re-armed on activation."""

    def __init__(self, c: Controller) -> None:
        self.c = c
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def arm(self, board: str, key: str, end_of_life: int) -> None:
        old = self._timers.pop(state_key(board, key), None)
        if old is not None:
            old.cancel()
        delay = max(0.0, end_of_life / 1000 - time.time())
        handle = asyncio.get_running_loop().call_later(delay, self._spawn, board, key)
        self._timers[state_key(board, key)] = handle

    def arm_all(self) -> None:
        for n in self.c.notices.values():
            self.arm(n["boardPath"], n["noticeKey"], int(n["endOfLife"]))

    def cancel(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _spawn(self, board: str, key: str) -> None:
        self._timers.pop(state_key(board, key), None)
        task = asyncio.create_task(self._expire(board, key), name=f"notice:{board}:{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, board: str, key: str) -> None:
        notice = self.c.notices.get(state_key(board, key))
        if not self.c.cluster.is_active or notice is None:
            return
        if int(notice["endOfLife"]) > now_millis():  # posted again meanwhile, later
            self.arm(board, key, int(notice["endOfLife"]))
            return
        await delete(self.c, board, key)
