"""JS7's order positions: where in a (nested) workflow an order stands.

A position is a JSON array of odd length: instruction numbers with the
branch taken between them — ``[0]``, ``[1, "then", 0]``, ``[2, "try+0", 1]``,
``[2, "catch+0", 0]`` (js7-data/shared/src/main/scala/js7/data/workflow/
position/PositionOrLabel.scala:147-176; PositionOrLabelTest.scala:20-26).
Its text form is JS7's ``toString``: ``0``, ``0/BRANCH:1``
(PositionOrLabelTest.scala:73-75).

Branch ids as JS7 writes them (BranchId.scala:49-95, BranchIdTest.scala:20-31):
``then`` for the first ``ifThens`` entry, ``then+2``, ``then+3`` … for the
next; ``else``; ``try+N`` and ``catch+N`` for the N-th retry of a ``Try``
(``try``/``catch`` without a number, as older workflows wrote them, count
as 0, TryCatchBranchId.scala); ``fork+ID`` for a Fork's branch ``ID``
(BranchId.scala ``ForkPrefix``, ForkTest.scala:114-116); ``fork`` for a
ForkList's block (ForkListTest.scala:121-128).

What must hold: parsing accepts exactly what JS7's decoder accepts, and
``Position.parse(p.to_json()) == p``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.common.web import Problem

THEN, ELSE = "then", "else"
FORK_PREFIX = "fork+"
FORK_LIST = "fork"  # the block of a ForkList instruction (BranchId.scala ForkList)
LOCK = "lock"  # the block of a Lock instruction (BranchId.scala:60)
_TRY = re.compile(r"try(?:\+([0-9]+))?\Z")
_CATCH = re.compile(r"catch(?:\+([0-9]+))?\Z")


def then_branch(index: int) -> str:
    """The branch of the ``index``-th (1-based) ``ifThens`` entry (BranchId.scala:77-81)."""
    return THEN if index == 1 else f"then+{index}"


def try_branch(retry: int) -> str:
    return f"try+{retry}"


def catch_branch(retry: int) -> str:
    return f"catch+{retry}"


def fork_branch(branch_id: str) -> str:
    return FORK_PREFIX + branch_id


def fork_branch_id(branch: str | None) -> str | None:
    """ID of ``fork+ID``; None for any other branch."""
    if branch is None or not branch.startswith(FORK_PREFIX):
        return None
    return branch[len(FORK_PREFIX) :]


def is_fork_branch(branch: str | None) -> bool:
    """A Fork's or a ForkList's branch: a failure boundary, its end joinable."""
    return branch == FORK_LIST or fork_branch_id(branch) is not None


def try_index(branch: str) -> int | None:
    """N of ``try+N`` (``try`` is 0); None for any other branch."""
    m = _TRY.match(branch)
    return None if m is None else int(m.group(1) or 0)


def catch_index(branch: str) -> int | None:
    """N of ``catch+N`` (``catch`` is 0); None for any other branch."""
    m = _CATCH.match(branch)
    return None if m is None else int(m.group(1) or 0)


def is_then_or_else(branch: str) -> bool:
    return branch in (ELSE, THEN) or branch.startswith("then+")


class InvalidPosition(Problem):
    def __init__(self, value: Any, why: str) -> None:
        super().__init__(400, "InvalidPosition", f"position {value!r}: {why}")


@dataclass(frozen=True, order=True)
class Position:
    """``branch_path``: (instruction number, branch id) from the outermost
    block inwards; ``nr``: the instruction in the innermost block."""

    branch_path: tuple[tuple[int, str], ...]
    nr: int

    @classmethod
    def first(cls) -> Position:
        return cls((), 0)

    @classmethod
    def parse(cls, value: Any) -> Position:
        """JS7's decoder: an array ``[nr, branch, nr, …, nr]``, numbers >= 0."""
        if not isinstance(value, list):
            raise InvalidPosition(value, "Position must be a JSON array")
        if len(value) % 2 == 0:
            raise InvalidPosition(value, "JSON array size must be 2*n + 1")
        for i, part in enumerate(value):
            if i % 2 == 0:
                if not isinstance(part, int) or isinstance(part, bool) or part < 0:
                    raise InvalidPosition(value, "InstructionNr (a small integer) expected")
            elif not isinstance(part, str):
                raise InvalidPosition(value, "BranchId (a string) expected in position array")
        path = tuple((value[i], value[i + 1]) for i in range(0, len(value) - 1, 2))
        return cls(path, value[-1])

    def to_json(self) -> list[Any]:
        out: list[Any] = []
        for nr, branch in self.branch_path:
            out += [nr, branch]
        return [*out, self.nr]

    def __str__(self) -> str:
        return "".join(f"{nr}/{branch}:" for nr, branch in self.branch_path) + str(self.nr)

    @property
    def parent(self) -> Position | None:
        """The position of the instruction whose block holds this one."""
        if not self.branch_path:
            return None
        *outer, (nr, _) = self.branch_path
        return Position(tuple(outer), nr)

    @property
    def branch(self) -> str | None:
        """The branch id of the innermost block; None in the outermost."""
        return self.branch_path[-1][1] if self.branch_path else None

    def increment(self) -> Position:
        return Position(self.branch_path, self.nr + 1)

    def child(self, branch: str, nr: int = 0) -> Position:
        """``self / branch % nr``: the ``nr``-th instruction of one of this
        instruction's blocks."""
        return Position((*self.branch_path, (self.nr, branch)), nr)

    @property
    def try_count(self) -> int:
        """Which try of the innermost Try this is, 1-based; 0 outside a Try.
        Looks through then/else blocks only (BranchPath.scala:142-147)."""
        for _, branch in reversed(self.branch_path):
            n = try_index(branch)
            if n is None:
                n = catch_index(branch)
            if n is not None:
                return n + 1
            if not is_then_or_else(branch):
                return 0
        return 0

    def next_retry_position(self) -> Position | None:
        """Where ``Retry`` in a catch block moves to: the first instruction of
        the next try block (PositionOrLabel.scala:75-92). A try block passes
        the search on outwards, then/else are looked through, anything else is
        a barrier; None when not in a catch block."""
        pos: Position | None = self
        while pos is not None and pos.branch_path:
            parent = pos.parent
            assert parent is not None
            branch = pos.branch_path[-1][1]
            n = catch_index(branch)
            if n is not None:
                return parent.child(try_branch(n + 1), 0)
            if try_index(branch) is None and not is_then_or_else(branch):
                return None
            pos = parent
        return None
