"""The harness's handle on a Toxiproxy-compatible server.

``ProxyServer`` finds or starts the server for a session: an external one
named by ``TOXIPROXY_URL``, else a real ``toxiproxy-server`` from PATH, else
the built-in ``python -m harness.netproxy``. ``LinkControl`` drives named
links (one proxy per link) through the toxiproxy-python client, so the same
calls work against the real server and the built-in one.

What must hold:

* Every failure of the server or the client surfaces as ``NetworkError``
  naming the link; a wrong argument is a ``ConfigError`` raised before
  anything is sent.
* ``cut``, ``heal``, ``delete`` and ``remove_toxic`` are idempotent: doing
  them twice is harmless.
* A ``drop`` cut black-holes the link (data is swallowed, nothing is closed),
  like packet loss. Healing it closes the connections that were black-holed
  (toxiproxy closes a connection when its ``timeout`` toxic is removed): the
  data they lost is gone, so clients must reconnect, as after a real
  partition. New connections work at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import requests
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness import cleanup, procs
from harness.errors import ConfigError, NetworkError

CUT_PREFIX = "js7ha-cut-"
_HTTP_TIMEOUT = 10.0
_LOG_TAIL_LINES = 40

T = TypeVar("T")
Direction = Literal["both", "upstream", "downstream"]
CutMode = Literal["drop", "refuse"]


def _log_tail(path: Path | None, lines: int = _LOG_TAIL_LINES) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ProxyServer:
    """Handle on the proxy API server used by the harness."""

    url: str
    host: str
    port: int
    external: bool

    def __init__(
        self,
        *,
        url: str,
        process: subprocess.Popen[bytes] | None = None,
        log_path: Path | None = None,
    ) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urllib.parse.urlsplit(url)
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 8474
        self.external = process is None
        self.log_path = log_path
        self._process = process
        # One bound method object, so cleanup.unregister finds what was registered.
        self._cleanup = self.close

    @classmethod
    def start(cls, *, log_path: Path, port: int, deadline: float = 10.0) -> ProxyServer:
        """If TOXIPROXY_URL is set: use that server (do not start anything).
        Else if ``toxiproxy-server`` is on PATH: start it (``-host 127.0.0.1
        -port PORT``). Else start ``python -m harness.netproxy --host 127.0.0.1
        --port PORT``. Return once ``GET /version`` answers; raise
        NetworkError (with the last 40 lines of the log) if it does not within
        ``deadline`` seconds."""
        external = os.environ.get("TOXIPROXY_URL")
        if external:
            server = cls(url=external)
            server._wait(deadline)
            return server
        exe = shutil.which("toxiproxy-server")
        if exe:
            argv = [exe, "-host", "127.0.0.1", "-port", str(port)]
        else:
            argv = [sys.executable, "-m", "harness.netproxy", "--host", "127.0.0.1"]
            argv += ["--port", str(port)]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        process = procs.spawn(argv, log_path=log_path)
        server = cls(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        cleanup.register(f"proxy server on port {port}", server._cleanup)
        try:
            server._wait(deadline)
        except BaseException:
            server.close()
            raise
        return server

    def _wait(self, deadline: float) -> None:
        end = time.monotonic() + deadline
        last = "no answer yet"
        while True:
            if self._process is not None and self._process.poll() is not None:
                last = f"the server exited with status {self._process.returncode}"
                break
            try:
                with urllib.request.urlopen(f"{self.url}/version", timeout=1.0) as resp:
                    if resp.status == 200:
                        return
                    last = f"GET /version answered {resp.status}"
            except (urllib.error.URLError, OSError) as exc:
                last = f"GET /version failed: {exc}"
            if time.monotonic() >= end:
                break
            time.sleep(0.05)
        text = f"proxy server at {self.url} not ready within {deadline:g}s: {last}"
        tail = _log_tail(self.log_path)
        if tail:
            text += f"\n--- last lines of {self.log_path} ---\n{tail}\n---"
        raise NetworkError(text)

    def close(self) -> None:
        """Stop the process we started (SIGTERM, wait up to 5 s, then SIGKILL).
        Idempotent; no-op for an external server."""
        process, self._process = self._process, None
        if process is None:
            return
        cleanup.unregister(self._cleanup)
        if process.poll() is None:
            if not procs.signal_group(process.pid, signal.SIGTERM):
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                if not procs.signal_group(process.pid, signal.SIGKILL):
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                process.wait()

    def __enter__(self) -> ProxyServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "external" if self.external else "started"
        return f"ProxyServer({self.url!r}, {kind})"


class _ServerSaid(Exception):
    """The server answered with an unexpected status."""


def _message(exc: BaseException) -> str:
    raw = exc.args[0] if exc.args else ""
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    text = str(raw).strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return text


def _expect(response: requests.Response, *codes: int) -> requests.Response:
    if response.status_code not in codes:
        raise _ServerError(response.status_code, _message(_ServerSaid(response.content)))
    return response


class _ServerError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


_METRIC_LINE = re.compile(
    r'^js7ha_proxy_connections_total\{proxy="((?:[^"\\]|\\.)*)"\}\s+([0-9.eE+-]+)\s*$'
)


class LinkControl:
    """Async operations on named links (= proxies) through the toxiproxy-python
    client, whose blocking calls run in worker threads.

    The client keeps the server address in class attributes of
    ``APIConsumer``; they are set from the server's URL (so code using the
    client directly talks to the same server), and this object sends its own
    requests through a private subclass, so another server's LinkControl
    cannot redirect them.
    """

    def __init__(self, server: ProxyServer) -> None:
        self.server = server
        APIConsumer.host = server.host
        APIConsumer.port = server.port
        self._api: Any = type(
            "LinkAPIConsumer", (APIConsumer,), {"host": server.host, "port": server.port}
        )

    async def _run(self, link: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except (ProxyExists, NotFound, InvalidToxic) as exc:
            raise NetworkError(f"link {link!r}: {type(exc).__name__}: {_message(exc)}") from exc
        except _ServerError as exc:
            raise NetworkError(f"link {link!r}: proxy server answered {exc}") from exc
        except requests.RequestException as exc:
            raise NetworkError(f"link {link!r}: proxy server {self.server.url}: {exc}") from exc
        except (ValueError, KeyError) as exc:
            raise NetworkError(f"link {link!r}: unexpected answer: {exc!r}") from exc

    def _get(self, url: str) -> requests.Response:
        return self._api.get(url, timeout=_HTTP_TIMEOUT)

    def _post(self, url: str, body: object | None = None) -> requests.Response:
        return self._api.post(url, json=body, timeout=_HTTP_TIMEOUT)

    def _delete(self, url: str) -> requests.Response:
        return self._api.delete(url, timeout=_HTTP_TIMEOUT)

    # links -------------------------------------------------------------------

    async def create(self, name: str, upstream: str, listen: str) -> str:
        """Create the link (replacing one of that name); return the bound
        listen address ``host:port``."""

        def run() -> str:
            with contextlib.suppress(NotFound):
                self._delete(f"/proxies/{_q(name)}")
            body = {"name": name, "upstream": upstream, "listen": listen, "enabled": True}
            return str(_expect(self._post("/proxies", body), 201).json()["listen"])

        return await self._run(name, run)

    async def delete(self, name: str) -> None:
        """Remove the link; harmless if it does not exist."""

        def run() -> None:
            with contextlib.suppress(NotFound):
                _expect(self._delete(f"/proxies/{_q(name)}"), 204)

        await self._run(name, run)

    async def cut(self, name: str, direction: Direction = "both", mode: CutMode = "drop") -> None:
        """Cut the link. ``drop``: black-hole the chosen direction(s) with
        ``timeout`` toxics (timeout 0) named ``js7ha-cut-<stream>``; live and
        new connections hang, as with packet loss. ``refuse``: disable the
        proxy (only for ``both``): live connections are closed and new ones
        refused. Cutting a cut link the same way again is harmless."""
        if direction not in ("both", "upstream", "downstream"):
            raise ConfigError(f"link {name!r}: unknown direction {direction!r}")
        if mode == "refuse":
            if direction != "both":
                raise ConfigError(
                    f"link {name!r}: a 'refuse' cut cannot be one-way ({direction!r})"
                )

            def refuse() -> None:
                _expect(self._post(f"/proxies/{_q(name)}", {"enabled": False}), 200)

            await self._run(name, refuse)
            return
        if mode != "drop":
            raise ConfigError(f"link {name!r}: unknown cut mode {mode!r}")
        streams = ["upstream", "downstream"] if direction == "both" else [direction]

        def drop() -> None:
            for stream in streams:
                toxic = {
                    "name": CUT_PREFIX + stream,
                    "type": "timeout",
                    "stream": stream,
                    "toxicity": 1.0,
                    "attributes": {"timeout": 0},
                }
                with contextlib.suppress(ProxyExists):
                    _expect(self._post(f"/proxies/{_q(name)}/toxics", toxic), 200)

        await self._run(name, drop)

    async def heal(self, name: str) -> None:
        """Undo every cut: remove the ``js7ha-cut-*`` toxics and enable the
        proxy. Harmless if the link is not cut. Connections that were
        black-holed are closed by the server; clients must reconnect."""

        def run() -> None:
            toxics = _expect(self._get(f"/proxies/{_q(name)}/toxics"), 200).json()
            for toxic in toxics:
                toxic_name = str(toxic.get("name", ""))
                if toxic_name.startswith(CUT_PREFIX):
                    with contextlib.suppress(NotFound):
                        self._delete(f"/proxies/{_q(name)}/toxics/{_q(toxic_name)}")
            _expect(self._post(f"/proxies/{_q(name)}", {"enabled": True}), 200)

        await self._run(name, run)

    async def add_toxic(
        self,
        name: str,
        type: str,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
        toxic_name: str | None = None,
    ) -> str:
        """Add a toxic to the link; return its name (``<type>_<stream>`` by default)."""
        body = {
            "name": toxic_name or f"{type}_{stream}",
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes or {}),
        }

        def run() -> str:
            resp = _expect(self._post(f"/proxies/{_q(name)}/toxics", body), 200)
            return str(resp.json()["name"])

        return await self._run(name, run)

    async def remove_toxic(self, name: str, toxic_name: str) -> None:
        """Remove a toxic; harmless if it (or the link) does not exist."""

        def run() -> None:
            with contextlib.suppress(NotFound):
                _expect(self._delete(f"/proxies/{_q(name)}/toxics/{_q(toxic_name)}"), 204)

        await self._run(name, run)

    async def reset(self) -> None:
        """Enable every link and remove every toxic."""

        def run() -> None:
            _expect(self._post("/reset"), 204)

        await self._run("*", run)

    async def listing(self) -> dict[str, dict[str, Any]]:
        """``GET /proxies`` as returned by the server."""

        def run() -> dict[str, dict[str, Any]]:
            data = _expect(self._get("/proxies"), 200).json()
            if not isinstance(data, dict):
                raise ValueError(f"GET /proxies returned {type(data).__name__}")
            return data

        return await self._run("*", run)

    async def connection_counts(self) -> dict[str, int]:
        """Client connections accepted so far, per link (from ``/metrics``).
        Raises NetworkError("not supported") for a server without that metric
        (a real toxiproxy)."""

        def run() -> dict[str, int]:
            try:
                resp = self._get("/metrics")
            except NotFound:
                raise _Unsupported() from None
            if resp.status_code != 200:
                raise _Unsupported()
            text = resp.text
            if "# TYPE js7ha_proxy_connections_total" not in text:
                raise _Unsupported()
            counts: dict[str, int] = {}
            for line in text.splitlines():
                m = _METRIC_LINE.match(line)
                if m:
                    proxy = re.sub(r"\\(.)", lambda g: "\n" if g[1] == "n" else g[1], m[1])
                    counts[proxy] = int(float(m[2]))
            return counts

        try:
            return await self._run("*", run)
        except _Unsupported:
            raise NetworkError(
                "not supported: the proxy server has no connection metrics"
            ) from None


class _Unsupported(Exception):
    pass
