"""The Controller's items: ``POST /controller/api/item`` (AddVersion,
AddOrChangeSigned, RemoveVersioned for workflows; AddOrChangeSimple for the
simple items), their journal events and what the Agents and the snapshot
get of them (js7-data/shared/src/main/scala/js7/data/item/ItemOperation.scala).

What must hold: a request is applied all or none — every signature, every
workflow and every reference it makes (Agents, Locks) is checked before
anything is journaled; a workflow version, once added, never changes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from components.common import signatures
from components.common.web import Problem, read_body
from components.common.workflow import Workflow
from components.controller import simple_items
from components.controller.transaction import SIGNED, WORKFLOW, Tx
from components.wire import items as wire
from components.wire.codec import convert, decode, to_json

if TYPE_CHECKING:
    from components.controller.controller import Controller


def repo_events(
    c: Controller,
) -> list[wire.VersionAdded | wire.VersionedItemAdded | wire.VersionedItemRemoved]:
    """The committed workflows as JS7's snapshot writes its repo: per
    version ``VersionAdded``, then each item's ``VersionedItemAdded``
    with the signed string the Agents get, then the removals, each in
    its version."""
    out: list[wire.VersionAdded | wire.VersionedItemAdded | wire.VersionedItemRemoved] = []
    versions: set[str] = set()
    for key, signed in c.journal.state(SIGNED).items():
        version = key.rpartition("~")[2]
        if version not in versions:
            versions.add(version)
            out.append(wire.VersionAdded(versionId=version))
        signed_string = convert(signed, wire.SignedString, "SignedString")
        out.append(wire.VersionedItemAdded(signed=signed_string))
    for path, version in (c.journal.meta("workflow.removed", {}) or {}).items():
        if version not in versions:
            versions.add(version)
            out.append(wire.VersionAdded(versionId=version))
        out.append(wire.VersionedItemRemoved(path=f"Workflow:{path}"))
    return out


def attach_item_command(c: Controller, wf_key: str) -> dict[str, Any]:
    """JS7's ``AttachSignedItem``: the workflow as it was signed."""
    return {"TYPE": "AttachSignedItem", "signed": c.journal.get(SIGNED, wf_key)}


async def post_items(c: Controller, request: web.Request) -> web.Response:
    """JS7's ``POST /controller/api/item``: NDJSON ``ItemOperation``s,
    applied all or none; ``{}`` when done (``components/wire/items.py``).
    JS7's ``UpdateItem`` permission is required."""
    c.sessions.require(request, "UpdateItem")
    raw = await read_body(request)
    c.cluster.require_active()
    ops = [
        decode(line, wire.ItemOperation, "ItemOperation")
        for line in raw.splitlines()
        if line.strip()
    ]
    await update_items(c, ops)
    return web.json_response({})


