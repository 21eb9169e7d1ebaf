"""Workflows in JS7's JSON shape: a block of instructions, nested.

The reference runs ``Execute.Anonymous`` (its job inline) and
``Execute.Named`` (one of the workflow's ``jobs``) with the executables
``ShellScriptExecutable``, ``CommandLineExecutable``, ``PathExecutable``
(relative to the Agent's ``config/executables``) and its own
``InternalExecutable`` classes, each with its ``returnCodeMeaning``
(js7-data/.../workflow/instructions/ExecuteTest.scala, job/ExecutableTest.scala,
job/ReturnCodeMeaningTest.scala); and ``If`` (``ifThens``, ``else``), ``Try``
(``try``, ``catch``, ``retryDelays``, ``maxTries``), ``Retry``, ``Fail``
(``message``, ``namedValues``, ``uncatchable``), ``Finish`` (``outcome``),
``Sleep`` (``duration``), ``Prompt`` (``question``), ``Fork`` (``branches``
of ``{"id", "workflow": {"instructions", "result"}}``, ``agentPath``,
``joinIfFailed``), ``Lock`` (``demands`` of ``{lockPath, count}`` — or 2.4's
``lockPath``/``count`` — and ``lockedWorkflow``) and ``End``, as JS7's codec
tests write them (instructions/IfTest.scala, TryInstructionTest.scala,
RetryTest.scala, FailTest.scala, FinishTest.scala, SleepTest.scala,
PromptTest.scala, ForkTest.scala, LockInstructionTest.scala)::

    {"TYPE": "Workflow", "path": "w1", "versionId": "1",
     "instructions": [
       {"TYPE": "If", "ifThens": [{"predicate": "$x == 1",
                                   "then": {"instructions": [{"TYPE": "Fail"}]}}]},
       {"TYPE": "Execute.Anonymous",
        "job": {"agentPath": "agent-1",
                "executable": {"TYPE": "ShellScriptExecutable", "script": "echo hi"}}}]}

What must hold: a workflow is refused as a whole (``InvalidWorkflow``, naming
the instruction's position) when it has an instruction or an expression the
reference does not run — never accepted and then run differently. What each
instruction does to an order is ``components/common/instructions.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.common import board_paths as bp
from components.common import expression, fork_list
from components.common.position import (
    ELSE,
    FORK_LIST,
    LOCK,
    Position,
    catch_branch,
    catch_index,
    fork_branch,
    then_branch,
    try_branch,
    try_index,
)
from components.common.web import Problem

INTERNAL_CLASSES = ("js7ha.Noop", "js7ha.Echo", "js7ha.Sleep", "js7ha.Fail")


@dataclass(frozen=True)
class ReturnCodeMeaning:
    """Which return codes mean success (``success``) or failure (not)."""

    success: bool
    codes: tuple[tuple[int, int], ...]

    def succeeded(self, return_code: int) -> bool:
        listed = any(lo <= return_code <= hi for lo, hi in self.codes)
        return listed if self.success else not listed


@dataclass(frozen=True)
class Job:
    agent_path: str
    executable: dict[str, Any]
    return_code_meaning: ReturnCodeMeaning = ReturnCodeMeaning(True, ((0, 0),))
    # JS7's WorkflowJob.subagentBundleId, encoded as "subagentBundleIdExpr":
    # which Subagent cluster runs the job (None: the Director's own Subagent).
    subagent_bundle: expression.Expr | None = None
    is_not_restartable: bool = False


@dataclass(frozen=True)
class Execute:
    job: Job


@dataclass(frozen=True)
class If:
    """``ifThens``: (predicate, block) in order; ``else_``: the else block."""

    if_thens: tuple[tuple[expression.Expr, Block], ...]
    else_: Block | None


@dataclass(frozen=True)
class Try:
    try_: Block
    catch: Block
    retry_delays: tuple[float, ...] | None = None
    max_tries: int | None = None

    def retry_delay(self, index: int) -> float:
        """Seconds before the ``index``-th retry (1-based): the index-th
        delay, the last one when there are fewer; 0 without delays
        (TryInstructionTest.scala:166-177)."""
        if not self.retry_delays:
            return 0.0
        return self.retry_delays[min(index, len(self.retry_delays)) - 1]


@dataclass(frozen=True)
class Retry:
    pass


@dataclass(frozen=True)
class Fail:
    message: expression.Expr | None = None
    named_values: dict[str, Any] | None = None
    uncatchable: bool = False


@dataclass(frozen=True)
class Finish:
    outcome: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sleep:
    duration: expression.Expr


@dataclass(frozen=True)
class Prompt:
    question: expression.Expr


@dataclass(frozen=True)
class ForkBranch:
    """One branch: its id (``fork+<id>`` in positions, ``<parent>|<id>`` the
    child order's id) and its block; ``result``: name to expression,
    evaluated in the child when the children are joined (Fork.scala:118-120)."""

    id: str
    block: Block
    result: tuple[tuple[str, expression.Expr], ...] = ()


@dataclass(frozen=True)
class Fork:
    """JS7's ``Fork`` (Fork.scala:24-29): the order waits while one child
    order per branch runs that branch; ``joinIfFailed``: a child that fails
    is joined (``OrderFailedInFork``) instead of staying failed."""

    branches: tuple[ForkBranch, ...]
    agent_path: str | None = None
    join_if_failed: bool = False


@dataclass(frozen=True)
class ForkList:
    """JS7's ``ForkList`` (ForkList.scala): one child order per element of
    ``children`` (``<parent>|<childToId>``, with ``childToArguments``), each
    running ``block`` (branch ``fork``); ``result``: name to expression,
    evaluated in each child, joined as a list per name."""

    children: fork_list.Children
    child_to_id: fork_list.Function
    child_to_arguments: fork_list.Function
    block: Block
    result: tuple[tuple[str, expression.Expr], ...] = ()
    agent_path: str | None = None
    join_if_failed: bool = False


@dataclass(frozen=True)
class LockDemand:
    """``count`` None: exclusive; else that many of the Lock's ``limit``."""

    lock_path: str
    count: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"lockPath": self.lock_path} | ({} if self.count is None else {"count": self.count})


