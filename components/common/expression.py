"""JS7's expression language, the subset the reference evaluates.

Workflows write expressions as strings: ``If``'s ``predicate``, ``Fail``'s
``message``, ``Sleep``'s ``duration``, ``Prompt``'s ``question``. The grammar
and its precedence are JS7's (js7-data/shared/src/main/scala/js7/data/value/
expression/ExpressionParser.scala:269-370), from loosest to tightest::

    ||   &&   == !=   < <= > >=   + - ++   * /   ! -(prefix)   factor

Factors: ``(…)``, ``true``/``false``, numbers, ``'single quoted'`` strings
(no escapes), ``"double quoted"`` strings with ``\\``-escapes and ``$name`` /
``${name}`` interpolation, and order variables ``$name`` / ``${name}``
(``$returnCode`` is the last job's return code, JS7's ``LastReturnCode``).

What must hold: an expression outside this subset (``in``, ``matches``,
``if … then … else``, functions, lists, objects, ``?``, ``missing``) is
refused when the workflow is added — a problem naming what the reference
cannot evaluate — never evaluated wrongly; a value of the wrong type at run
time is an ``ExpressionError`` (the order fails with it, as in JS7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Value = bool | int | float | Decimal | str


class ExpressionError(Exception):
    """Evaluation failed: an unknown variable, or a value of the wrong type."""


class UnsupportedExpression(Exception):
    """The expression is no JS7 expression, or none the reference evaluates."""


@dataclass(frozen=True)
class Const:
    value: Value


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Interpolated:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr


Expr = Const | Var | Interpolated | Unary | Binary

# Binary operators by precedence level, loosest first (ExpressionParser.scala:321-354).
LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<=", ">=", "<", ">"),
    ("++", "+", "-"),
    ("*", "/"),
)
UNSUPPORTED_WORDS = ("in", "matches", "if", "then", "else", "missing", "error", "argument")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>[0-9]+(?:\.[0-9]+)?)
    | (?P<var>\$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\}))
    | (?P<single>'[^']*')
    | (?P<double>"(?:[^"\\]|\\.)*")
    | (?P<op>\|\||&&|==|!=|<=|>=|\+\+|[<>+\-*/!()])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"\\": "\\", '"': '"', "t": "\t", "r": "\r", "n": "\n", "$": "$"}
_INTERPOLATED = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


def parse(text: str) -> Expr:
    """Parse ``text``; raises ``UnsupportedExpression`` naming the problem."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    expr = parser.expression(0)
    if parser.i != len(tokens):
        raise UnsupportedExpression(
            f"Error in expression {text!r}: unexpected {tokens[parser.i][1]!r}"
        )
    return expr


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:  # only trailing blanks are left
            break
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None
        value = m.group(kind)
        tokens.append((kind, value))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _fail(self, why: str) -> UnsupportedExpression:
        return UnsupportedExpression(f"Error in expression {self.text!r}: {why}")

    def expression(self, level: int) -> Expr:
        if level == len(LEVELS):
            return self._prefix()
        left = self.expression(level + 1)
        while (t := self._peek()) is not None and t[0] == "op" and t[1] in LEVELS[level]:
            self.i += 1
            left = Binary(t[1], left, self.expression(level + 1))
        if (t := self._peek()) is not None and t[0] == "word" and t[1] in UNSUPPORTED_WORDS:
            raise self._fail(f"the reference does not evaluate '{t[1]}'")
        return left

    def _prefix(self) -> Expr:
        t = self._peek()
        if t is not None and t[0] == "op" and t[1] in ("!", "-"):
            self.i += 1
            return Unary(t[1], self._prefix())
        return self._factor()

    def _factor(self) -> Expr:
        t = self._peek()
        if t is None:
            raise self._fail("unexpected end")
        self.i += 1
        kind, value = t
        if kind == "number":
            return Const(int(value) if value.isdigit() else Decimal(value))
        if kind == "var":
            return Var(value[1:].strip("{}"))
        if kind == "single":
            return Const(value[1:-1])
        if kind == "double":
            return self._interpolated(value[1:-1])
        if kind == "word" and value in ("true", "false"):
            return Const(value == "true")
        if kind == "op" and value == "(":
            inner = self.expression(0)
            if self._peek() != ("op", ")"):
                raise self._fail("')' expected")
            self.i += 1
            return inner
        if kind == "word":
            raise self._fail(f"the reference does not evaluate '{value}'")
        raise self._fail(f"unexpected {value!r}")

    def _interpolated(self, body: str) -> Expr:
        parts: list[Expr] = []
        text = ""
        i = 0
        while i < len(body):
            ch = body[i]
            if ch == "\\":
                esc = body[i + 1 : i + 2]
                if esc not in _ESCAPES:
                    raise self._fail(f"unknown escape \\{esc} in a string")
                text += _ESCAPES[esc]
                i += 2
            elif ch == "$":
                m = re.compile(
                    r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})"
                ).match(body, i)
                if m is None:
                    raise self._fail("the reference interpolates $name and ${name} only")
                if text:
                    parts.append(Const(text))
                    text = ""
                parts.append(Var(m.group(1) or m.group(2)))
                i = m.end()
            else:
                text += ch
                i += 1
        if text or not parts:
            parts.append(Const(text))
        return (
            parts[0]
            if len(parts) == 1 and isinstance(parts[0], Const)
            else Interpolated(tuple(parts))
        )


