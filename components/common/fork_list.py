"""What JS7's ``ForkList`` instruction evaluates: its ``children`` list and
the functions ``childToId`` and ``childToArguments`` (ExprFunction), the
reference's subset (ForkList.scala, ForkListExecutor.scala; v2.8.0).

``children``: an order variable holding a list (``$children``) or a list
literal (``['a', 'b']``). A function: ``element => BODY`` or ``(element,
index) => BODY`` (``childToArguments`` may take none: ``() => {}``), its
parameters read as ``$element``/``$index``; ``childToId``'s BODY is an
expression of the reference's subset (``components/common/expression.py``),
``childToArguments``' an object literal ``{name: expression, …}``. So the
list's elements are strings, numbers or booleans: JS7's ``$element.field``
over objects is an expression the reference does not evaluate.

What must hold: what is outside this subset is refused when the workflow is
added (``UnsupportedExpression``, naming the field), never evaluated
differently; at run time a value of the wrong kind, or two children with
one id, is an ``ExpressionError`` the order fails with, as in JS7.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.common import expression

_FUNCTION = re.compile(r"\s*(?:\(\s*([^()]*?)\s*\)|([A-Za-z_][A-Za-z0-9_]*))\s*=>(.*)\Z", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEY = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|'([^']*)'|\"([^\"]*)\")\s*:(.*)\Z", re.S)


@dataclass(frozen=True)
class Function:
    """``params => body``; ``body`` an expression or, for an object literal,
    its fields in order."""

    params: tuple[str, ...]
    body: expression.Expr | tuple[tuple[str, expression.Expr], ...]


@dataclass(frozen=True)
class Children:
    """``$name``: the order variable's list; else the literal's elements."""

    variable: str | None
    elements: tuple[expression.Expr, ...] = ()


def parse_children(text: str) -> Children:
    stripped = text.strip()
    if stripped.startswith("["):
        if not stripped.endswith("]"):
            raise expression.UnsupportedExpression(f"a list without its ']': {text!r}")
        parts = _split_top_level(stripped[1:-1])
        return Children(None, tuple(expression.parse(p) for p in parts))
    parsed = expression.parse(stripped)
    if not isinstance(parsed, expression.Var):
        raise expression.UnsupportedExpression(
            f"the reference forks over an order variable ($name) or a list literal, not {text!r}"
        )
    return Children(parsed.name)


def parse_function(text: str, field: str, minimum: int, maximum: int) -> Function:
    """JS7's ExprFunction with ``restrict(field, minimum, maximum)``
    (ForkList.scala:26-30: the message is JS7's)."""
    m = _FUNCTION.match(text)
    if m is None:
        raise expression.UnsupportedExpression(f"{field}: a function 'x => …' expected: {text!r}")
    raw_params = m.group(1) if m.group(1) is not None else m.group(2)
    params = tuple(p.strip() for p in raw_params.split(",")) if raw_params.strip() else ()
    if not all(_NAME.match(p) for p in params):
        raise expression.UnsupportedExpression(f"{field}: bad parameters in {text!r}")
    if not minimum <= len(params) <= maximum:
        raise expression.UnsupportedExpression(
            f"The '{field}' function is expected to accept between {minimum} and {maximum} "
            "parameters"
        )
    body = m.group(3).strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise expression.UnsupportedExpression(f"{field}: an object without its '}}'")
        return Function(params, _object(body[1:-1], field))
    return Function(params, expression.parse(body))


def _object(inner: str, field: str) -> tuple[tuple[str, expression.Expr], ...]:
    out: list[tuple[str, expression.Expr]] = []
    for part in _split_top_level(inner):
        m = _KEY.match(part)
        if m is None:
            raise expression.UnsupportedExpression(
                f"{field}: 'name: expression' expected: {part!r}"
            )
        name = next(g for g in m.groups()[:3] if g is not None)
        if any(name == other for other, _ in out):
            raise expression.UnsupportedExpression(f"{field}: '{name}' twice")
        out.append((name, expression.parse(m.group(4))))
    return tuple(out)


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside quotes and brackets."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    last = text[start:]
    if last.strip() or parts:
        parts.append(last)
    if any(not p.strip() for p in parts):
        raise expression.UnsupportedExpression(f"an empty element in {text!r}")
    return parts


def elements(children: Children, env: Mapping[str, Any]) -> list[Any]:
    """The list to fork over (``evalAsVector``)."""
    if children.variable is None:
        return [expression.evaluate(e, env) for e in children.elements]
    if children.variable not in env:
        raise expression.ExpressionError(f"No such named value: {children.variable}")
    value = env[children.variable]
    if not isinstance(value, list):
        raise expression.ExpressionError(f"${children.variable} is no list: {value!r}")
    return value


def call(fn: Function, element: Any, index: int, env: Mapping[str, Any]) -> Any:
    """``fn(element, index)``: a value, or an object (a dict) of values."""
    inner = dict(env)
    inner.update(zip(fn.params, (element, index), strict=False))
    if isinstance(fn.body, tuple):
        return {name: expression.to_json(expression.evaluate(e, inner)) for name, e in fn.body}
    return expression.evaluate(fn.body, inner)


def children_of(
    order_id: str,
    children: Children,
    child_to_id: Function,
    child_to_arguments: Function,
    env: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """``OrderForked``'s children: ``{"orderId": "<parent>|<id>", "arguments"}``
    per element, in the list's order (ForkListExecutor.scala:17-40)."""
    values = elements(children, env)
    ids = [expression.to_string(call(child_to_id, v, i, env)) for i, v in enumerate(values)]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise expression.ExpressionError(f"Duplicate child IDs: {', '.join(dups)}")
    out = []
    for i, (cid, v) in enumerate(zip(ids, values, strict=True)):
        if not cid or "|" in cid:
            raise expression.ExpressionError(f"a child ID is not empty and has no '|': {cid!r}")
        child: dict[str, Any] = {"orderId": f"{order_id}|{cid}"}
        arguments = call(child_to_arguments, v, i, env)
        if arguments:
            child["arguments"] = arguments
        out.append(child)
    return out
