"""The Controller's notice commands: ``PostNotice`` (``NoticePosted``, and
the waiting orders go on) and ``DeleteNotice`` (``NoticeDeleted``)
(postNoticeExecutor.scala, deleteNoticeExecutor.scala,
NoticeEventSource.executePostNoticeCommand; v2.8.0).

What must hold: a command naming an unknown Board or Notice, or a Plan the
reference does not run, is JS7's problem and changes nothing.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from msgspec import UNSET

from components.common import expression
from components.common.node import Handler
from components.common.web import Problem
from components.controller import boards, notices, orders
from components.controller.transaction import Tx
from components.wire import notice as nw

if TYPE_CHECKING:
    from components.controller.controller import Controller


def _notice_id(cmd: nw.PostNotice | nw.DeleteNotice) -> tuple[str, str]:
    """``[board, key]``, or v2.7.3's ``boardPath`` and plain ``noticeId``."""
    if isinstance(cmd.noticeId, str):
        if cmd.boardPath is UNSET:
            raise Problem(400, "InvalidCommand", "a plain noticeId needs its boardPath")
        return str(cmd.boardPath), cmd.noticeId
    if len(cmd.noticeId) != 2:
        raise Problem(
            400,
            "UnsupportedField",
            "the reference runs the global Plan only: a NoticeId is [boardPath, noticeKey]",
        )
    board, key = cmd.noticeId
    if not key:
        raise Problem(400, "InvalidName", "a NoticeKey must not be empty")
    return board, key


async def post_notice(c: Controller, user: str, cmd: nw.PostNotice) -> None:
    """``NoticePosted`` and the waiting orders' moves; an end of life already
    past deletes the Notice at once (NoticeEventSource.executePostNoticeCommand)."""
    board_path, key = _notice_id(cmd)
    board = notices.known_boards(c).get(board_path)
    if board is None:
        raise Problem(400, "UnknownKey", notices.unknown_board(board_path))
    now = notices.now_millis()
    if cmd.endOfLife is UNSET:
        try:
            eol = boards.end_of_life(board, boards.scope(None, {}, now))
        except expression.ExpressionError as exc:
            raise Problem(400, "InvalidCommand", str(exc)) from None
    else:
        eol = int(cmd.endOfLife)
    tx = Tx()
    tx.events.append(
        {"Key": board_path, "TYPE": "NoticePosted", "plannedNoticeKey": key, "endOfLife": eol}
    )
    if eol <= now:
        tx.events.append({"Key": board_path, "TYPE": "NoticeDeleted", "plannedNoticeKey": key})
        notices.put(c, tx, board_path, key, None)
    else:
        notices.put(c, tx, board_path, key, eol)
        orders.wake_expecting(c, tx, [[board_path, key]])
    await c.commit(tx)


async def delete_notice(c: Controller, user: str, cmd: nw.DeleteNotice) -> None:
    board_path, key = _notice_id(cmd)
    if board_path not in notices.known_boards(c):
        raise Problem(400, "UnknownKey", notices.unknown_board(board_path))
    if notices.state_key(board_path, key) not in c.notices:
        raise Problem(400, "UnknownKey", f"No such NoticeKey: {key}")
    await notices.delete(c, board_path, key)


def handlers(c: Controller) -> dict[type, Handler]:
    return {nw.PostNotice: partial(post_notice, c), nw.DeleteNotice: partial(delete_notice, c)}
