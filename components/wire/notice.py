"""Notices on the wire: the ``GlobalBoard`` item (``AddOrChangeSimple``), the
Board's and the orders' notice events, and the ``PostNotice``/``DeleteNotice``
commands, as JS7 2.8 writes them (the global Plan only: a ``NoticeId`` is
``[boardPath, noticeKey]``; the daily plan's four-part ids are refused).

Sources (sos-berlin/js7 v2.8.0, js7-data/shared/src/test/scala/js7/data/):
board/GlobalBoardTest.scala, board/NoticeEventTest.scala, board/NoticeTest.scala,
controller/ControllerStateTest.scala:247-261,
order/OrderEventTest.scala:906-1019, order/OrderTest.scala:340-348,
controller/ControllerCommandTest.scala:147-206.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

# A global NoticeId: [boardPath, noticeKey] (NoticeTest.scala:13-17).
NoticeId = list[str]


class GlobalBoard(
    msgspec.Struct, tag_field="TYPE", tag="GlobalBoard", kw_only=True, forbid_unknown_fields=True
):
    """The expressions that give a posting or expecting order its NoticeKey,
    and a Notice its end of life in epoch ms (GlobalBoardTest.scala:14-31)."""

    path: str
    postOrderToNoticeKey: str
    expectOrderToNoticeKey: str
    endOfLife: str
    itemRevision: int | UnsetType = UNSET


# JS7 up to v2.7.3 wrote these names, and up to v2.7.2 TYPE "Board"
# (GlobalBoard.scala: deriveRenamingCodec, Subtype aliases).
OLD_FIELD_NAMES = {
    "postOrderToNoticeId": "postOrderToNoticeKey",
    "expectOrderToNoticeId": "expectOrderToNoticeKey",
}


def modern_board(raw: dict[str, Any]) -> dict[str, Any]:
    """A Board item's JSON in 2.8's names, from any form JS7 2.8 decodes."""
    out = {OLD_FIELD_NAMES.get(k, k): v for k, v in raw.items()}
    if out.get("TYPE") == "Board":
        out["TYPE"] = "GlobalBoard"
    return out


# -- the Board's events (Key: the BoardPath) ----------------------------------


class NoticePosted(msgspec.Struct, tag_field="TYPE", tag="NoticePosted", kw_only=True):
    """Posted by the ``PostNotice`` command, not by the instruction
    (NoticeEvent.scala:14; NoticeEventTest.scala:24-33)."""

    plannedNoticeKey: str
    endOfLife: int | UnsetType = UNSET


class NoticeDeleted(msgspec.Struct, tag_field="TYPE", tag="NoticeDeleted", kw_only=True):
    """NoticeEventTest.scala:47-52."""

    plannedNoticeKey: str


# -- the orders' notice events -------------------------------------------------


class OrderNoticePosted(msgspec.Struct, tag_field="TYPE", tag="OrderNoticePosted", kw_only=True):
    """OrderEventTest.scala:906-916."""

    noticeId: NoticeId
    endOfLife: int | UnsetType = UNSET


class OrderNoticesExpected(
    msgspec.Struct, tag_field="TYPE", tag="OrderNoticesExpected", kw_only=True
):
    """OrderEventTest.scala:942-951."""

    noticeIds: list[NoticeId]


class OrderNoticesRead(msgspec.Struct, tag_field="TYPE", tag="OrderNoticesRead"):
    """OrderEventTest.scala:1014-1019."""


class ExpectingNotices(msgspec.Struct, tag_field="TYPE", tag="ExpectingNotices", kw_only=True):
    """The order's state while it waits (OrderTest.scala:340-348)."""

    noticeIds: list[NoticeId]


# -- the Controller's snapshot (ControllerStateTest.scala:247-261, v2.8.0) -------


class PlanSnapshot(msgspec.Struct, tag_field="TYPE", tag="Plan", kw_only=True):
    """A Plan with its Boards: the global one is ``[]`` (Plan.scala:49-54)."""

    planId: list[str]
    status: str


class Notice(msgspec.Struct, tag_field="TYPE", tag="Notice", kw_only=True):
    """A Notice that is there (NoticeTest.scala:13-17)."""

    id: NoticeId
    endOfLife: int | UnsetType = UNSET


# -- the Controller's commands ---------------------------------------------------


class PostNotice(
    msgspec.Struct, tag_field="TYPE", tag="PostNotice", kw_only=True, forbid_unknown_fields=True
):
    """``noticeId`` ``[board, key]``; up to v2.7.3 ``boardPath`` beside a
    plain ``noticeId`` (ControllerCommandTest.scala:147-187)."""

    noticeId: NoticeId | str
    boardPath: str | UnsetType = UNSET
    endOfLife: int | UnsetType = UNSET


class DeleteNotice(
    msgspec.Struct, tag_field="TYPE", tag="DeleteNotice", kw_only=True, forbid_unknown_fields=True
):
    """ControllerCommandTest.scala:189-206."""

    noticeId: NoticeId | str
    boardPath: str | UnsetType = UNSET