@dataclass(frozen=True)
class Lock:
    """JS7's ``Lock`` instruction (LockInstruction.scala): the order runs
    ``block`` (branch ``lock``) holding every demanded Lock."""

    demands: tuple[LockDemand, ...]
    block: Block

    @property
    def lock_paths(self) -> list[str]:
        return [d.lock_path for d in self.demands]


@dataclass(frozen=True)
class PostNotices:
    """JS7's ``PostNotices`` (PostNotices.scala; 2.3's ``PostNotice`` with one
    ``boardPath``): the order posts a Notice to each Board, at the Controller."""

    board_paths: tuple[str, ...]


@dataclass(frozen=True)
class ExpectNotices:
    """JS7's ``ExpectNotices`` (ExpectNotices.scala; 2.3's ``ExpectNotice``):
    the order waits at the Controller until ``board_paths`` holds over the
    Notices there; ``when_not_announced``: ``Wait``, ``SkipWhenNoNotice`` or
    ``DontWait`` (ExpectOrConsumeNoticesInstruction.scala:62-75)."""

    board_paths: bp.BoardExpr
    when_not_announced: str = "Wait"


@dataclass(frozen=True)
class End:
    """JS7's ``End`` (``ImplicitEnd`` as JS7 serialises it too): the end of its block."""


Instruction = (
    Execute
    | If
    | Try
    | Retry
    | Fail
    | Finish
    | Sleep
    | Prompt
    | Fork
    | ForkList
    | Lock
    | PostNotices
    | ExpectNotices
    | End
)
WHEN_NOT_ANNOUNCED = ("Wait", "SkipWhenNoNotice", "DontWait")
Block = tuple[Instruction, ...]

# JS7 2.8's other instructions (js7-data/shared/src/main/scala/js7/data/
# workflow/instructions/Instructions.scala:11-39): refused by name.
NOT_RUN = (
    "AddOrder",
    "AdmissionTime",
    "Break",
    "BreakOrder",
    "ConsumeNotices",
    "Cycle",
    "EmptyInstruction",
    "Gap",
    "Options",
    "Say",
    "StickySubagent",
    "Stop",
)