async def update_items(c: Controller, ops: list[Any]) -> None:
    if not ops:
        raise Problem(400, "MissingField", "POST item: no ItemOperation in the body")
    unsupported = [
        type(op).__name__
        for op in ops
        if not isinstance(
            op,
            wire.AddVersion
            | wire.AddOrChangeSigned
            | wire.AddOrChangeSimple
            | wire.RemoveVersioned,
        )
    ]
    if unsupported:
        raise Problem(
            400,
            "UnsupportedItemOperation",
            "the reference adds, changes and removes workflows and adds and changes "
            f"Agent cluster items only, not {sorted(set(unsupported))}",
        )
    versions = [op.versionId for op in ops if isinstance(op, wire.AddVersion)]
    signed = [op.signedString for op in ops if isinstance(op, wire.AddOrChangeSigned)]
    removed = [workflow_path(op.path) for op in ops if isinstance(op, wire.RemoveVersioned)]
    known = c.journal.state(simple_items.ITEM)
    simple = simple_items.check(
        (op.item for op in ops if isinstance(op, wire.AddOrChangeSimple)),
        known,
        c.drivers,
    )
    if not versions and not signed and not removed:
        await add_simple_items(c, simple)
        return
    if len(versions) != 1:
        raise Problem(
            400, "InvalidItemOperation", "exactly one AddVersion must come with the workflows"
        )
    version = versions[0]
    parsed: list[tuple[Workflow, wire.SignedString]] = []
    for s in signed:
        signatures.verify(s, c.trusted_silly)
        try:
            data = json.loads(s.string)
        except ValueError as exc:
            raise Problem(400, "InvalidWorkflow", f"signed string is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise Problem(400, "InvalidWorkflow", "the signed string is not a workflow")
        if data.get("versionId", version) != version:
            raise Problem(
                400,
                "ItemVersionDoesNotMatch",
                f"{data.get('path')}: versionId {data.get('versionId')!r} is not {version!r}",
            )
        parsed.append((Workflow.from_json({**data, "versionId": version}), s))
    # What the workflows may name: the Controller's simple items and the
    # request's own, and its Agents.
    named = {
        item["TYPE"].replace("GlobalBoard", "Board") + ":" + item["path"]
        for item in [*known.values(), *(item for _, item in simple)]
        if item["TYPE"] in simple_items.CONTROLLER_ONLY
    } | {f"AgentRef:{path}" for path in c.drivers}
    for wf, _ in parsed:
        referenced = [
            *(f"Lock:{p}" for p in sorted(wf.lock_paths)),
            *(f"Board:{p}" for p in sorted(wf.board_paths)),
            *(f"AgentRef:{p}" for p in sorted(wf.agents)),
        ]
        missing = [key for key in referenced if key not in named]
        if missing:
            raise Problem(
                400, "UnknownItemPath", f"Workflow {wf.path}: unknown {', '.join(missing)}"
            )
        old = c.workflows.get(wf.key)
        if old is not None and old.raw != wf.raw:
            raise Problem(
                400, "ItemVersionExists", f"Workflow {wf.key} exists with different content"
            )
    for path in removed:
        if path not in c.latest:
            raise Problem(400, "UnknownItemPath", f"Unknown Workflow:{path}")
        if any(wf.path == path for wf, _ in parsed):
            raise Problem(400, "InvalidItemOperation", f"Workflow:{path} is both added and removed")
    tx = Tx()
    latest = dict(c.latest)
    new = [(wf, s) for wf, s in parsed if wf.key not in c.workflows]
    if new or removed:
        tx.events.append(to_json(wire.VersionAdded(versionId=version)))
    # A removed workflow takes no new orders; the orders that run in one
    # of its versions finish in it (the versions stay).
    removals = dict(c.journal.meta("workflow.removed", {}) or {})
    for path in removed:
        tx.events.append(to_json(wire.VersionedItemRemoved(path=f"Workflow:{path}")))
        latest.pop(path)
        removals[path] = version
    for wf, s in new:
        event = wire.VersionedItemChanged if wf.path in latest else wire.VersionedItemAdded
        tx.events.append(to_json(event(signed=s)))
        tx.changes.append((WORKFLOW, wf.key, wf.raw))
        tx.changes.append((SIGNED, wf.key, to_json(s)))
        latest[wf.path] = wf.key
    for key, item in simple:
        tx.events.append(simple_items.event(key, item, known))
        tx.changes.append((simple_items.ITEM, key, item))
    for wf, _ in new:
        removals.pop(wf.path, None)
    if tx.events:
        tx.meta["workflow.latest"] = latest
        tx.meta["workflow.removed"] = removals
        await c.commit(tx)
        for wf, _ in new:
            c.workflows[wf.key] = wf
        c.latest = latest
        items_changed(c, simple)


async def add_simple_items(c: Controller, simple: list[tuple[str, dict[str, Any]]]) -> None:
    """Agent cluster items alone (no workflow, no version)."""
    if not simple:
        return
    known = c.journal.state(simple_items.ITEM)
    tx = Tx()
    for key, item in simple:
        tx.events.append(simple_items.event(key, item, known))
        tx.changes.append((simple_items.ITEM, key, item))
    await c.commit(tx)
    items_changed(c, simple)


def items_changed(c: Controller, simple: list[tuple[str, dict[str, Any]]]) -> None:
    if simple:
        for driver in c.drivers.values():
            driver.items_changed()


def simple_item_commands(c: Controller, path: str) -> list[tuple[str, dict[str, Any]]]:
    """The ``AttachItem`` commands Agent ``path`` needs, each with the
    item's key and content (what was sent is remembered by both)."""
    known = c.journal.state(simple_items.ITEM)
    return [
        (f"{key}={json.dumps(item, sort_keys=True)}", {"TYPE": "AttachItem", "item": item})
        for key, item in simple_items.for_agent(known, path)
    ]


def workflow_path(typed: str) -> str:
    """``Workflow:a/b`` → ``a/b``: RemoveVersioned names a typed path."""
    kind, sep, path = typed.partition(":")
    if kind != "Workflow" or not sep or not path:
        raise Problem(400, "InvalidItemPath", f"RemoveVersioned: not a Workflow path: {typed!r}")
    return path
