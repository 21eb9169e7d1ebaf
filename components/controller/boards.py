"""The Controller's Boards: JS7's ``GlobalBoard`` item and the NoticeKey and
end of life its expressions give an order (GlobalBoard.scala).

The expressions are the reference's subset (``components/common/expression.py``)
over the order's variables and JS7's ``$js7OrderId``, ``$js7WorkflowPath``
and ``$js7EpochMilli`` (the clock's now): a constant ``'NOTICE'``, an
order's ``$js7OrderId``, ``$js7EpochMilli + 24 * 3600 * 1000`` — the forms
JS7's own tests use (GlobalBoard.singleNotice). JOC's default
``match(orderId, …)`` is a function the reference does not evaluate.

What must hold: a Board whose expression the reference cannot evaluate, or
a ``PlannableBoard`` (the daily plan's), is refused when it is added
(``InvalidItem`` naming the field), never accepted and then evaluated
differently; what an expression gives at run time that is no NoticeKey or
no end of life is a problem the order fails with (JS7: the instruction's
``Left(problem)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.common import expression
from components.common.subagent_items import invalid
from components.wire import notice as nw
from components.wire.codec import convert, to_json

BOARD_TYPES = ("GlobalBoard", "Board", "PlannableBoard")
EXPRESSIONS = ("postOrderToNoticeKey", "expectOrderToNoticeKey", "endOfLife")


def decode(raw: dict[str, Any]) -> nw.GlobalBoard:
    """A Board item, checked; a ``Problem`` naming the field."""
    if raw.get("TYPE") == "PlannableBoard":
        path = raw.get("path")
        raise invalid(
            f"Board:{path}", "TYPE", "the reference runs GlobalBoards only, no PlannableBoard"
        )
    board: nw.GlobalBoard = convert(nw.modern_board(raw), nw.GlobalBoard, "GlobalBoard")
    if not board.path:
        raise invalid("Board:", "path", "must not be empty")
    for field in EXPRESSIONS:
        try:
            expression.parse(getattr(board, field))
        except expression.UnsupportedExpression as exc:
            raise invalid(f"Board:{board.path}", field, str(exc)) from None
    return board


def canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """The Board's JSON as JS7 2.8 writes it."""
    return dict(to_json(decode(raw)))


def known(items: Mapping[str, Any]) -> dict[str, nw.GlobalBoard]:
    """Board path to Board, of the Controller's simple items."""
    return {
        v["path"]: convert(v, nw.GlobalBoard, "GlobalBoard")
        for v in items.values()
        if v.get("TYPE") == "GlobalBoard"
    }


def scope(
    order: Mapping[str, Any] | None, variables: Mapping[str, Any], now: int
) -> dict[str, Any]:
    """What a Board's expression reads: the order's variables and JS7's
    ``$js7…`` names (JS7's order scope with a NowScope)."""
    out = dict(variables)
    out["js7EpochMilli"] = now
    if order is not None:
        out["js7OrderId"] = order["id"]
        out["js7WorkflowPath"] = order.get("workflowPath") or ""
    return out


def notice_key(board: nw.GlobalBoard, field: str, env: Mapping[str, Any]) -> str:
    """The NoticeKey ``field`` (post or expect) gives; ``ExpressionError``
    when it gives none (JS7: ``evalAsString``, ``GlobalNoticeKey.checked``)."""
    value = expression.evaluate(expression.parse(getattr(board, field)), env)
    if not isinstance(value, str):
        raise expression.ExpressionError(
            f"Board:{board.path} {field}: a NoticeKey is a string, not {value!r}"
        )
    if not value:
        raise expression.ExpressionError(f"Board:{board.path} {field}: the NoticeKey is empty")
    return value


def end_of_life(board: nw.GlobalBoard, env: Mapping[str, Any]) -> int:
    """The Notice's end of life in epoch ms (``asLongIgnoreFraction``)."""
    value = expression.evaluate(expression.parse(board.endOfLife), env)
    if not expression.is_number(value):
        raise expression.ExpressionError(
            f"Board:{board.path} endOfLife: epoch milliseconds expected, not {value!r}"
        )
    return int(value)