@dataclass(frozen=True)
class Workflow:
    path: str
    version_id: str
    instructions: Block
    raw: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.path}~{self.version_id}"

    @property
    def id_json(self) -> dict[str, str]:
        return {"path": self.path, "versionId": self.version_id}

    def block(self, branch_path: tuple[tuple[int, str], ...]) -> Block:
        """The block a branch path leads to; ``InvalidPosition`` if none."""
        block = self.instructions
        for nr, branch in branch_path:
            ins = block[nr] if 0 <= nr < len(block) else None
            inner = _branch(ins, branch)
            if inner is None:
                raise Problem(400, "InvalidPosition", f"{self.key} has no block {nr}/{branch}")
            block = inner
        return block

    def instruction(self, position: Position) -> Instruction:
        """The instruction at ``position``; ``End`` past its block's last one."""
        block = self.block(position.branch_path)
        if position.nr > len(block):
            raise Problem(400, "InvalidPosition", f"{self.key} has no position {position}")
        return block[position.nr] if position.nr < len(block) else End()

    def job_at(self, position: Position) -> Job | None:
        """The job at ``position``, None when there is none."""
        ins = self.instruction(position)
        return ins.job if isinstance(ins, Execute) else None

    def check_position(self, position: Position) -> Position:
        self.instruction(position)
        return position

    @property
    def jobs(self) -> list[Job]:
        """Every job of the workflow, in the order the instructions name them."""
        return [ins.job for ins in _walk(self.instructions) if isinstance(ins, Execute)]

    @property
    def lock_paths(self) -> set[str]:
        """The Locks the workflow's Lock instructions demand."""
        return {
            p for ins in _walk(self.instructions) if isinstance(ins, Lock) for p in ins.lock_paths
        }

    @property
    def board_paths(self) -> set[str]:
        """The Boards the workflow's notice instructions name."""
        out: set[str] = set()
        for ins in _walk(self.instructions):
            if isinstance(ins, PostNotices):
                out.update(ins.board_paths)
            elif isinstance(ins, ExpectNotices):
                out.update(bp.board_paths(ins.board_paths))
        return out

    @property
    def agents(self) -> set[str]:
        return {j.agent_path for j in self.jobs}

    @classmethod
    def from_json(cls, data: Any) -> Workflow:
        """Parse and validate; every defect is a 400 problem naming the field."""
        if not isinstance(data, dict) or data.get("TYPE", "Workflow") != "Workflow":
            raise _bad('a workflow is an object {"TYPE":"Workflow", ...}')
        path, version = data.get("path"), data.get("versionId", "1")
        if not isinstance(path, str) or not path or not isinstance(version, str):
            raise _bad("workflow 'path' and 'versionId' must be non-empty strings")
        named = data.get("jobs", {})
        if not isinstance(named, dict):
            raise _bad(f"workflow {path}: 'jobs' must be an object of job name to job")
        block = _Parser(path, named).block(data, "instructions", Position((), 0))
        return cls(path, version, block, {**data, "TYPE": "Workflow", "versionId": version})


def _branch(ins: Instruction | None, branch: str) -> Block | None:
    if isinstance(ins, If):
        if branch == ELSE:
            return ins.else_
        for i, (_, block) in enumerate(ins.if_thens, 1):
            if branch == then_branch(i):
                return block
    elif isinstance(ins, Try):
        if try_index(branch) is not None:
            return ins.try_
        if catch_index(branch) is not None:
            return ins.catch
    elif isinstance(ins, Fork):
        for b in ins.branches:
            if branch == fork_branch(b.id):
                return b.block
    elif (isinstance(ins, Lock) and branch == LOCK) or (
        isinstance(ins, ForkList) and branch == FORK_LIST
    ):
        return ins.block
    return None


