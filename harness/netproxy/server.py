"""The Toxiproxy HTTP API (as Shopify/toxiproxy 2.12 answers it) and the proxies.

What must hold (see /work/shared/design/TOXIPROXY-API.md):

* Every endpoint answers with toxiproxy's status codes and error messages;
  errors have the body ``{"error": "<message>", "status": <code>}``, also for
  unknown routes (404) and wrong methods (405).
* A proxy's ``listen`` is the address it is bound to (port 0 becomes the
  ephemeral port; a wildcard host is dual-stack and shown as ``[::]``, as Go
  does). Disabling a proxy closes its listener and every live connection, so
  new connections are refused; enabling binds the same address again.
* Toxic changes reach live connections at once.
* Bad input never takes the server down: every handler answers, at worst
  with a 500 carrying the error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from harness.netproxy import lowlevel
from harness.netproxy.connection import Connection
from harness.netproxy.stages import (
    DOWNSTREAM,
    STREAMS,
    TOXIC_TYPES,
    UPSTREAM,
    DirectionStats,
    Toxic,
)

log = logging.getLogger("harness.netproxy")

VERSION = "2.12.0"
_BACKLOG = 1024


class ApiError(Exception):
    """An API failure with toxiproxy's message and HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


def _bad_body(reason: str) -> ApiError:
    return ApiError(f"bad request body: {reason}", 400)


def _missing(what: str) -> ApiError:
    return ApiError(f"missing required field: {what}", 400)


MAX_NAME = 200


def _addressable(what: str, name: str) -> str:
    """``name`` if the API can address it again — a path segment of at most
    ``MAX_NAME`` characters, without ``/``, control characters or lone
    surrogates — else a 400 (toxiproxy accepts any name; a name that cannot
    be fetched or deleted afterwards is refused here instead)."""
    if len(name) > MAX_NAME:
        raise _bad_body(f"{what} is longer than {MAX_NAME} characters")
    if "/" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise _bad_body(f"{what} must not contain '/' or control characters")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_body(f"{what} is not valid Unicode (a lone surrogate)") from None
    return name


def _address(what: str, value: str) -> str:
    """A listen or upstream address without NUL or other control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _bad_body(f"{what} must not contain control characters")
    return value


PROXY_NOT_FOUND = ("proxy not found", 404)
PROXY_EXISTS = ("proxy already exists", 409)
INVALID_STREAM = ("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ("invalid toxic type", 400)
TOXIC_EXISTS = ("toxic already exists", 409)
TOXIC_NOT_FOUND = ("toxic not found", 404)


# ---------------------------------------------------------------------------
# JSON decoding with Go's encoding/json rules: the first JSON value of the
# body counts, keys match case-insensitively, null leaves a field unchanged,
# and a value of the wrong type is an error naming the field.

_JSON_KIND = {
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
}


def _kind(value: object) -> str:
    return _JSON_KIND.get(type(value), "value")


def parse_body(raw: bytes) -> object:
    text = raw.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise _bad_body("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise _bad_body(exc.msg.lower()) from None
    except RecursionError:
        raise _bad_body("exceeded max depth") from None
    return value


def _lookup(obj: dict[str, Any], key: str) -> tuple[bool, Any]:
    if key in obj:
        return True, obj[key]
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == key:
            return True, v
    return False, None


def _field(obj: dict[str, Any], key: str, struct: str, go_type: str) -> Any:
    """The field ``key`` (matched case-insensitively, as Go's decoder does) or
    None; a value of the wrong JSON type is the 400 Go's decoder would give."""
    found, value = _lookup(obj, key)
    if not found or value is None:
        return None
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "float32": isinstance(value, int | float) and not isinstance(value, bool),
    }[go_type]
    if not ok:
        raise _bad_body(
            f"json: cannot unmarshal {_kind(value)} into Go struct field {struct}.{key} "
            f"of type {go_type}"
        )
    return value


def _field_str(obj: dict[str, Any], key: str, struct: str) -> str | None:
    value: str | None = _field(obj, key, struct, "string")
    return value


def _field_bool(obj: dict[str, Any], key: str, struct: str) -> bool | None:
    value: bool | None = _field(obj, key, struct, "bool")
    return value


