"""JS7's ``BoardPathExpression``: which Boards' Notices an ``ExpectNotices``
instruction waits for, as ``'A' || 'B' && 'C'`` (``&&`` binds tighter than
``||``, parentheses group; js7-data/shared/src/main/scala/js7/data/board/
BoardPathExpressionParser.scala).

It is evaluated in three-valued logic (JS7's ``L3``): a Notice is there
(True), announced but not there (False), or neither (Unknown, None here) —
``&&`` and ``||`` as Kleene's (BoardPathExpressionTest.scala:17-47).

What must hold: a text that is no such expression is refused when the
workflow is added (``BoardPathSyntax``), never read as something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

L3 = bool | None  # None: Unknown


class BoardPathSyntax(Exception):
    """The text is no BoardPathExpression."""


@dataclass(frozen=True)
class Board:
    path: str


@dataclass(frozen=True)
class And:
    left: BoardExpr
    right: BoardExpr


@dataclass(frozen=True)
class Or:
    left: BoardExpr
    right: BoardExpr


BoardExpr = Board | And | Or

_TOKEN = re.compile(r"\s*(?:(&&|\|\||\(|\))|'([^']*)'|\"([^\"]*)\")")


def parse(text: str) -> BoardExpr:
    tokens: list[tuple[str, str]] = []
    at = 0
    while text[at:].strip():
        m = _TOKEN.match(text, at)
        if m is None:
            raise BoardPathSyntax(f"unexpected {text[at:].strip()[:20]!r} at {at}")
        op, single, double = m.groups()
        name = single if single is not None else double
        if op is None and not name:
            raise BoardPathSyntax(f"an empty BoardPath at {at}")
        tokens.append(("op", op) if op else ("board", str(name)))
        at = m.end()
    parser = _Parser(tokens)
    expr = parser.or_()
    if parser.i != len(tokens):
        raise BoardPathSyntax(f"unexpected {tokens[parser.i][1]!r}")
    return expr


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def or_(self) -> BoardExpr:
        return self._chain("||", Or, self.and_)

    def and_(self) -> BoardExpr:
        return self._chain("&&", And, self.factor)

    def _chain(
        self, op: str, node: type[And] | type[Or], operand: Callable[[], BoardExpr]
    ) -> BoardExpr:
        """``operand (op operand)*``, left-associative (JS7's ``leftRecurse``)."""
        left = operand()
        while self._peek() == ("op", op):
            self.i += 1
            left = node(left, operand())
        return left

    def factor(self) -> BoardExpr:
        token = self._peek()
        self.i += 1
        if token == ("op", "("):
            inner = self.or_()
            if self._peek() != ("op", ")"):
                raise BoardPathSyntax("a '(' without its ')'")
            self.i += 1
            return inner
        if token is not None and token[0] == "board":
            return Board(token[1])
        raise BoardPathSyntax(f"a quoted BoardPath expected, not {token and token[1]!r}")


def board_paths(expr: BoardExpr) -> list[str]:
    """The Boards named, in their order, each once."""
    if isinstance(expr, Board):
        return [expr.path]
    out = board_paths(expr.left)
    return out + [p for p in board_paths(expr.right) if p not in out]


def evaluate(expr: BoardExpr, available: Mapping[str, L3]) -> L3:
    """Kleene's three-valued ``&&``/``||`` over each Board's availability."""
    if isinstance(expr, Board):
        return available.get(expr.path)
    left, right = evaluate(expr.left, available), evaluate(expr.right, available)
    if isinstance(expr, And):
        if left is False or right is False:
            return False
        return True if left is True and right is True else None
    if left is True or right is True:
        return True
    return False if left is False and right is False else None