def _walk(block: Block) -> Iterator[Instruction]:
    for ins in block:
        yield ins
        if isinstance(ins, If):
            for _, b in ins.if_thens:
                yield from _walk(b)
            if ins.else_ is not None:
                yield from _walk(ins.else_)
        elif isinstance(ins, Try):
            yield from _walk(ins.try_)
            yield from _walk(ins.catch)
        elif isinstance(ins, Fork):
            for branch in ins.branches:
                yield from _walk(branch.block)
        elif isinstance(ins, Lock | ForkList):
            yield from _walk(ins.block)


def _expr_field(obj: dict[str, Any], field: str, where: str) -> expression.Expr:
    text = obj.get(field)
    if not isinstance(text, str):
        raise _bad(f"{where}: '{field}' must be an expression string")
    try:
        return expression.parse(text)
    except expression.UnsupportedExpression as exc:
        raise _bad(f"{where}: {field}: {exc}") from None


def _fork_options(ins: dict[str, Any], whose: str) -> tuple[str | None, bool]:
    """A Fork's or ForkList's ``agentPath`` and ``joinIfFailed``."""
    agent = ins.get("agentPath")
    if agent is not None and not isinstance(agent, str):
        raise _bad(f"{whose} 'agentPath' must be a string")
    join_if_failed = ins.get("joinIfFailed", False)
    if not isinstance(join_if_failed, bool):
        raise _bad(f"{whose} 'joinIfFailed' must be a boolean")
    return agent, join_if_failed


def _bad(msg: str) -> Problem:
    return Problem(400, "InvalidWorkflow", msg)


