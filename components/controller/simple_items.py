"""The Controller's unsigned simple items: for Agent clusters ``AgentRef``
(with its ``directors``), ``SubagentItem`` and ``SubagentBundle``, added with
``AddOrChangeSimple`` through ``POST /controller/api/item`` and attached to
the Agent they belong to (``AttachItem``); and ``Lock`` (``path``,
``limit``) and ``GlobalBoard`` (``boards.py``), which stay at the Controller
(only it runs Lock and notice instructions).

What must hold: the items of one request are checked together and against
the ones the Controller has — an AgentRef with three Directors, a priority
that is neither number nor expression, a Subagent nobody defined, an Agent
the Controller does not know — and a problem naming the field refuses the
whole request; nothing is journaled or attached then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from components.common.subagent_items import decode_item, invalid
from components.common.web import Problem
from components.controller import boards
from components.wire import lock as lw
from components.wire import notice as nw
from components.wire import subagent as sw
from components.wire.codec import convert, to_json

ITEM = "simpleItem"  # journal state kind: item key -> the item's JSON
CONTROLLER_ONLY = ("Lock", "GlobalBoard")  # items no Agent gets


def check(
    raws: Iterable[Any], known: Mapping[str, Any], agents: Iterable[str]
) -> list[tuple[str, dict[str, Any]]]:
    """The new or changed items as (key, canonical JSON); a ``Problem`` for
    the first bad one."""
    agent_paths = set(agents)
    incoming: dict[str, sw.SimpleItem | lw.Lock | nw.GlobalBoard] = {}
    for raw in raws:
        if isinstance(raw, dict) and raw.get("TYPE") == "Lock":
            lock = _decode_lock(raw)
            incoming[f"Lock:{lock.path}"] = lock
            continue
        if isinstance(raw, dict) and raw.get("TYPE") in boards.BOARD_TYPES:
            board = boards.decode(raw)
            incoming[f"Board:{board.path}"] = board
            continue
        decoded = decode_item(raw)
        incoming[sw.item_key(decoded)] = decoded
    items: dict[str, sw.SimpleItem | lw.Lock | nw.GlobalBoard] = {
        k: convert(v, sw.SimpleItem, "UnsignedSimpleItem")
        for k, v in known.items()
        if v.get("TYPE") not in CONTROLLER_ONLY
    }
    items.update(incoming)
    subagents = {i.id: i for i in items.values() if isinstance(i, sw.SubagentItem)}
    for key, checked in incoming.items():
        if isinstance(checked, lw.Lock | nw.GlobalBoard):
            continue
        item = checked
        if isinstance(item, sw.SubagentItem) and item.agentPath not in agent_paths:
            raise _unknown(key, "agentPath", f"AgentRef:{item.agentPath}")
        if isinstance(item, sw.AgentRef):
            if item.path not in agent_paths:
                raise _unknown(key, "path", f"AgentRef:{item.path}")
            for sid in item.directors:
                sub = subagents.get(sid)
                if sub is None:
                    raise _unknown(key, "directors", f"SubagentItem:{sid}")
                if sub.agentPath != item.path:
                    raise invalid(key, "directors", f"{sid} belongs to Agent {sub.agentPath}")
        if isinstance(item, sw.SubagentBundle):
            for sid in item.subagentToPriority:
                if sid not in subagents:
                    raise _unknown(key, f"subagentToPriority.{sid}", f"SubagentItem:{sid}")
    return [
        (key, canonical)
        for key, item in incoming.items()
        if known.get(key) != (canonical := to_json(item))
    ]


def _decode_lock(raw: dict[str, Any]) -> lw.Lock:
    lock: lw.Lock = convert(raw, lw.Lock, "Lock")
    if not lock.path:
        raise invalid("Lock:", "path", "must not be empty")
    if lock.limit < 0:
        raise invalid(f"Lock:{lock.path}", "limit", "must not be negative")  # Lock.scala:16
    return lock


def lock_limits(known: Mapping[str, Any]) -> dict[str, int]:
    """Lock path to its limit."""
    return {v["path"]: int(v.get("limit", 1)) for v in known.values() if v["TYPE"] == "Lock"}


def _unknown(key: str, field: str, what: str) -> Problem:
    return Problem(
        400, "UnknownItemPath", f"{key}: {field}: unknown {what}", arguments={"field": field}
    )


def event(key: str, item: dict[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    kind = "UnsignedSimpleItemChanged" if key in known else "UnsignedSimpleItemAdded"
    return {"TYPE": kind, "item": item}


def for_agent(known: Mapping[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """What Agent ``path`` gets, in the order it needs them: its AgentRef, its
    Subagents, then the bundles naming any of them."""
    ref = [(k, v) for k, v in known.items() if v["TYPE"] == "AgentRef" and v["path"] == path]
    subs = [
        (k, v) for k, v in known.items() if v["TYPE"] == "SubagentItem" and v["agentPath"] == path
    ]
    mine = {v["id"] for _, v in subs}
    bundles = [
        (k, v)
        for k, v in known.items()
        if v["TYPE"] == "SubagentBundle" and mine & set(v["subagentToPriority"])
    ]
    return ref + subs + bundles