# -- evaluation -----------------------------------------------------------------


def is_number(v: Any) -> bool:
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


def to_string(v: Any) -> str:
    """JS7's string form of a value (numbers without a needless fraction)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal | float) and v == int(v):
        return str(int(v))
    return str(v)


def to_json(v: Value) -> Any:
    """A value as JSON (a decimal as a number)."""
    if isinstance(v, Decimal):
        return int(v) if v == int(v) else float(v)
    return v


def evaluate(expr: Expr, variables: Mapping[str, Any]) -> Value:
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var):
        if expr.name not in variables:
            raise ExpressionError(f"No such named value: {expr.name}")
        value = variables[expr.name]
        if not (isinstance(value, str | bool) or is_number(value)):
            raise ExpressionError(
                f"${expr.name}: the reference evaluates no {type(value).__name__}"
            )
        return value
    if isinstance(expr, Interpolated):
        return "".join(to_string(evaluate(p, variables)) for p in expr.parts)
    if isinstance(expr, Unary):
        v = evaluate(expr.operand, variables)
        if expr.op == "!":
            return not _boolean(v, "!")
        return -_number(v, "-")
    return _binary(expr, variables)


def _binary(expr: Binary, variables: Mapping[str, Any]) -> Value:
    op = expr.op
    a = evaluate(expr.left, variables)
    if op in ("&&", "||"):
        if _boolean(a, op) == (op == "||"):
            return a
        return _boolean(evaluate(expr.right, variables), op)
    b = evaluate(expr.right, variables)
    if op in ("==", "!="):
        same = type(a) is type(b) or (is_number(a) and is_number(b))
        return (same and a == b) == (op == "==")
    if op == "++":
        return to_string(a) + to_string(b)
    if op in ("<", "<=", ">", ">="):
        x: Any
        y: Any
        if isinstance(a, str) and isinstance(b, str):
            x, y = a, b
        elif is_number(a) and is_number(b):
            x, y = Decimal(str(a)), Decimal(str(b))
        else:
            raise ExpressionError(f"{to_string(a)} {op} {to_string(b)}: types do not compare")
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
    m, n = Decimal(str(_number(a, op))), Decimal(str(_number(b, op)))
    if op == "/" and n == 0:
        raise ExpressionError("Division by zero")
    result = {"+": m + n, "-": m - n, "*": m * n, "/": m / n if n else m}[op]
    return int(result) if result == int(result) else result


def _boolean(v: Value, op: str) -> bool:
    if not isinstance(v, bool):
        raise ExpressionError(f"'{op}' expects a boolean, not {to_string(v)!r}")
    return v


def _number(v: Value, op: str) -> int | float | Decimal:
    if not is_number(v):
        raise ExpressionError(f"'{op}' expects a number, not {to_string(v)!r}")
    return v  # type: ignore[return-value]


def evaluate_boolean(expr: Expr, variables: Mapping[str, Any]) -> bool:
    return _boolean(evaluate(expr, variables), "predicate")