class _Parser:
    """JSON instructions to the tree, naming the position of every defect."""

    def __init__(self, path: str, named: dict[str, Any]) -> None:
        self.path = path
        self.named = named

    def block(self, holder: Any, field: str, at: Position) -> Block:
        """``holder[field]``: a list of instructions, or a ``{"instructions": …}``
        object as JS7 writes a nested block (IfTest.scala:38-43)."""
        value = holder.get(field) if isinstance(holder, dict) else None
        if isinstance(value, dict) and field != "instructions":
            value = value.get("instructions")
        if not isinstance(value, list):
            raise _bad(f"workflow {self.path} at {at}: '{field}' must be a list of instructions")
        out = []
        for i, raw in enumerate(value):
            pos = Position(at.branch_path, i)
            out.append(self.instruction(raw, pos))
        return tuple(out)

    def _expr(self, ins: dict[str, Any], field: str, where: str) -> expression.Expr:
        return _expr_field(ins, field, where)

    def instruction(self, ins: Any, pos: Position) -> Instruction:
        where = f"workflow {self.path} instruction [{pos}]"
        kind = ins.get("TYPE") if isinstance(ins, dict) else None
        if not isinstance(ins, dict) or not isinstance(kind, str):
            raise _bad(f"{where}: an instruction is an object with a TYPE")
        if kind == "Execute.Anonymous":
            return Execute(_job(ins.get("job"), where, _bad))
        if kind == "Execute.Named":
            name = ins.get("jobName")
            if not isinstance(name, str) or name not in self.named:
                raise _bad(f"{where}: jobName {name!r} is not one of the workflow's jobs")
            return Execute(_job(self.named[name], f"workflow {self.path} job {name!r}", _bad))
        if kind == "If":
            return self._if(ins, pos, where)
        if kind == "Try":
            return self._try(ins, pos, where)
        if kind == "Retry":
            return Retry()
        if kind == "Fail":
            nv = ins.get("namedValues")
            if nv is not None and not isinstance(nv, dict):
                raise _bad(f"{where}: 'namedValues' must be an object")
            message = self._expr(ins, "message", where) if "message" in ins else None
            return Fail(message, nv, ins.get("uncatchable") is True)
        if kind == "Finish":
            outcome = ins.get("outcome")
            if outcome is not None and (
                not isinstance(outcome, dict) or outcome.get("TYPE") not in ("Succeeded", "Failed")
            ):
                raise _bad(f"{where}: Finish's outcome is Succeeded or Failed")
            return Finish(outcome)
        if kind == "Sleep":
            return Sleep(self._expr(ins, "duration", where))
        if kind == "Prompt":
            return Prompt(self._expr(ins, "question", where))
        if kind == "Fork":
            return self._fork(ins, pos, where)
        if kind == "Lock":
            return self._lock(ins, pos, where)
        if kind == "ForkList":
            return self._fork_list(ins, pos, where)
        if kind in ("PostNotices", "PostNotice"):
            return self._post_notices(ins, where)
        if kind in ("ExpectNotices", "ExpectNotice"):
            return self._expect_notices(ins, where)
        if kind in ("End", "ImplicitEnd"):
            return End()
        if kind in NOT_RUN:
            raise _bad(f"{where}: the reference does not run JS7's {kind} instruction")
        raise _bad(f"{where}: {kind!r} is no JS7 instruction")

    def _if(self, ins: dict[str, Any], pos: Position, where: str) -> If:
        # JS7 2.8 writes "ifThens"; up to 2.7.1 "predicate" and "then" (If.scala:125-146).
        raw = ins.get("ifThens")
        if raw is None and "predicate" in ins:
            raw = [{"predicate": ins.get("predicate"), "then": ins.get("then")}]
        if not isinstance(raw, list) or not raw:
            raise _bad(f"{where}: If needs 'ifThens' (or 'predicate' and 'then')")
        if_thens = []
        for i, it in enumerate(raw, 1):
            if not isinstance(it, dict):
                raise _bad(f"{where}: ifThens[{i - 1}] must be an object")
            predicate = self._expr(it, "predicate", where)
            if_thens.append((predicate, self.block(it, "then", pos.child(then_branch(i)))))
        else_ = self.block(ins, "else", pos.child(ELSE)) if ins.get("else") is not None else None
        return If(tuple(if_thens), else_)

    def _try(self, ins: dict[str, Any], pos: Position, where: str) -> Try:
        delays = ins.get("retryDelays")
        if delays is not None and not (
            isinstance(delays, list)
            and all(
                isinstance(d, int | float) and not isinstance(d, bool) and d >= 0 for d in delays
            )
        ):
            raise _bad(f"{where}: 'retryDelays' must be a list of seconds")
        max_tries = ins.get("maxTries")
        if max_tries is not None and (
            not isinstance(max_tries, int) or isinstance(max_tries, bool) or max_tries < 1
        ):
            raise _bad(f"{where}: 'maxTries' must be a number >= 1")
        return Try(
            self.block(ins, "try", pos.child(try_branch(0))),
            self.block(ins, "catch", pos.child(catch_branch(0))),
            None if delays is None else tuple(float(d) for d in delays),
            max_tries,
        )

    def _fork(self, ins: dict[str, Any], pos: Position, where: str) -> Fork:
        """Fork.scala's decoder and ``checked``: unique branch ids, result
        names used once across the branches (Fork.scala:91-112)."""
        raw = ins.get("branches")
        if not isinstance(raw, list):
            raise _bad(f"{where}: Fork needs 'branches', a list of {{id, workflow}}")
        agent, join_if_failed = _fork_options(ins, f"{where}: Fork's")
        branches: list[ForkBranch] = []
        result_owner: dict[str, str] = {}
        for i, b in enumerate(raw):
            bid = b.get("id") if isinstance(b, dict) else None
            # The id becomes part of an OrderId: '|' is OrderId's child separator.
            if not isinstance(bid, str) or not bid or "|" in bid:
                raise _bad(f"{where}: branches[{i}].id must be a non-empty string without '|'")
            if any(other.id == bid for other in branches):
                raise _bad(f"{where}: DuplicatedBranchIdsInForkProblem: branchIds={bid}")
            workflow = b.get("workflow")
            if not isinstance(workflow, dict):
                raise _bad(f"{where}: branches[{i}].workflow must be an object")
            block = self.block(workflow, "instructions", pos.child(fork_branch(bid)))
            result = workflow.get("result") or {}
            if not isinstance(result, dict):
                raise _bad(f"{where}: branches[{i}].workflow.result must be an object")
            for name in result:
                if name in result_owner:
                    raise _bad(
                        f"{where}: Result name '{name}' is used duplicately in Fork branches "
                        f"'{result_owner[name]}' , '{bid}'"
                    )
                result_owner[name] = bid
            exprs = tuple((n, _expr_field(result, n, f"{where}: result")) for n in result)
            branches.append(ForkBranch(bid, block, exprs))
        return Fork(tuple(branches), agent, join_if_failed)

    def _fork_list(self, ins: dict[str, Any], pos: Position, where: str) -> ForkList:
        """ForkList.scala's decoder and ``checked`` (ForkListTest.scala:16-118)."""
        for field in ("children", "childToId", "childToArguments"):
            if not isinstance(ins.get(field), str):
                raise _bad(f"{where}: ForkList needs '{field}', an expression string")
        agent, join_if_failed = _fork_options(ins, f"{where}: ForkList's")
        try:
            children = fork_list.parse_children(ins["children"])
            to_id = fork_list.parse_function(ins["childToId"], "childToId", 1, 2)
            to_arguments = fork_list.parse_function(
                ins["childToArguments"], "childToArguments", 0, 2
            )
        except expression.UnsupportedExpression as exc:
            raise _bad(f"{where}: {exc}") from None
        if isinstance(to_id.body, tuple) or not isinstance(to_arguments.body, tuple):
            raise _bad(
                f"{where}: childToId gives a value, childToArguments an object literal {{…}}"
            )
        workflow = ins.get("workflow")
        if not isinstance(workflow, dict):
            raise _bad(f"{where}: ForkList's 'workflow' must be an object")
        block = self.block(workflow, "instructions", pos.child(FORK_LIST))
        result = workflow.get("result") or {}
        if not isinstance(result, dict):
            raise _bad(f"{where}: ForkList's workflow.result must be an object")
        exprs = tuple((n, _expr_field(result, n, f"{where}: result")) for n in result)
        return ForkList(children, to_id, to_arguments, block, exprs, agent, join_if_failed)

    def _lock(self, ins: dict[str, Any], pos: Position, where: str) -> Lock:
        """LockInstruction.scala's decoder: ``demands``, or 2.4's single
        ``lockPath``/``count``; no Lock twice, counts >= 1
        (LockInstructionTest.scala:15-101)."""
        raw = ins.get("demands")
        if raw is None and "lockPath" in ins:
            raw = [{"lockPath": ins["lockPath"], "count": ins.get("count")}]
        if not isinstance(raw, list) or not raw:
            raise _bad(f"{where}: Lock needs 'demands' (or 'lockPath')")
        demands: list[LockDemand] = []
        for i, d in enumerate(raw):
            path = d.get("lockPath") if isinstance(d, dict) else None
            if not isinstance(path, str) or not path:
                raise _bad(f"{where}: demands[{i}].lockPath must be a non-empty string")
            count = d.get("count")
            if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
                raise _bad(f"{where}: demands[{i}].count must be a number")
            if count is not None and count < 1:
                raise _bad(f"{where}: LockDemand.count must not be below 1 for Lock:{path}")
            if any(other.lock_path == path for other in demands):
                # JS7's message, with its multiplication sign.
                raise _bad(f"{where}: Unexpected duplicates: 2×Lock:{path}")  # noqa: RUF001
            demands.append(LockDemand(path, count))
        block = self.block(ins, "lockedWorkflow", pos.child(LOCK))
        return Lock(tuple(demands), block)

    def _post_notices(self, ins: dict[str, Any], where: str) -> PostNotices:
        """``boardPaths``, each once (PostNoticesTest.scala:12-27); 2.3's
        ``PostNotice`` names one ``boardPath`` (PostNoticeTest.scala)."""
        raw = ins.get("boardPaths") if "boardPaths" in ins else [ins.get("boardPath")]
        if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
            raise _bad(f"{where}: PostNotices needs 'boardPaths', a list of BoardPaths")
        for p in raw:
            if raw.count(p) > 1:
                raise _bad(f"{where}: Unexpected duplicates: {raw.count(p)}×Board:{p}")  # noqa: RUF001
        return PostNotices(tuple(raw))

    def _expect_notices(self, ins: dict[str, Any], where: str) -> ExpectNotices:
        """``boardPaths``: a BoardPathExpression (ExpectNoticesTest.scala:14-35);
        2.3's ``ExpectNotice`` names one ``boardPath`` (ExpectNoticeTest.scala)."""
        if "boardPaths" not in ins and isinstance(ins.get("boardPath"), str):
            expr: bp.BoardExpr = bp.Board(ins["boardPath"])
        else:
            text = ins.get("boardPaths")
            if not isinstance(text, str):
                raise _bad(f"{where}: ExpectNotices needs 'boardPaths', an expression string")
            try:
                expr = bp.parse(text)
            except bp.BoardPathSyntax as exc:
                raise _bad(f"{where}: boardPaths: {exc}") from None
        when = ins.get("whenNotAnnounced", "Wait")
        if when not in WHEN_NOT_ANNOUNCED:
            raise _bad(f"{where}: whenNotAnnounced is one of {', '.join(WHEN_NOT_ANNOUNCED)}")
        return ExpectNotices(expr, when)


