"""What the Controller and the Agent share: a journaled node with JS7's
session, event and command API.

Routes under ``<prefix>`` (``/controller/api`` or ``/agent/api``):

* ``POST <prefix>/session`` — Login/Logout (see ``auth``);
* ``GET <prefix>/event?after=&timeout=&limit=&heartbeat=`` — NDJSON stamped
  events after ``after``. If there are none yet it waits up to ``timeout``
  seconds (sending an empty line every ``heartbeat`` seconds) and then
  answers with whatever arrived — possibly nothing. A client simply asks
  again with the last eventId it got.
* ``POST <prefix>/command`` — a JS7 command, decoded into its wire struct
  (``components/wire``) and dispatched to the node's handler for it.

What must hold: events are deleted only when *every* user listed in
``js7.journal.users-allowed-to-release-events`` has released them (a user
that never released counts as 0) and every extra constraint (a passive
cluster node's acknowledgement) allows it; bad input gets a 4xx problem and
leaves the journal untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError

from components.common.auth import Sessions, load_users
from components.common.config import Config, ConfigProblem
from components.common.eventid import event_id_string
from components.common.journal import EventSeqTorn, Journal, UnknownEventId
from components.common.limits import LONG_MAX
from components.common.web import Problem, problem_middleware, read_body
from components.wire.codec import convert, decode, to_json

log = logging.getLogger("js7.node")

Command = dict[str, Any]
Handler = Callable[[str, Any], Awaitable[Any]]
ACCEPTED = {"TYPE": "Accepted"}
MAX_TIMEOUT = 3600.0
BATCH_CHUNK = 200


def load_node_config(data_dir: Path, name: str) -> Config:
    cfg_dir = data_dir / "config"
    return Config.load(cfg_dir / f"{name}.conf", cfg_dir / "private.conf")


_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


def query_seconds(request: web.Request, name: str, default: float | None) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    m = _SECONDS.match(raw.strip())
    if not m:
        raise Problem(
            400, "InvalidParameter", f"{name}={raw!r} is not a duration (e.g. 10 or 0.5s)"
        )
    value = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
    return min(value, MAX_TIMEOUT)


def query_int(request: web.Request, name: str, default: int | None, minimum: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, "InvalidParameter", f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise Problem(400, "InvalidParameter", f"{name}={value} must be at least {minimum}")
    if value > LONG_MAX:
        # JS7's Long, as at the JSON edge: a larger number reaches no eventId
        # and cannot be formatted into a problem's EventId arguments.
        raise Problem(400, "InvalidParameter", f"{name}={raw[:40]!r} is beyond a 64-bit integer")
    return value


def journal_problem(exc: EventSeqTorn | UnknownEventId) -> Problem:
    """JS7's problem, with its ``arguments`` (``EventSeqTornProblem``:
    ``requestedAfter``, ``tornEventId``, each as ``EventId.toString``)."""
    if isinstance(exc, EventSeqTorn):
        arguments = {
            "requestedAfter": event_id_string(exc.after),
            "tornEventId": event_id_string(exc.oldest),
        }
        return Problem(400, "EventSeqTorn", str(exc), arguments=arguments)
    return Problem(400, "UnknownEventId", str(exc))


def body_str(cmd: Command, key: str) -> str:
    value = cmd.get(key)
    if not isinstance(value, str) or not value:
        raise Problem(
            400, "MissingField", f"{cmd.get('TYPE')}: field '{key}' (a string) is required"
        )
    return value


class JournaledNode:
    """Base of Controller and Agent. Subclasses name their command union,
    register a handler per command struct in ``self.commands`` and routes in
    ``add_routes``."""

    prefix = "/api"

    def __init__(self, data_dir: Path, cfg: Config, journal: Journal) -> None:
        self.data_dir = data_dir
        self.cfg = cfg
        self.journal = journal
        self.sessions = Sessions(load_users(cfg))
        self.release_users = cfg.string_list("js7.journal.users-allowed-to-release-events", [])
        self.release_constraints: list[Callable[[], int]] = []
        # JS7's command TYPEs, as wire structs (components/wire), to handlers.
        self.commands: dict[type, Handler] = {}
        self._compacting: asyncio.Task[None] | None = None
        self.started_at = time.time()

    # -- HTTP ------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[problem_middleware], client_max_size=16 * 1024**2)
        app.router.add_get("/health", self.health)
        app.router.add_post(f"{self.prefix}/session", self.sessions.handle)
        app.router.add_get(f"{self.prefix}/event", self.events)
        app.router.add_post(f"{self.prefix}/command", self.command)
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> None:
        """Subclasses add their own routes."""

    def journal_info(self) -> dict[str, Any]:
        """What a client may want to know about the journal (an extension of
        JS7's overview): the oldest available and the last eventId, and the
        bytes it takes on disk — to see events held, released and compacted."""
        size = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                size += Path(str(self.journal.path) + suffix).stat().st_size
        return {
            "tornEventId": self.journal.torn_event_id,
            "lastEventId": self.journal.last_event_id,
            "fileSize": size,
            "released": {u: self.journal.meta(f"released.{u}", 0) for u in self.release_users},
        }

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "eventId": self.journal.last_event_id})

    async def events(self, request: web.Request) -> web.StreamResponse:
        self.sessions.user_of(request)
        after = query_int(request, "after", None, 0)
        if after is None:
            raise Problem(
                400, "MissingParameter", "query parameter 'after' (an EventId) is required"
            )
        timeout = query_seconds(request, "timeout", 0.0) or 0.0
        limit = query_int(request, "limit", None, 1)
        heartbeat = query_seconds(request, "heartbeat", None)
        if heartbeat is not None and heartbeat <= 0:
            raise Problem(400, "InvalidParameter", "heartbeat must be positive")
        self.check_event_access()
        try:
            lines = self._visible(self.journal.read(after, limit))
        except (EventSeqTorn, UnknownEventId) as exc:
            raise journal_problem(exc) from None
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        try:
            await self._stream(resp, after, limit, timeout, heartbeat, lines)
        except (ConnectionResetError, ClientConnectionResetError):
            pass  # the client went away: normal for a long poll, nothing to report
        return resp

    async def _stream(
        self,
        resp: web.StreamResponse,
        after: int,
        limit: int | None,
        timeout: float,
        heartbeat: float | None,
        lines: list[str],
    ) -> None:
        deadline = time.monotonic() + timeout
        while not lines:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            step = min(left, heartbeat) if heartbeat else left
            if await self.wait_visible(after, step):
                try:
                    lines = self._visible(self.journal.read(after, limit))
                except (EventSeqTorn, UnknownEventId):
                    break  # released meanwhile: the client's next request gets the problem
            elif heartbeat and deadline - time.monotonic() > 0:
                await resp.write(b"\n")
        if lines:
            await resp.write(("\n".join(lines) + "\n").encode())
        await resp.write_eof()

    def check_event_access(self) -> None:
        """Subclasses refuse the event API where it must not be served."""

    def visible_until(self) -> int:
        """The last eventId clients may see (a cluster shows only what its
        passive node acknowledged)."""
        return self.journal.last_event_id

    def _visible(self, lines: list[str]) -> list[str]:
        until = self.visible_until()
        if until >= self.journal.last_event_id:
            return lines
        # Lines start with {"eventId":<n>, (the journal writes eventId first).
        return [ln for ln in lines if int(ln[11 : ln.index(",")]) <= until]

    async def wait_visible(self, after: int, timeout: float) -> bool:
        """True as soon as an event after ``after`` is visible."""
        return await self.journal.wait_for_event(after, timeout)

    # What a command body is decoded into (a tagged union of wire structs),
    # how JS7 names that union in problems, and the Batch answer's struct.
    command_union: Any = None
    command_name = "Command"
    batch_response: Callable[..., Any] = dict

    async def command(self, request: web.Request) -> web.Response:
        """``POST <prefix>/command``: the body decoded at the edge into its wire
        struct — a malformed one is refused before any handler runs."""
        user = self.sessions.user_of(request)
        cmd = decode(await read_body(request), self.command_union, self.command_name)
        self.before_command()
        result = await self.commands[type(cmd)](user, cmd)
        return web.json_response(to_json(result if result is not None else ACCEPTED))

    def before_command(self) -> None:
        """Subclasses refuse commands here when they must not act (a passive
        cluster node)."""

    # Commands about one order each, whose handlers serialise per order: a run
    # of them in a Batch may execute concurrently, so their journal writes
    # share group commits instead of queueing one transaction after another.
    # (Wire struct class names.)
    concurrent_commands: frozenset[str] = frozenset()
    release_as_event = False

    async def release_events(self, user: str, cmd: Any) -> None:
        """``ReleaseEvents`` (the same JSON for Controller and Agent)."""
        await self.release(user, cmd.untilEventId)

    async def batch(self, user: str, cmd: Any) -> Any:
        """``Batch``: see ``execute_batch``."""
        return await self.execute_batch(user, cmd.commands)

    async def execute_batch(self, user: str, commands: list[Any]) -> Any:
        """``Batch``: each sub-command gets its own response, a problem in one
        does not stop the others. They take effect in order, except that a
        run of consecutive ``concurrent_commands`` of one TYPE executes
        together."""
        decoded: list[Any] = []
        for k, sub in enumerate(commands):
            if k and k % BATCH_CHUNK == 0:
                # Decoding twenty thousand sub-commands at once held the event
                # loop for over a second on a loaded machine: the primary's
                # lease lapsed and the pair failed over (the hostile stream).
                await asyncio.sleep(0)
            try:
                one = convert(sub, self.command_union, self.command_name)
                if type(one).__name__ == "Batch":
                    raise Problem(400, "InvalidCommand", "a Batch must not contain a Batch")
                decoded.append(one)
            except Problem as p:
                decoded.append(p)
        kinds = [None if isinstance(c, Problem) else type(c).__name__ for c in decoded]

        async def run_one(c: Any) -> Any:
            if isinstance(c, Problem):
                return c.to_json()
            try:
                result = await self.commands[type(c)](user, c)
            except Problem as p:
                return p.to_json()
            return to_json(result if result is not None else ACCEPTED)

        responses: list[Any] = []
        i = 0
        while i < len(decoded):
            j = i + 1
            if kinds[i] in self.concurrent_commands:
                # At most BATCH_CHUNK together: one commit of ten thousand
                # orders held the event loop for most of a second, long enough
                # for the cluster's heartbeats to miss (found by the hostile
                # stream: a valid 10,000-order Batch made the passive take over).
                while j < len(decoded) and kinds[j] == kinds[i] and j - i < BATCH_CHUNK:
                    j += 1
            responses += await asyncio.gather(*(run_one(c) for c in decoded[i:j]))
            await asyncio.sleep(0)  # let heartbeats and other requests run between chunks
            i = j
        return self.batch_response(responses=responses)

    async def no_operation(self, user: str, cmd: Any) -> None:
        return None

    # -- releasing events ------------------------------------------------

    async def release(self, user: str, until: int) -> None:
        """``ReleaseEvents``: ``user`` no longer needs the events up to ``until``."""
        if user not in self.release_users:
            raise Problem(
                403,
                "UserIsNotEnabledToReleaseEvents",
                f"User '{user}' is not enabled to release events",
            )
        if until < 0:
            raise Problem(400, "InvalidCommand", f"untilEventId={until} must not be negative")
        if until > self.journal.last_event_id:
            raise Problem(400, "UnknownEventId", f"untilEventId={until} is after the last event")
        before = int(self.journal.meta(f"released.{user}", 0))
        if until < before:
            raise Problem(
                400,
                "ReverseReleaseEvents",
                f"Attempt to release events in reverse: untilEventId={until} < {before}",
            )
        if until > before:
            # As an event where it must replicate (a Controller cluster): a
            # persist without events is not shipped to the passive node.
            events = (
                [{"TYPE": "JournalEventsReleased", "userId": user, "untilEventId": until}]
                if self.release_as_event
                else []
            )
            await self.journal.persist(events, meta={f"released.{user}": until})
            self.schedule_compaction()

    def releasable(self) -> int:
        """The highest eventId every release user and constraint allows deleting."""
        if not self.release_users:
            return 0
        r = min(int(self.journal.meta(f"released.{u}", 0)) for u in self.release_users)
        for constraint in self.release_constraints:
            r = min(r, constraint())
        return r

    def schedule_compaction(self) -> None:
        """Compact soon, but at most one compaction at a time (a burst of
        ReleaseEvents becomes one delete)."""
        if self._compacting is None or self._compacting.done():
            self._compacting = asyncio.create_task(self._compact())

    async def _compact(self) -> None:
        await asyncio.sleep(0.05)
        until = self.releasable()
        if until > self.journal.torn_event_id:
            n = await self.journal.release(until)
            log.debug("released %d events until %d", n, until)


class Runnable(JournaledNode):
    """What ``run_main`` needs of a node class."""

    shutdown_requested: asyncio.Event

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def before_shutdown(self) -> None:
        """Runs while the node still serves HTTP, before a graceful stop (a
        cluster node hands over here: its peer must still be able to pull)."""


def run_main(node_cls: type[Runnable], conf_name: str, journal_name: str) -> None:
    """``python -m components.<role> --data-dir DIR``: read
    ``DIR/config/<conf_name>.conf`` + ``private.conf`` (a bad setting stops the
    node at once with a message naming it), open the journal in ``DIR/state``,
    serve until SIGTERM/SIGINT or a ``ShutDown`` command, stop gracefully."""
    from components.common.config import data_dir_args, die
    from components.common.web import serve, setup_logging

    args = data_dir_args(f"python -m components.{conf_name}")
    setup_logging()
    try:
        cfg = load_node_config(args.data_dir, conf_name)
        host = cfg.string("js7.web.http.host", "127.0.0.1")
        port = cfg.port("js7.web.http.port")
        load_users(cfg)
        cfg.string_list("js7.journal.users-allowed-to-release-events", [])
    except ConfigProblem as p:
        die(p)

    async def run() -> None:
        (args.data_dir / "state").mkdir(parents=True, exist_ok=True)
        journal = await Journal.open(args.data_dir / "state" / journal_name)
        try:
            node = node_cls(args.data_dir, cfg, journal)
        except ConfigProblem as p:
            await journal.close()
            die(p)
        await node.start()
        server = asyncio.create_task(serve(node.app(), host, port, handle_signals=False))
        stop = asyncio.create_task(node.shutdown_requested.wait())
        shutdown = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, shutdown.set)
        wait_signal = asyncio.create_task(shutdown.wait())
        await asyncio.wait({server, stop, wait_signal}, return_when=asyncio.FIRST_COMPLETED)
        wait_signal.cancel()
        if shutdown.is_set():
            log.info("stopping on signal")
        await node.before_shutdown()
        server.cancel()
        stop.cancel()
        await asyncio.gather(server, stop, return_exceptions=True)
        await node.stop()

    asyncio.run(run())
