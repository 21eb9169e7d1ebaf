"""What each instruction does to an order: the events JS7 emits for it.

One function, ``next_events``, serves the Agent (``here`` its path) and the
Controller (``here`` None), as JS7's ``OrderEventSource.nextEvents`` does
for both (js7-data/jvm/src/main/scala/js7/data/execution/workflow/
OrderEventSource.scala); ``apply`` is the part of JS7's ``Order.applyEvent``
(js7-data/shared/src/main/scala/js7/data/order/Order.scala) both need.

Where an order may go on alone (JS7's instruction executors,
js7-data/jvm/src/main/scala/js7/data/execution/workflow/instructions/):

* ``If``, ``Try``, ``Retry``, ``Fail``, ``Sleep`` and the end of a nested
  block run wherever the order is — on its Agent without any Controller
  (IfExecutor.scala, TryExecutor.scala, RetryExecutor.scala,
  FailExecutor.scala, SleepExecutor.scala);
* ``Finish``, ``Prompt`` and the end of the workflow need the order at the
  Controller: on an Agent the order becomes ``OrderDetachable`` and waits
  (``detachOrder``/``detach`` in FinishExecutor.scala:21,
  PromptExecutor.scala:19, EndExecutor.scala:23; so do ``Fork``, ``Lock``,
  ``PostNotices`` and ``ExpectNotices`` below, and JS7's ConsumeNotices,
  AddOrder and Stop, which the reference refuses); so does an uncaught failure
  (``OrderFailed`` is Controller-only: OrderEventSource.scala:274, ``atController``);
* ``Execute`` runs on its job's Agent: another Agent's job detaches the
  order; at the Controller the order becomes ``OrderAttachable``.
* ``Fork`` forks at the Controller here: on an Agent the order detaches,
  then ``OrderForked`` creates one child per branch (``<id>|<branch>`` at
  ``[…, nr, "fork+<branch>", 0]``); ``ForkList`` likewise one child per
  element of its list (``<id>|<childToId>`` at ``[…, nr, "fork", 0]``, with
  its ``childToArguments``; ForkListExecutor.scala). A child at its branch's end (or
  ``OrderFailedInFork``) is joinable; on an Agent it detaches first, and
  the Controller joins the parent (``OrderJoined``) when all are
  (ForkInstructionExecutor.scala:138-172). JS7 may fork on an Agent when all
  branches start there (``predictControllerOrAgent``); the reference does
  not — a deliberate difference in where, not in which events.
* ``Lock`` is the Controller's (an Agent detaches the order): the Locks
  are acquired (``OrderLocksAcquired``, into the block ``[nr, "lock", 0]``)
  when every demand can be had — a count of the Lock's ``limit``, or the
  whole Lock without one — else the order queues (``OrderLocksQueued``);
  the block's end, or a failure leaving it, releases them
  (``OrderLocksReleased``) at the Controller (LockExecutor.scala).
* ``PostNotices`` and ``ExpectNotices`` are the Controller's, whose Boards
  hold the Notices (an Agent detaches the order: ``detach`` in
  PostNoticesExecutor.scala and ConsumeOrExpectNoticesExecutor.scala):
  posting emits ``OrderNoticePosted`` per Board, then ``OrderMoved``
  (NoticeEventSource.scala:79-84); expecting reads the Notices when the
  Boards' expression holds (``OrderNoticesRead``, ``OrderMoved``), else the
  order waits (``OrderNoticesExpected`` once) — or, its Notices neither
  there nor announced and ``whenNotAnnounced`` not ``Wait``, moves on with
  the reason ``NoNotice`` (ExpectNotices.scala:27-50).
* A failure does not leave a fork branch: ``OrderFailedInFork`` with the
  Fork's ``joinIfFailed``, else ``OrderFailed`` and the child stays failed,
  its parent forked (OrderEventSource.scala:263-287).

Consecutive moves are one ``OrderMoved`` to where the order comes to rest
(``anticipateNextOrderMoved``, OrderEventSource.scala:592-642).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from components.common import board_paths, expression, fork_list
from components.common.position import (
    ELSE,
    LOCK,
    Position,
    catch_branch,
    is_fork_branch,
    then_branch,
    try_branch,
    try_index,
)
from components.common.workflow import (
    End,
    Execute,
    ExpectNotices,
    Fail,
    Finish,
    Fork,
    ForkList,
    If,
    Job,
    Lock,
    PostNotices,
    Prompt,
    Retry,
    Sleep,
    Try,
    Workflow,
)

Event = dict[str, Any]
MAX_STEPS = 100  # transitions per call: a Retry loop without delay must not hog the node


@dataclass
class Next:
    """The events to journal and what the caller does then.

    ``action``: ``run`` (start ``job`` here), ``wait`` (until ``until``,
    epoch ms, or until woken when None), ``detach`` (an Agent hands the
    order to the Controller; ``OrderDetachable`` is among the events),
    ``attach`` (the Controller sends it to ``agent``; ``OrderAttachable`` is
    among the events), ``lockwait`` (queued for a Lock), ``terminated``
    (``OrderFinished``/``OrderFailed``),
    ``noticewait`` (expecting Notices), ``forked`` (``OrderForked`` is the
    last event: the Controller adds the
    children), ``joinable`` (a child at the Controller that its parent may
    join),
    ``prompted`` (waits for ``AnswerOrderPrompt``), ``continue`` (call again).
    """

    order: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    action: str = "wait"
    job: Job | None = None
    agent: str | None = None
    until: int | None = None


def apply(order: dict[str, Any], event: Event) -> dict[str, Any]:
    """The order's workflow fields after ``event``: ``position``,
    ``started``, ``historicOutcomes`` (JS7's: position and outcome of each
    step and failure), ``outcome`` (the last), ``processed`` (a step ended, not moved on
    yet), ``until``/``delaying`` (asleep, or delaying a retry), ``question``."""
    kind = event["TYPE"]
    o = dict(order)
    if kind == "OrderStarted":
        o["started"] = True
    elif kind == "OrderMoved":
        o.update(position=event["to"], processed=False, until=None, delaying=False)
    elif kind == "OrderProcessingStarted":
        o["processed"] = False
    elif kind in ("OrderProcessed", "OrderOutcomeAdded"):
        o.update(
            outcome=event["outcome"],
            processed=kind == "OrderProcessed" or o.get("processed", False),
            historicOutcomes=[
                *(o.get("historicOutcomes") or []),
                {"position": o["position"], "outcome": event["outcome"]},
            ],
        )
    elif kind == "OrderCaught":
        # JS7 adds the outcome Caught: the failure is handled (Order.scala:215-229).
        caught = {"position": event["movedTo"], "outcome": {"TYPE": "Caught"}}
        o.update(
            position=event["movedTo"],
            outcome=caught["outcome"],
            processed=False,
            historicOutcomes=[*(o.get("historicOutcomes") or []), caught],
        )
    elif kind == "OrderRetrying":
        if "delayedUntil" in event:
            o.update(until=event["delayedUntil"], delaying=True)
        if "movedTo" in event:
            o["position"] = event["movedTo"]
    elif kind == "OrderAwoke":
        o.update(until=None, delaying=False)
    elif kind == "OrderSleeping":
        o["until"] = event["until"]
    elif kind in ("OrderFailed", "OrderFailedInFork"):
        o["position"] = event["movedTo"]
    elif kind == "OrderForked":
        o["children"] = event["children"]
    elif kind == "OrderLocksAcquired":
        o.update(position=Position.parse(o["position"]).child(LOCK).to_json(), lockQueued=False)
    elif kind == "OrderLocksQueued":
        o["lockQueued"] = True
    elif kind == "OrderLocksReleased":
        parent = Position.parse(o["position"]).parent
        assert parent is not None
        o["position"] = parent.increment().to_json()
    elif kind == "OrderJoined":
        # JS7: the Forked order becomes Processed with the join's outcome (Order.scala:254-259).
        o.update(
            children=None,
            outcome=event["outcome"],
            processed=True,
            historicOutcomes=[
                *(o.get("historicOutcomes") or []),
                {"position": o["position"], "outcome": event["outcome"]},
            ],
        )
    elif kind == "OrderNoticesExpected":
        o["expectedNoticeIds"] = event["noticeIds"]
    elif kind == "OrderNoticesRead":
        o["expectedNoticeIds"] = None
    elif kind == "OrderPrompted":
        o["question"] = event["question"]
    elif kind == "OrderPromptAnswered":
        o["question"] = None
    return o


def _process_lost(outcome: Any) -> bool:
    reason = outcome.get("reason") if isinstance(outcome, dict) else None
    return isinstance(reason, dict) and reason.get("TYPE") == "ProcessLost"


def is_failed(outcome: Any) -> bool:
    """JS7's ``Order.isFailed``: a lost process is not a failure — the job
    runs again (Order.scala:681-691)."""
    if not isinstance(outcome, dict) or outcome.get("TYPE") not in ("Failed", "Disrupted"):
        return False
    return not _process_lost(outcome)


def variables(order: dict[str, Any]) -> dict[str, Any]:
    """What ``$name`` reads: the order's arguments, overlaid by what its
    outcomes brought, the latest last (``$returnCode`` is the last job's)."""
    found = dict(order.get("arguments") or {})
    for h in order.get("historicOutcomes") or []:
        found.update(h["outcome"].get("namedValues") or {})
    return found


def disrupted(message: str) -> dict[str, Any]:
    """JS7's ``OrderOutcome.Disrupted(Problem(message))`` (OrderEventTest.scala:414)."""
    return {"TYPE": "Disrupted", "reason": {"TYPE": "Other", "problem": {"message": message}}}


def process_lost(code: str, *, restartable: bool = True) -> dict[str, Any]:
    """The outcome of a step whose process was lost: ``Disrupted(ProcessLost)``
    (OrderOutcomeTest.scala L128-151), which runs the job again — unless the
    job ``isNotRestartable``: then a plain ``Disrupted``, a failure
    (SubagentDirectorState.orderProcessLostIfRestartable, L56-63)."""
    problem = {"code": code, "message": code}
    if not restartable:
        return {"TYPE": "Disrupted", "reason": {"TYPE": "Other", "problem": problem}}
    return {"TYPE": "Disrupted", "reason": {"TYPE": "ProcessLost", "problem": problem}}


def last_outcome(order: dict[str, Any]) -> dict[str, Any]:
    """JS7's ``Order.lastOutcome``: the last historic one, else Succeeded (Order.scala:702)."""
    history = order.get("historicOutcomes") or []
    return history[-1]["outcome"] if history else {"TYPE": "Succeeded"}


def show_outcome(outcome: dict[str, Any]) -> str:
    """JS7's ``OrderOutcome.show`` (OrderOutcome.scala:120-164), for join messages."""
    kind = str(outcome.get("TYPE"))
    if kind == "Succeeded":
        nv = outcome.get("namedValues")
        return f"Succeeded({nv})" if nv else "Succeeded"
    if kind == "Failed":
        parts = [p for p in ("uncatchable" if outcome.get("uncatchable") else None,) if p]
        if outcome.get("message"):
            parts.append(str(outcome["message"]))
        return "Failed" + (f"({', '.join(parts)})" if parts else "")
    return kind


def joined_outcome(
    fork: Fork | ForkList, children: list[tuple[dict[str, Any], bool]]
) -> dict[str, Any]:
    """``OrderJoined``'s outcome for joinable ``children`` (each: the child
    order, whether it was cancelled), in the Fork's branch order: Failed
    naming up to three failed children, else Succeeded with the branches'
    ``result`` values (ForkInstructionExecutor.scala:156-172, ForkExecutor.scala:27-36)."""
    failed = []
    for c, cancelled in children:
        out = last_outcome(c)
        if cancelled:
            failed.append(f"{c['id']} has been cancelled")
        elif out.get("TYPE") not in ("Succeeded", "Caught"):
            failed.append(f"{c['id']} {show_outcome(out)}")
    if failed:
        return {"TYPE": "Failed", "message": ";\n".join(failed[:3])}
    values: dict[str, Any] = {}
    by_branch = {str(c["id"]).rpartition("|")[2]: c for c, _ in children}
    try:
        if isinstance(fork, ForkList):
            # A list per name, the children's values in their order (ForkListExecutor.scala:43-57).
            for name, expr in fork.result:
                values[name] = [
                    expression.to_json(expression.evaluate(expr, variables(c))) for c, _ in children
                ]
        for branch in fork.branches if isinstance(fork, Fork) else ():
            env = variables(by_branch[branch.id])
            for name, expr in branch.result:
                values[name] = expression.to_json(expression.evaluate(expr, env))
    except expression.ExpressionError as exc:
        return {"TYPE": "Failed", "message": str(exc)}  # OrderOutcome.Completed.fromChecked
    return {"TYPE": "Succeeded", "namedValues": values} if values else {"TYPE": "Succeeded"}


# Whether order ``id`` can have every demand of a Lock instruction now: True,
# False (it queues), or JS7's problem why it never can (the order fails).
LockCheck = Callable[[str, Lock], "bool | str"]


class NoticeView(Protocol):
    """The Controller's Boards as an order at a notice instruction sees them;
    a ``str`` answer is JS7's problem (the order fails with it)."""

    def post(self, order: dict[str, Any], boards: tuple[str, ...]) -> list[Event] | str:
        """The ``OrderNoticePosted`` events of ``order`` posting to ``boards``."""
        ...

    def expect(self, order: dict[str, Any], boards: list[str]) -> list[list[str]] | str:
        """The NoticeIds ``[board, key]`` ``order`` expects of ``boards``."""
        ...

    def available(self, notice_id: list[str]) -> board_paths.L3:
        """Whether the Notice is there (True), announced (False) or neither (None)."""
        ...


def leave_lock_blocks(wf: Workflow, order: dict[str, Any]) -> Next:
    """What a cancellation at the Controller emits before ``OrderCancelled``:
    ``OrderLocksReleased`` for each lock block the order is in, innermost
    first, up to its fork branch (JS7's ``leaveBlocks``, OrderEventSource.scala:
    380-411, 680-758)."""
    stepper = _Stepper(wf, order, None, 0, None)
    path = Position.parse(order["position"]).branch_path
    for depth in range(len(path) - 1, -1, -1):
        nr, branch = path[depth]
        if is_fork_branch(branch):
            break
        if branch == LOCK:
            stepper.release(Position(path[:depth], nr))
    return stepper.next


def next_events(
    wf: Workflow,
    order: dict[str, Any],
    *,
    here: str | None,
    now: int,
    locks: LockCheck | None = None,
    notices: NoticeView | None = None,
) -> Next:
    """Move ``order`` as far as it goes without running a job or waiting;
    ``locks``, ``notices``: the Controller's view of its Locks and Boards
    (an Agent never takes a Lock nor sees a Notice)."""
    return _Stepper(wf, order, here, now, locks, notices).run()


class _Stepper:
    def __init__(
        self,
        wf: Workflow,
        order: dict[str, Any],
        here: str | None,
        now: int,
        locks: LockCheck | None,
        notices: NoticeView | None = None,
    ) -> None:
        self.wf = wf
        self.locks = locks
        self.notices = notices
        self.here = here  # an Agent's path; None at the Controller
        self.now = now
        self.next = Next(order)

    @property
    def o(self) -> dict[str, Any]:
        return self.next.order

    def emit(self, event: Event) -> None:
        events = self.next.events
        if event["TYPE"] == "OrderMoved" and events and events[-1]["TYPE"] == "OrderMoved":
            events[-1] = event  # moves in a row are one move
        else:
            events.append(event)
        self.next.order = apply(self.o, event)

    def done(self, action: str, **fields: Any) -> Next:
        self.next.action = action
        for k, v in fields.items():
            setattr(self.next, k, v)
        return self.next

    def run(self) -> Next:
        for _ in range(MAX_STEPS):
            result = self.step()
            if result is not None:
                return result
        return self.done("continue")

    def step(self) -> Next | None:
        """One transition; a ``Next`` when the order comes to rest."""
        pos = Position.parse(self.o["position"])
        until = self.o.get("until")
        if until is not None:
            if self.now < until:
                return self.done("wait", until=until)
            if self.o.get("delaying"):
                # OrderAwoke, then to the next try (Order.scala:1105-1114).
                self.emit({"TYPE": "OrderAwoke"})
                self.move(pos.next_retry_position() or pos.increment())
            else:
                self.move(pos.increment())  # slept enough (SleepExecutor.scala:38-44)
            return None
        if is_failed(self.o.get("outcome")):
            return self.fail(pos, catchable=self.o["outcome"].get("uncatchable") is not True)
        ins = self.wf.instruction(pos)
        if isinstance(ins, Execute):
            return self.execute(pos, ins.job)
        if isinstance(ins, If):
            return self.if_(pos, ins)
        if isinstance(ins, Try):
            self.move(pos.child(try_branch(0)))  # TryExecutor.scala:36-37
            return None
        if isinstance(ins, End):
            return self.end(pos)
        if isinstance(ins, Fork | ForkList):
            return self.fork(pos, ins)
        if isinstance(ins, Lock):
            return self.lock(pos, ins)
        if isinstance(ins, PostNotices | ExpectNotices):
            return self.notice(pos, ins)
        if isinstance(ins, Finish | Prompt) and self.here is not None:
            return self.detach()
        if self.o.get("started") is not True:
            return self.start()
        if isinstance(ins, Retry):
            return self.retry(pos)
        if isinstance(ins, Fail):
            return self.fail_instruction(ins)
        if isinstance(ins, Sleep):
            return self.sleep(pos, ins)
        if isinstance(ins, Finish):
            event: Event = {"TYPE": "OrderFinished"}
            if ins.outcome is not None:
                event["outcome"] = ins.outcome
            self.emit(event)
            return self.done("terminated")
        assert isinstance(ins, Prompt)
        try:
            question = expression.evaluate(ins.question, variables(self.o))
        except expression.ExpressionError as exc:
            self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(str(exc))})
            return None
        self.emit({"TYPE": "OrderPrompted", "question": expression.to_json(question)})
        return self.done("prompted")

    # -- the instructions ---------------------------------------------------

    def move(self, to: Position) -> None:
        self.emit({"TYPE": "OrderMoved", "to": to.to_json()})

    def start(self) -> Next | None:
        """JS7's ``start``: a fresh order starts when it is due
        (EventInstructionExecutor.scala:32-50)."""
        due = self.o.get("scheduledFor")
        if due is not None and self.now < due:
            return self.done("wait", until=due)
        self.emit({"TYPE": "OrderStarted"})
        return None

    def detach(self) -> Next:
        self.emit({"TYPE": "OrderDetachable"})
        return self.done("detach")

    def execute(self, pos: Position, job: Job) -> Next | None:
        if self.o.get("processed"):
            # Succeeded: on to the next instruction. Lost: JS7's explicit
            # OrderMoved to the same position, and the job runs again
            # (ExecuteExecutor.processedEvents: "Repeat").
            lost = _process_lost(self.o.get("outcome"))
            self.move(pos if lost else pos.increment())
            return None
        if self.here is None:
            self.emit({"TYPE": "OrderAttachable", "agentPath": job.agent_path})
            return self.done("attach", agent=job.agent_path)
        if self.here != job.agent_path:
            return self.detach()
        if self.o.get("started") is not True and (waiting := self.start()) is not None:
            return waiting
        return self.done("run", job=job)

    def if_(self, pos: Position, ins: If) -> Next | None:
        """The first predicate that holds picks its ``then`` block, else the
        ``else`` block, else the next instruction (IfExecutor.scala:54-85)."""
        try:
            env = variables(self.o)
            for i, (predicate, _) in enumerate(ins.if_thens, 1):
                if expression.evaluate_boolean(predicate, env):
                    self.move(pos.child(then_branch(i)))
                    return None
        except expression.ExpressionError as exc:
            # JS7 fails the order with the problem (OrderEventSource.scala:215-233).
            self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(str(exc))})
            return None
        self.move(pos.child(ELSE) if ins.else_ is not None else pos.increment())
        return None

    def fork(self, pos: Position, ins: Fork | ForkList) -> Next | None:
        """``OrderForked`` at the Controller — a Fork's child per branch, a
        ForkList's per element of its list; once joined (``processed``), on
        to the next instruction (ForkInstructionExecutor.scala:48-64)."""
        if self.o.get("processed"):
            self.move(pos.increment())
            return None
        if self.here is not None:
            return self.detach()
        if self.o.get("started") is not True and (waiting := self.start()) is not None:
            return waiting
        if isinstance(ins, ForkList):
            try:
                children = fork_list.children_of(
                    str(self.o["id"]),
                    ins.children,
                    ins.child_to_id,
                    ins.child_to_arguments,
                    variables(self.o),
                )
            except expression.ExpressionError as exc:
                self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(str(exc))})
                return None
        else:
            children = [
                {"branchId": b.id, "orderId": f"{self.o['id']}|{b.id}"} for b in ins.branches
            ]
        self.emit({"TYPE": "OrderForked", "children": children})
        return self.done("forked")

    def lock(self, pos: Position, ins: Lock) -> Next | None:
        """At the Controller: ``OrderLocksAcquired`` into the lock block when
        every demand can be had, else ``OrderLocksQueued`` once and wait
        (LockExecutor.scala:14-43)."""
        if self.here is not None:
            return self.detach()
        if self.o.get("started") is not True and (waiting := self.start()) is not None:
            return waiting
        verdict = True if self.locks is None else self.locks(str(self.o.get("id")), ins)
        if isinstance(verdict, str):
            self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(verdict)})
            return None
        demands = [d.to_json() for d in ins.demands]
        if verdict:
            self.emit({"TYPE": "OrderLocksAcquired", "demands": demands})
            return None
        if not self.o.get("lockQueued"):
            self.emit({"TYPE": "OrderLocksQueued", "demands": demands})
        return self.done("lockwait")

    def notice(self, pos: Position, ins: PostNotices | ExpectNotices) -> Next | None:
        """At the Controller: post, or read or wait for, the Boards' Notices
        (PostNoticesExecutor.scala, ConsumeOrExpectNoticesExecutor.scala)."""
        if self.here is not None:
            return self.detach()
        if self.o.get("started") is not True and (waiting := self.start()) is not None:
            return waiting
        if self.notices is None:
            raise RuntimeError("a notice instruction needs the Controller's Boards")
        if isinstance(ins, PostNotices):
            posted = self.notices.post(self.o, ins.board_paths)
            if isinstance(posted, str):
                self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(posted)})
                return None
            for event in posted:
                self.emit(event)
            self.move(pos.increment())
            return None
        ids = self.o.get("expectedNoticeIds") or self.notices.expect(
            self.o, board_paths.board_paths(ins.board_paths)
        )
        if isinstance(ids, str):
            self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(ids)})
            return None
        verdict = board_paths.evaluate(
            ins.board_paths, {board: self.notices.available([board, key]) for board, key in ids}
        )
        if verdict is True:
            self.emit({"TYPE": "OrderNoticesRead"})
            self.move(pos.increment())
            return None
        if verdict is None and ins.when_not_announced != "Wait":
            self.emit({"TYPE": "OrderNoticesRead"})
            to = pos.increment().to_json()
            self.emit({"TYPE": "OrderMoved", "to": to, "reason": {"TYPE": "NoNotice"}})
            return None
        if not self.o.get("expectedNoticeIds"):
            self.emit({"TYPE": "OrderNoticesExpected", "noticeIds": ids})
        return self.done("noticewait")

    def release(self, lock_pos: Position) -> None:
        """``OrderLocksReleased``: the order leaves the lock block to the
        instruction after the Lock (Order.scala:501-508)."""
        ins = self.wf.instruction(lock_pos)
        assert isinstance(ins, Lock)
        self.emit({"TYPE": "OrderLocksReleased", "lockPaths": ins.lock_paths})

    def end(self, pos: Position) -> Next | None:
        if pos.branch == LOCK:
            if self.here is not None:
                return self.detach()  # released at the Controller (LockExecutor.scala:45-50)
            assert pos.parent is not None
            self.release(pos.parent)
            return None
        if is_fork_branch(pos.branch):
            # A child at its branch's end is joinable (EngineState.childOrderIsJoinable).
            return self.detach() if self.here is not None else self.done("joinable")
        parent = pos.parent
        if parent is not None:
            self.move(parent.increment())  # If and Try: on after the block
            return None
        if self.here is not None:
            return self.detach()
        if self.o.get("started") is not True and (waiting := self.start()) is not None:
            return waiting
        self.emit({"TYPE": "OrderFinished"})
        return self.done("terminated")

    def fail_instruction(self, ins: Fail) -> Next | None:
        """``OrderOutcomeAdded(Failed(message, namedValues, uncatchable))``,
        then the order fails from here (FailExecutor.scala:13-28)."""
        outcome: dict[str, Any] = {"TYPE": "Failed"}
        if ins.named_values:
            outcome["namedValues"] = ins.named_values
        if ins.message is not None:
            try:
                outcome["message"] = expression.to_string(
                    expression.evaluate(ins.message, variables(self.o))
                )
            except expression.ExpressionError as exc:
                outcome["message"] = str(exc)
        if ins.uncatchable:
            outcome["uncatchable"] = True
        self.emit({"TYPE": "OrderOutcomeAdded", "outcome": outcome})
        return None

    def fail(self, pos: Position, *, catchable: bool) -> Next | None:
        """Leave the blocks outwards: the innermost try block catches
        (``OrderCaught`` to its catch block) unless its tries are used up;
        nothing catches: ``OrderFailed`` at the Controller
        (OrderEventSource.scala:263-291, 714-801)."""
        path = pos.branch_path
        fork: Fork | ForkList | None = None
        for depth in range(len(path) - 1, -1, -1):
            nr, branch = path[depth]
            if branch == LOCK:
                # Leaving a lock block releases its Locks, at the Controller;
                # the failure is then the Lock's (OrderEventSource.scala:747-758).
                if self.here is not None:
                    return self.detach()
                pos = Position(path[:depth], nr)
                self.release(pos)
                continue
            if is_fork_branch(branch):
                # A fork branch is a failure boundary (BranchId.IsFailureBoundary).
                forking = self.wf.instruction(Position(path[:depth], nr))
                assert isinstance(forking, Fork | ForkList)
                fork = forking
                break
            retry = try_index(branch)
            if catchable and retry is not None:
                catch = Position(path[:depth], nr).child(catch_branch(retry))
                if not self.max_tries_reached(catch):
                    self.emit({"TYPE": "OrderCaught", "movedTo": catch.to_json()})
                    return None
        if self.here is not None:
            return self.detach()
        if fork is not None and fork.join_if_failed:
            self.emit({"TYPE": "OrderFailedInFork", "movedTo": pos.to_json()})
            return self.done("joinable")
        event = {"TYPE": "OrderFailed", "movedTo": pos.to_json()}
        if isinstance(self.o.get("outcome"), dict):
            # JS7 2.8 still reads the outcome here (OrderEventTest.scala:395);
            # JOC's history shows the failure from it.
            event["outcome"] = self.o["outcome"]
        self.emit(event)
        return self.done("terminated")

    def max_tries_reached(self, catch: Position) -> bool:
        """A catch block that starts with ``Retry`` of a Try whose maxTries
        are used up does not catch: the failure keeps its own position
        (OrderEventSource.scala:793-801)."""
        try_pos = catch.parent
        assert try_pos is not None
        ins = self.wf.instruction(try_pos)
        return (
            isinstance(ins, Try)
            and isinstance(self.wf.instruction(catch), Retry)
            and ins.max_tries is not None
            and catch.try_count >= ins.max_tries
        )

    def retry(self, pos: Position) -> Next | None:
        """``OrderRetrying``, then to the next try block — after the delay
        the Try's ``retryDelays`` give (RetryExecutor.scala:21-55)."""
        to = pos.next_retry_position()
        try_ins = self.wf.instruction(to.parent) if to is not None and to.parent else None
        if to is None or not isinstance(try_ins, Try):
            self.emit(
                {
                    "TYPE": "OrderOutcomeAdded",
                    "outcome": disrupted(f"Retry: Order is not in a 'catch' block: {pos}"),
                }
            )
            return None
        if try_ins.max_tries is not None and pos.try_count >= try_ins.max_tries:
            # Tries used up: the order fails from the Retry (no new outcome).
            return self.fail(pos, catchable=True)
        retry = try_index(to.branch_path[-1][1])
        assert retry is not None
        delay = try_ins.retry_delay(retry)
        if delay > 0:
            until = self.now + int(delay * 1000)
            if delay >= 10:
                until = math.ceil(until / 1000) * 1000  # JS7 rounds to the next second
            self.emit({"TYPE": "OrderRetrying", "delayedUntil": until})
            return self.done("wait", until=until)
        self.emit({"TYPE": "OrderRetrying"})
        self.move(to)
        return None

    def sleep(self, pos: Position, ins: Sleep) -> Next | None:
        """``duration`` in seconds; none or <= 0: on at once (SleepExecutor.scala:19-46)."""
        try:
            value = expression.evaluate(ins.duration, variables(self.o))
        except expression.ExpressionError as exc:
            self.emit({"TYPE": "OrderOutcomeAdded", "outcome": disrupted(str(exc))})
            return None
        if not expression.is_number(value):
            self.emit(
                {
                    "TYPE": "OrderOutcomeAdded",
                    "outcome": disrupted(f"Sleep duration is no number: {value!r}"),
                }
            )
            return None
        millis = int(float(value) * 1000)
        if millis <= 0:
            self.move(pos.increment())
            return None
        until = self.now + millis
        # JS7 2.8's form; 2.9 adds "cause" (OrderEventTest.scala:1086-1100).
        self.emit({"TYPE": "OrderSleeping", "until": until})
        return self.done("wait", until=until)