EXECUTABLES = (
    "ShellScriptExecutable",
    "CommandLineExecutable",
    "PathExecutable",
    "InternalExecutable",
)


def _job(job: Any, where: str, bad: Callable[[str], Problem]) -> Job:
    if not isinstance(job, dict) or not isinstance(job.get("agentPath"), str):
        raise bad(f"{where}: job.agentPath is required")
    exe = job.get("executable")
    if not isinstance(exe, dict):
        raise bad(f"{where}: job.executable is required")
    kind = exe.get("TYPE")
    field = {
        "ShellScriptExecutable": "script",
        "CommandLineExecutable": "command",
        "PathExecutable": "path",
    }.get(str(kind))
    if field is not None:
        if not isinstance(exe.get(field), str) or not exe[field]:
            raise bad(f"{where}: executable.{field} must be a non-empty string")
        if kind == "PathExecutable" and ".." in Path(exe["path"]).parts:
            raise bad(f"{where}: executable.path must not leave the executables directory")
    elif kind == "InternalExecutable":
        if exe.get("className") not in INTERNAL_CLASSES:
            raise bad(f"{where}: className must be one of {', '.join(INTERNAL_CLASSES)}")
    else:
        raise bad(f"{where}: executable TYPE must be one of {', '.join(EXECUTABLES)}")
    return Job(
        job["agentPath"],
        exe,
        parse_return_code_meaning(exe.get("returnCodeMeaning"), where),
        _subagent_bundle(job, where),
        job.get("isNotRestartable") is True,
    )


