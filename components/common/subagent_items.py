"""Checking the Subagent items (``SubagentItem``, ``SubagentBundle``,
``AgentRef``) as the Controller accepts and the Agent attaches them.

What must hold: a bundle's priority is a number or an expression the
reference evaluates (over ``$js7SubagentProcessCount`` and
``$js7ClusterProcessCount``), an AgentRef has one or two Directors
(AgentRef.scala L24-36); anything else is a problem naming the field.
"""

from __future__ import annotations

from typing import Any

from components.common import expression
from components.common.web import Problem
from components.wire import subagent as sw
from components.wire.codec import convert

# The scope a priority expression may use (SubagentKeeper.scala L728-753).
PRIORITY_VARIABLES = ("js7SubagentProcessCount", "js7ClusterProcessCount")


class BadPriority(ValueError):
    """A priority that is neither a number nor an expression the reference evaluates."""


def parse_priority(value: Any) -> expression.Expr:
    """A bundle's priority as JSON (number or expression string)."""
    if isinstance(value, bool):
        raise BadPriority(f"{value!r} is neither a number nor an expression")
    if isinstance(value, int | float):
        return expression.Const(value)
    if not isinstance(value, str) or not value.strip():
        raise BadPriority(f"{value!r} is neither a number nor an expression")
    try:
        expr = expression.parse(value)
    except expression.UnsupportedExpression as exc:
        raise BadPriority(str(exc)) from None
    unknown = sorted(_variables(expr) - set(PRIORITY_VARIABLES))
    if unknown:
        raise BadPriority(f"{value!r}: unknown variable ${unknown[0]}")
    return expr


def _variables(expr: expression.Expr) -> set[str]:
    if isinstance(expr, expression.Var):
        return {expr.name}
    if isinstance(expr, expression.Unary):
        return _variables(expr.operand)
    if isinstance(expr, expression.Binary):
        return _variables(expr.left) | _variables(expr.right)
    if isinstance(expr, expression.Interpolated):
        return set().union(*(_variables(p) for p in expr.parts))
    return set()


def invalid(item: str, field: str, why: str) -> Problem:
    return Problem(400, "InvalidItem", f"{item}: {field}: {why}", arguments={"field": field})


def decode_item(raw: Any) -> sw.SimpleItem:
    """A Subagent item from its JSON, checked; a ``Problem`` naming the field."""
    if not isinstance(raw, dict):
        raise Problem(400, "InvalidItem", "an item is a JSON object")
    item = convert(raw, sw.SimpleItem, "UnsignedSimpleItem")
    key = sw.item_key(item)
    if isinstance(item, sw.SubagentBundle):
        for sid, prio in item.subagentToPriority.items():
            try:
                parse_priority(prio)
            except BadPriority as exc:
                raise invalid(key, f"subagentToPriority.{sid}", str(exc)) from None
    if isinstance(item, sw.AgentRef):
        if item.directors and item.uri:
            raise invalid(key, "directors", "directors and uri are mutually exclusive")
        if not item.directors and not item.uri:
            raise invalid(key, "directors", f"Missing Director in {item.path}")
        if len(item.directors) > 2:
            raise invalid(key, "directors", "Not more than two Agent Directors are allowed")
    return item