def _field_float(obj: dict[str, Any], key: str, struct: str) -> float | None:
    value = _field(obj, key, struct, "float32")
    return None if value is None else float(value)


def _object(value: object, go_type: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad_body(f"json: cannot unmarshal {_kind(value)} into Go value of type {go_type}")
    return value


def _decode_attributes(toxic_type: str, value: object, current: dict[str, int]) -> dict[str, int]:
    """Merge the ``attributes`` object of a request into ``current``."""
    attrs = dict(current)
    if value is None:
        return attrs
    struct = f"ToxicWrapper.attributes of type toxics.{toxic_type}"
    if not isinstance(value, dict):
        raise _bad_body(f"json: cannot unmarshal {_kind(value)} into Go struct field {struct}")
    for name in TOXIC_TYPES[toxic_type].attributes:
        found, v = _lookup(value, name)
        if not found or v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not -(2**63) <= v < 2**63:
            shown = json.dumps(v) if isinstance(v, int | float) else _kind(v)
            raise _bad_body(
                f"json: cannot unmarshal {shown} into Go struct field "
                f"{toxic_type}.attributes.{name} of type int64"
            )
        attrs[name] = v
    return attrs


# ---------------------------------------------------------------------------
# Binding listen addresses like Go's net.Listen("tcp", addr)


def _format_addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _strerror(code: int) -> str:
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


def _ipv6_dual_stack() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0))
    except OSError:
        return False
    return True


def _split_listen(listen: str) -> tuple[str, int]:
    """Host and port of a listen address, as Go's SplitHostPort and port
    lookup judge it ("" means every interface, an empty port means 0)."""
    if listen == "":
        return "", 0
    host, sep, port_text = listen.rpartition(":")
    if not sep:
        raise ApiError(f"listen tcp: address {listen}: missing port in address", 500)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ApiError(f"listen tcp: address {listen}: too many colons in address", 500)
    port_text = port_text or "0"
    if not port_text.isdigit():
        raise ApiError(f"listen tcp: lookup tcp/{port_text}: unknown port", 500)
    if int(port_text) > 65535:
        raise ApiError(f"listen tcp: address {port_text}: invalid port", 500)
    return host, int(port_text)


async def bind_listen(listen: str) -> tuple[socket.socket, str]:
    """A bound (not yet listening) socket for ``listen`` and the address it is
    bound to. Raises ApiError(500) with Go's wording on failure."""
    host, port = _split_listen(listen)
    family: int
    if host in ("", "0.0.0.0", "::"):
        # Go listens dual-stack on a wildcard address and reports it as [::].
        if _ipv6_dual_stack():
            family, addr = socket.AF_INET6, "::"
        else:
            family, addr = socket.AF_INET, "0.0.0.0"
    else:
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            addr = host
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError:
                raise ApiError(f"listen tcp: lookup {host}: no such host", 500) from None
            # Go listens on the first IPv4 address of a name if it has one.
            infos.sort(key=lambda info: info[0] != socket.AF_INET)
            if not infos:
                raise ApiError(f"listen tcp: lookup {host}: no such host", 500) from None
            family, addr = infos[0][0], str(infos[0][4][0])

    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and addr == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((addr, port))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        code = exc.errno or errno.EINVAL
        raise ApiError(
            f"listen tcp {_format_addr(addr, port)}: bind: {_strerror(code)}", 500
        ) from None
    bound = sock.getsockname()
    return sock, _format_addr(str(bound[0]), int(bound[1]))


# ---------------------------------------------------------------------------
# Proxies