def _subagent_bundle(job: dict[str, Any], where: str) -> expression.Expr | None:
    """``subagentBundleIdExpr`` (an expression), or the plain id the decoder
    also accepts (``subagentBundleId``; v2.7.1's ``subagentSelectionId``)."""
    for name in ("subagentBundleId", "subagentSelectionId"):
        if isinstance(job.get(name), str):
            return expression.Const(job[name])
    for name in ("subagentBundleIdExpr", "subagentSelectionIdExpr"):
        if name in job:
            return _expr_field(job, name, f"{where}: job")
    return None


def parse_return_code_meaning(value: Any, where: str = "") -> ReturnCodeMeaning:
    """JS7's ``returnCodeMeaning``: ``{"success": …}`` or ``{"failure": …}``,
    each a list of codes and ``[from, to]`` ranges or the same as a string
    (``"0,3..9"``); absent: success is 0."""
    if value is None:
        return ReturnCodeMeaning(success=True, codes=((0, 0),))
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or next(iter(value))
        not in (
            "success",
            "failure",
        )
    ):
        raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning is success or failure")
    key, raw = next(iter(value.items()))
    ranges: list[tuple[int, int]] = []
    items: list[Any]
    if isinstance(raw, str):
        items = []
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            lo, _, hi = part.partition("..")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning {raw!r}")
            items.append([int(lo), int(hi)] if hi else int(lo))
    elif isinstance(raw, list):
        items = raw
    else:
        raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning {raw!r}")
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            ranges.append((item, item))
        elif (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            ranges.append((item[0], item[1]))
        else:
            raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning {raw!r}")
    return ReturnCodeMeaning(success=key == "success", codes=tuple(ranges))