class Proxy:
    """One proxy: a listener, its live connections and its toxic chains."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.chains: dict[str, list[Toxic]] = {UPSTREAM: [], DOWNSTREAM: []}
        self.connections: set[Connection] = set()
        self.stats = {UPSTREAM: DirectionStats(), DOWNSTREAM: DirectionStats()}
        self.accepted = 0
        self._server: asyncio.Server | None = None

    # Owner interface for the data pump ----------------------------------------

    def toxics_for(self, stream: str) -> list[Toxic]:
        return list(self.chains[stream])

    def stats_for(self, stream: str) -> DirectionStats:
        return self.stats[stream]

    def connection_opened(self, conn: Connection) -> None:
        self.accepted += 1
        self.connections.add(conn)

    def connection_closed(self, conn: Connection) -> None:
        self.connections.discard(conn)

    # life cycle --------------------------------------------------------------

    async def start(self) -> None:
        """Listen (no-op if already enabled). Raises ApiError(500)."""
        if self.enabled:
            return
        sock, bound = await bind_listen(self.listen)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: Connection(self, loop).client, sock=sock, backlog=_BACKLOG
            )
        except OSError as exc:
            sock.close()
            raise ApiError(
                f"listen tcp {bound}: {_strerror(exc.errno or errno.EINVAL)}", 500
            ) from None
        self.listen = bound
        self.enabled = True
        log.info("proxy %s: listening on %s, upstream %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Close the listener and drop every connection (no-op if disabled)."""
        if not self.enabled:
            return
        self.enabled = False
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.abort()
        log.info("proxy %s: stopped", self.name)

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Change the addresses and state; an update that cannot listen keeps
        the proxy as it was (its old address, listening again if it was) and
        says so (toxiproxy leaves it disabled on the new address)."""
        old = (self.listen, self.upstream, self.enabled)
        if listen != self.listen or upstream != self.upstream:
            self.stop()
            self.listen = listen
            self.upstream = upstream
        try:
            if enabled and not self.enabled:
                await self.start()
            elif not enabled:
                self.stop()
        except ApiError as exc:
            self.listen, self.upstream = old[0], old[1]
            if old[2]:
                await self.start()
            kept = f"listening on {self.listen}" if self.enabled else "disabled"
            raise ApiError(f"{exc.message} (the proxy keeps {kept})", exc.status) from None

    # toxics --------------------------------------------------------------------

    def toxics(self) -> list[Toxic]:
        return [t for stream in STREAMS for t in self.chains[stream]]

    def find_toxic(self, name: str) -> Toxic | None:
        for toxic in self.toxics():
            if toxic.name == name:
                return toxic
        return None

    def add_toxic(self, toxic: Toxic) -> None:
        self.chains[toxic.stream].append(toxic)
        for conn in list(self.connections):
            conn.add_toxic(toxic)

    def replace_toxic(self, toxic: Toxic) -> None:
        chain = self.chains[toxic.stream]
        for i, old in enumerate(chain):
            if old.name == toxic.name:
                chain[i] = toxic
        for conn in list(self.connections):
            conn.update_toxic(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        chain = self.chains[toxic.stream]
        chain[:] = [t for t in chain if t.name != toxic.name]
        for conn in list(self.connections):
            conn.remove_toxic(toxic.stream, toxic.name)

    def reset_toxics(self) -> None:
        for toxic in self.toxics():
            self.remove_toxic(toxic)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxics()],
        }


class ProxyCollection:
    """Every proxy of the server, by name. Changes are serialised by ``lock``."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError(*PROXY_NOT_FOUND)
        return proxy

    async def add(self, proxy: Proxy, start: bool) -> None:
        if proxy.name in self.proxies:
            raise ApiError(*PROXY_EXISTS)
        if start:
            await proxy.start()
        self.proxies[proxy.name] = proxy

    async def add_or_replace(self, proxy: Proxy, start: bool) -> Proxy:
        existing = self.proxies.get(proxy.name)
        if existing is not None:
            if existing.listen == proxy.listen and existing.upstream == proxy.upstream:
                return existing
            existing.stop()
        if start:
            await proxy.start()
        self.proxies[proxy.name] = proxy
        return proxy

    async def populate(self, body: object) -> tuple[list[Proxy], ApiError | None]:
        """Create or replace proxies in order; stop at the first failure and
        keep what was done (no rollback)."""
        if not isinstance(body, list):
            raise _bad_body(f"json: cannot unmarshal {_kind(body)} into Go value of type []struct")
        inputs: list[tuple[str, str, str, bool]] = []
        for i, item in enumerate(body, 1):
            obj = _object(item, "struct")
            name = _field_str(obj, "name", "Proxy") or ""
            listen = _address("listen", _field_str(obj, "listen", "Proxy") or "")
            upstream = _address("upstream", _field_str(obj, "upstream", "Proxy") or "")
            enabled = _field_bool(obj, "enabled", "Proxy")
            if not name:
                raise _missing(f"name at proxy {i}")
            if not upstream:
                raise _missing(f"upstream at proxy {i}")
            _addressable("name", name)
            inputs.append((name, listen, upstream, True if enabled is None else enabled))
        done: list[Proxy] = []
        for name, listen, upstream, enabled in inputs:
            try:
                done.append(await self.add_or_replace(Proxy(name, listen, upstream), enabled))
            except ApiError as exc:
                return done, exc
        return done, None

    def clear(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()


# ---------------------------------------------------------------------------
# HTTP API


def _json_response(data: object, status: int = 200) -> web.Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


def _error_response(message: str, status: int, **extra: Any) -> web.Response:
    data: dict[str, Any] = {"error": message, "status": status, **extra}
    body = json.dumps(data, separators=(",", ":")).encode() + b"\n"
    return web.Response(status=status, body=body, content_type="application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    unmatched = request.match_info.http_exception
    if unmatched is not None:
        if unmatched.status == 405:
            return _error_response("405 method not allowed", 405)
        return _error_response("404 page not found", 404)
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return _error_response("User agent not allowed", 403)
    try:
        return await handler(request)
    except ApiError as exc:
        return _error_response(exc.message, exc.status)
    except web.HTTPException:
        raise
    except Exception as exc:  # the API must answer, never die
        log.exception("%s %s failed", request.method, request.path)
        return _error_response(f"{type(exc).__name__}: {exc}", 500)


class Api:
    """The HTTP handlers over one ProxyCollection."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection

    def routes(self) -> Iterable[web.RouteDef]:
        return [
            web.post("/reset", self.reset),
            web.get("/proxies", self.proxy_index, allow_head=False),
            web.post("/proxies", self.proxy_create),
            web.post("/populate", self.populate),
            web.get("/proxies/{proxy}", self.proxy_show, allow_head=False),
            web.post("/proxies/{proxy}", self.proxy_update),
            web.patch("/proxies/{proxy}", self.proxy_update),
            web.delete("/proxies/{proxy}", self.proxy_delete),
            web.get("/proxies/{proxy}/toxics", self.toxic_index, allow_head=False),
            web.post("/proxies/{proxy}/toxics", self.toxic_create),
            web.get("/proxies/{proxy}/toxics/{toxic}", self.toxic_show, allow_head=False),
            web.post("/proxies/{proxy}/toxics/{toxic}", self.toxic_update),
            web.patch("/proxies/{proxy}/toxics/{toxic}", self.toxic_update),
            web.delete("/proxies/{proxy}/toxics/{toxic}", self.toxic_delete),
            web.get("/version", self.version, allow_head=False),
            web.get("/metrics", self.metrics, allow_head=False),
        ]

    # proxies -----------------------------------------------------------------

    async def reset(self, request: web.Request) -> web.StreamResponse:
        async with self.collection.lock:
            for proxy in list(self.collection.proxies.values()):
                await proxy.start()
                proxy.reset_toxics()
        return web.Response(status=204)

    async def proxy_index(self, request: web.Request) -> web.StreamResponse:
        proxies = self.collection.proxies
        return _json_response({name: p.to_json() for name, p in proxies.items()})

    async def proxy_create(self, request: web.Request) -> web.StreamResponse:
        obj = _object(parse_body(await request.read()), "toxiproxy.Proxy")
        name = _field_str(obj, "name", "Proxy") or ""
        listen = _address("listen", _field_str(obj, "listen", "Proxy") or "")
        upstream = _address("upstream", _field_str(obj, "upstream", "Proxy") or "")
        enabled = _field_bool(obj, "enabled", "Proxy")
        if not name:
            raise _missing("name")
        if not upstream:
            raise _missing("upstream")
        proxy = Proxy(_addressable("name", name), listen, upstream)
        async with self.collection.lock:
            await self.collection.add(proxy, True if enabled is None else enabled)
        return _json_response(proxy.to_json(), 201)

    async def populate(self, request: web.Request) -> web.StreamResponse:
        body = parse_body(await request.read())
        async with self.collection.lock:
            done, error = await self.collection.populate(body)
        proxies = [p.to_json() for p in done]
        if error is not None:
            return _error_response(error.message, error.status, proxies=proxies)
        return _json_response({"proxies": proxies}, 201)

    async def proxy_show(self, request: web.Request) -> web.StreamResponse:
        return _json_response(self.collection.get(request.match_info["proxy"]).to_json())

    async def proxy_update(self, request: web.Request) -> web.StreamResponse:
        async with self.collection.lock:
            proxy = self.collection.get(request.match_info["proxy"])
            obj = _object(parse_body(await request.read()), "toxiproxy.Proxy")
            listen = _field_str(obj, "listen", "Proxy")
            upstream = _field_str(obj, "upstream", "Proxy")
            enabled = _field_bool(obj, "enabled", "Proxy")
            if listen is not None:
                _address("listen", listen)
            if upstream is not None:
                _address("upstream", upstream)
            await proxy.update(
                proxy.listen if listen is None else listen,
                proxy.upstream if upstream is None else upstream,
                proxy.enabled if enabled is None else enabled,
            )
        return _json_response(proxy.to_json())

    async def proxy_delete(self, request: web.Request) -> web.StreamResponse:
        async with self.collection.lock:
            proxy = self.collection.get(request.match_info["proxy"])
            proxy.stop()
            del self.collection.proxies[proxy.name]
        return web.Response(status=204)

    # toxics --------------------------------------------------------------------

    async def toxic_index(self, request: web.Request) -> web.StreamResponse:
        proxy = self.collection.get(request.match_info["proxy"])
        return _json_response([t.to_json() for t in proxy.toxics()])

    async def toxic_create(self, request: web.Request) -> web.StreamResponse:
        async with self.collection.lock:
            proxy = self.collection.get(request.match_info["proxy"])
            obj = _object(parse_body(await request.read()), "toxics.ToxicWrapper")
            name = _field_str(obj, "name", "ToxicWrapper") or ""
            toxic_type = _field_str(obj, "type", "ToxicWrapper") or ""
            stream = _field_str(obj, "stream", "ToxicWrapper")
            toxicity = _field_float(obj, "toxicity", "ToxicWrapper")
            stream = (stream if stream is not None else DOWNSTREAM).lower()
            if stream not in STREAMS:
                raise ApiError(*INVALID_STREAM)
            if not name:
                name = f"{toxic_type}_{stream}"
            _addressable("name", name)
            if toxic_type not in TOXIC_TYPES:
                raise ApiError(*INVALID_TOXIC_TYPE)
            if proxy.find_toxic(name) is not None:
                raise ApiError(*TOXIC_EXISTS)
            defaults = {attr: 0 for attr in TOXIC_TYPES[toxic_type].attributes}
            attributes = _decode_attributes(toxic_type, _lookup(obj, "attributes")[1], defaults)
            toxic = Toxic(
                name=name,
                type=toxic_type,
                stream=stream,
                toxicity=1.0 if toxicity is None else toxicity,
                attributes=attributes,
            )
            proxy.add_toxic(toxic)
        return _json_response(toxic.to_json())

    def _toxic(self, request: web.Request) -> tuple[Proxy, Toxic]:
        proxy = self.collection.get(request.match_info["proxy"])
        toxic = proxy.find_toxic(request.match_info["toxic"])
        if toxic is None:
            raise ApiError(*TOXIC_NOT_FOUND)
        return proxy, toxic

    async def toxic_show(self, request: web.Request) -> web.StreamResponse:
        return _json_response(self._toxic(request)[1].to_json())

    async def toxic_update(self, request: web.Request) -> web.StreamResponse:
        async with self.collection.lock:
            proxy, old = self._toxic(request)
            obj = _object(parse_body(await request.read()), "struct")
            attributes = _decode_attributes(old.type, _lookup(obj, "attributes")[1], old.attributes)
            toxicity = _field_float(obj, "toxicity", "struct")
            toxic = Toxic(
                name=old.name,
                type=old.type,
                stream=old.stream,
                toxicity=old.toxicity if toxicity is None else toxicity,
                attributes=attributes,
            )
            proxy.replace_toxic(toxic)
        return _json_response(toxic.to_json())

    async def toxic_delete(self, request: web.Request) -> web.StreamResponse:
        async with self.collection.lock:
            proxy, toxic = self._toxic(request)
            proxy.remove_toxic(toxic)
        return web.Response(status=204)

    # misc ----------------------------------------------------------------------

    async def version(self, request: web.Request) -> web.StreamResponse:
        body = json.dumps({"version": VERSION}).encode() + b"\n"
        return web.Response(body=body, headers={"Content-Type": "application/json;charset=utf-8"})

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=render_metrics(self.collection.proxies.values()),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(proxies: Iterable[Proxy]) -> str:
    """Prometheus text: toxiproxy's byte counters, plus the connections each
    proxy accepted (counter) and holds now (gauge)."""
    proxies = sorted(proxies, key=lambda p: p.name)
    lines: list[str] = []
    for metric, attr, help_text in (
        (
            "toxiproxy_proxy_received_bytes_total",
            "received",
            "The total bytes received from the source",
        ),
        (
            "toxiproxy_proxy_sent_bytes_total",
            "sent",
            "The total bytes sent to the destination",
        ),
    ):
        lines.append(f"# HELP {metric} {help_text}")
        lines.append(f"# TYPE {metric} counter")
        for p in proxies:
            for stream in STREAMS:
                value = getattr(p.stats[stream], attr)
                labels = (
                    f'direction="{stream}",listener="{_label(p.listen)}",'
                    f'proxy="{_label(p.name)}",upstream="{_label(p.upstream)}"'
                )
                lines.append(f"{metric}{{{labels}}} {value}")
    lines.append("# HELP js7ha_proxy_connections_total Client connections accepted by the proxy")
    lines.append("# TYPE js7ha_proxy_connections_total counter")
    for p in proxies:
        lines.append(f'js7ha_proxy_connections_total{{proxy="{_label(p.name)}"}} {p.accepted}')
    lines.append("# HELP js7ha_proxy_connections_open Client connections the proxy holds now")
    lines.append("# TYPE js7ha_proxy_connections_open gauge")
    for p in proxies:
        open_now = len(p.connections)
        lines.append(f'js7ha_proxy_connections_open{{proxy="{_label(p.name)}"}} {open_now}')
    return "\n".join(lines) + "\n"


def build_app(collection: ProxyCollection) -> web.Application:
    app = web.Application(middlewares=[_middleware])
    app.add_routes(Api(collection).routes())
    return app


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Network errors surfacing from transports are normal for a chaos proxy:
    # one line, no traceback.
    exc = context.get("exception")
    if isinstance(exc, OSError):
        log.info("%s: %s", context.get("message", "network error"), exc)
        return
    loop.default_exception_handler(context)


async def populate_from_file(collection: ProxyCollection, path: Path) -> None:
    """Create the proxies of a config file (a JSON array, as /populate takes);
    failures are logged, as toxiproxy does, and do not stop the server."""
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        log.error("error reading config file %s: %s", path, exc)
        return
    try:
        async with collection.lock:
            done, error = await collection.populate(parse_body(raw))
    except ApiError as exc:
        log.error("failed to populate proxies from file: %s", exc.message)
        return
    if error is not None:
        log.error("failed to populate proxies from file: %s", error.message)
    else:
        log.info("populated %d proxies from file", len(done))


async def serve(
    host: str,
    port: int,
    config: Path | None = None,
    *,
    ready: Callable[[str, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the API server until ``stop`` is set; then close every listener and
    connection. ``ready(host, port)`` is called once the API listens."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_exception_handler)
    collection = ProxyCollection()
    if config is not None:
        await populate_from_file(collection, config)
    runner = lowlevel.Runner(
        build_app(collection), _error_response, access_log=None, handle_signals=False
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True, backlog=_BACKLOG)
        await site.start()
        server = site._server  # the only way to learn an ephemeral port
        bound_port = port
        if isinstance(server, asyncio.Server) and server.sockets:
            bound_port = int(server.sockets[0].getsockname()[1])
        if ready is not None:
            ready(host, bound_port)
        await (stop or asyncio.Event()).wait()
    finally:
        collection.clear()
        await runner.cleanup()


def main_async(host: str, port: int, config: Path | None) -> int:
    """Run until SIGTERM/SIGINT; 0 on a clean stop, 1 if the API cannot listen."""
    import signal

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

        def ready(h: str, p: int) -> None:
            print(f"API listening on {_format_addr(h, p)}", file=sys.stderr, flush=True)

        try:
            await serve(host, port, config, ready=ready, stop=stop)
        except OSError as exc:
            print(f"cannot listen on {_format_addr(host, port)}: {exc}", file=sys.stderr)
            return 1
        return 0

    return asyncio.run(run())
