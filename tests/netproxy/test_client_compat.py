"""The server driven by the real toxiproxy-python client, unchanged, and the
harness glue (``ProxyServer``, ``LinkControl``) built on that client."""

from __future__ import annotations

import http.server
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness import ports
from harness.errors import ConfigError, NetworkError
from harness.netproxy import LinkControl, ProxyServer
from harness.netproxy import control as control_module
from tests.netproxy.conftest import (
    Api,
    EchoServer,
    RunningServer,
    connect,
    refused,
    roundtrip,
    wait_for,
)


@pytest.fixture
def consumer(netproxy: RunningServer) -> Iterator[None]:
    """Point the client's class-level address at the test server, and back."""
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = netproxy.host, netproxy.port
    yield
    APIConsumer.host, APIConsumer.port = saved


@pytest.fixture
def toxiproxy(api: Api, consumer: None) -> Iterator[Toxiproxy]:
    client = Toxiproxy()
    yield client
    client.destroy_all()


# --- toxiproxy-python, unchanged ------------------------------------------------


def test_client_create_find_destroy(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    proxy = toxiproxy.create(upstream=echo.address, name="db")
    assert proxy.name == "db"
    assert proxy.upstream == echo.address
    assert proxy.enabled is True
    assert proxy.listen.startswith("127.0.0.1:")
    assert set(toxiproxy.proxies()) == {"db"}
    found = toxiproxy.get_proxy("db")
    assert found is not None
    assert found.listen == proxy.listen
    assert toxiproxy.get_proxy("nope") is None
    with connect(proxy.listen) as sock:
        roundtrip(sock, b"through the client's proxy")
    assert toxiproxy.destroy(proxy) is True
    assert toxiproxy.proxies() == {}
    assert toxiproxy.destroy("not a proxy object") is False


def test_client_create_disabled_with_listen(toxiproxy: Toxiproxy) -> None:
    port = ports.reserve_one()
    try:
        proxy = toxiproxy.create(
            upstream="localhost:3306", name="off", enabled=False, listen=f"127.0.0.1:{port}"
        )
        assert proxy.enabled is False
        assert proxy.listen == f"127.0.0.1:{port}"
    finally:
        ports.release([port])


def test_client_destroy_all(toxiproxy: Toxiproxy) -> None:
    for i in range(3):
        toxiproxy.create(upstream="localhost:3306", name=f"p{i}")
    toxiproxy.destroy_all()
    assert toxiproxy.proxies() == {}


def test_client_populate(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    a, b = ports.reserve(2)
    try:
        wanted = [
            {"name": "pop1", "upstream": echo.address, "listen": f"127.0.0.1:{a}"},
            {"name": "pop2", "upstream": echo.address, "listen": f"127.0.0.1:{b}"},
        ]
        created = toxiproxy.populate(wanted)
        assert sorted(p.listen for p in created) == sorted([f"127.0.0.1:{a}", f"127.0.0.1:{b}"])
        # the same again: nothing to do, the client keeps what exists
        assert toxiproxy.populate(wanted) == []
        for proxy in created:
            with connect(proxy.listen) as sock:
                roundtrip(sock, b"populated")
    finally:
        ports.release([a, b])


def test_client_version_running_reset(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    assert toxiproxy.running() is True
    version = toxiproxy.version()
    assert isinstance(version, bytes)
    assert b'"version": "2.12.0"' in version
    proxy = toxiproxy.create(upstream=echo.address, name="r")
    proxy.add_toxic(type="latency", attributes={"latency": 123})
    proxy.disable()
    assert refused(proxy.listen)
    assert toxiproxy.reset() is True
    assert proxy.toxics() == {}
    with connect(proxy.listen) as sock:
        assert roundtrip(sock, b"reset") < 0.1


def test_client_disable_enable_down(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    proxy = toxiproxy.create(upstream=echo.address, name="flappy")
    listen = proxy.listen
    proxy.disable()
    assert proxy.enabled is False
    assert refused(listen)
    proxy.enable()
    assert proxy.enabled is True
    with connect(listen) as sock:
        roundtrip(sock, b"up")
    with proxy.down():
        assert refused(listen)
    with connect(listen) as sock:
        roundtrip(sock, b"up again")
    assert toxiproxy.get_proxy("flappy").listen == listen


def test_client_toxics(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    proxy = toxiproxy.create(upstream=echo.address, name="tox")
    proxy.add_toxic(type="latency", attributes={"latency": 123})
    proxy.add_toxic(type="bandwidth", stream="upstream", name="thin", attributes={"rate": 1000})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "thin"}
    latency = proxy.get_toxic("latency_downstream")
    assert latency.attributes == {"latency": 123, "jitter": 0}
    assert latency.stream == "downstream"
    assert latency.toxicity == 1
    assert toxics["thin"].stream == "upstream"
    with connect(proxy.listen) as sock:
        assert roundtrip(sock, b"slow") >= 0.123 - 0.002
    assert proxy.destroy_toxic("latency_downstream") is True
    assert set(proxy.toxics()) == {"thin"}
    assert proxy.get_toxic("latency_downstream") is None


def test_client_exceptions(toxiproxy: Toxiproxy) -> None:
    proxy = toxiproxy.create(upstream="localhost:3306", name="exc")
    with pytest.raises(ProxyExists):
        toxiproxy.create(upstream="localhost:3306", name="exc")  # the client's own check
    with pytest.raises(ProxyExists):  # and the server's 409
        APIConsumer.post("/proxies", json={"name": "exc", "upstream": "localhost:3306"})
    with pytest.raises(NotFound):
        APIConsumer.get("/proxies/none")
    with pytest.raises(NotFound):
        APIConsumer.get("/not_found")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="nonsense")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="latency", stream="lolstream")
    proxy.add_toxic(type="noop")
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="noop")
    with pytest.raises(NotFound):
        proxy.destroy_toxic("none")


# --- ProxyServer -------------------------------------------------------------------


@pytest.fixture
def no_external(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    monkeypatch.setattr(control_module.shutil, "which", lambda name: None)


def test_proxy_server_starts_the_builtin_server(tmp_path: Path, no_external: None) -> None:
    port = ports.reserve_one()
    try:
        server = ProxyServer.start(log_path=tmp_path / "logs" / "proxy.log", port=port)
        assert server.external is False
        assert (server.host, server.port) == ("127.0.0.1", port)
        assert server.url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{server.url}/version", timeout=5).json() == {"version": "2.12.0"}
        assert "API listening on" in (tmp_path / "logs" / "proxy.log").read_text()
        server.close()
        server.close()  # idempotent
        assert refused(f"127.0.0.1:{port}")
    finally:
        ports.release([port])


def test_proxy_server_uses_toxiproxy_server_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in `toxiproxy-server` that only understands the Go flags.
    fake = tmp_path / "bin" / "toxiproxy-server"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = -host ] && [ "$3" = -port ] || exit 3\n'
        f'exec {sys.executable} -m harness.netproxy "$@"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    port = ports.reserve_one()
    try:
        with ProxyServer.start(log_path=tmp_path / "proxy.log", port=port) as server:
            assert server.external is False
            assert requests.get(f"{server.url}/version", timeout=5).status_code == 200
        assert refused(f"127.0.0.1:{port}")
    finally:
        ports.release([port])


def test_proxy_server_external(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, netproxy: RunningServer
) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", netproxy.url)
    server = ProxyServer.start(log_path=tmp_path / "unused.log", port=1)
    assert server.external is True
    assert (server.host, server.port, server.url) == (netproxy.host, netproxy.port, netproxy.url)
    server.close()  # must not stop someone else's server
    assert requests.get(f"{netproxy.url}/version", timeout=5).status_code == 200
    assert not (tmp_path / "unused.log").exists()


def test_proxy_server_start_failure_carries_the_log(tmp_path: Path, no_external: None) -> None:
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        started = time.monotonic()
        with pytest.raises(NetworkError) as info:
            ProxyServer.start(log_path=tmp_path / "proxy.log", port=busy.getsockname()[1])
        assert time.monotonic() - started < 10  # noticed the exit, did not wait it out
        assert "exited with status 1" in str(info.value)
        assert "cannot listen" in str(info.value)  # the log tail
    finally:
        busy.close()


def test_proxy_server_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        monkeypatch.setenv("TOXIPROXY_URL", f"127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(NetworkError, match=r"not ready within 0\.5s"):
            ProxyServer.start(log_path=tmp_path / "x.log", port=1, deadline=0.5)
        assert time.monotonic() - started < 5
    finally:
        silent.close()


# --- LinkControl ---------------------------------------------------------------------


@pytest.fixture
def links(api: Api, netproxy: RunningServer, consumer: None) -> LinkControl:
    return LinkControl(ProxyServer(url=netproxy.url))


def hangs(sock: socket.socket, payload: bytes, window: float = 0.3) -> bool:
    """True if ``payload`` gets no echo (and no close) within ``window`` seconds."""
    sock.sendall(payload)
    sock.settimeout(window)
    try:
        sock.recv(100)
    except TimeoutError:
        return True
    return False


def gets_closed(sock: socket.socket, timeout: float = 3.0) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(100):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


async def test_link_create_replace_delete(links: LinkControl, echo: EchoServer) -> None:
    listen = await links.create("node-a", echo.address, "127.0.0.1:0")
    assert listen.startswith("127.0.0.1:")
    listing = await links.listing()
    assert listing["node-a"]["listen"] == listen
    assert listing["node-a"]["upstream"] == echo.address
    replaced = await links.create("node-a", echo.address, listen)
    assert replaced == listen
    with connect(listen) as sock:
        roundtrip(sock, b"linked")
    await links.delete("node-a")
    await links.delete("node-a")  # idempotent
    assert "node-a" not in await links.listing()


async def test_link_cut_drop_both_and_heal(links: LinkControl, echo: EchoServer, api: Api) -> None:
    listen = await links.create("ab", echo.address, "127.0.0.1:0")
    live = connect(listen)
    roundtrip(live, b"before")
    await links.cut("ab")
    await links.cut("ab")  # harmless
    toxics = {t["name"]: t for t in api.get("/proxies/ab/toxics").json()}
    assert set(toxics) == {"js7ha-cut-upstream", "js7ha-cut-downstream"}
    assert toxics["js7ha-cut-upstream"]["attributes"] == {"timeout": 0}
    assert hangs(live, b"lost")
    with connect(listen) as fresh:
        assert hangs(fresh, b"lost too")
    await links.heal("ab")
    assert api.get("/proxies/ab/toxics").json() == []
    assert gets_closed(live)  # the black-holed connection does not come back
    live.close()
    with connect(listen) as sock:
        roundtrip(sock, b"healed")
    await links.heal("ab")  # harmless


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
async def test_link_cut_drop_one_way(
    links: LinkControl, echo: EchoServer, api: Api, direction: Any
) -> None:
    listen = await links.create("one", echo.address, "127.0.0.1:0")
    await links.cut("one", direction, "drop")
    names = [t["name"] for t in api.get("/proxies/one/toxics").json()]
    assert names == [f"js7ha-cut-{direction}"]
    with connect(listen) as sock:
        assert hangs(sock, b"12345")
        if direction == "downstream":
            wait_for(lambda: echo.received == 5)
        else:
            assert echo.received == 0
    await links.heal("one")
    with connect(listen) as sock:
        roundtrip(sock, b"both ways again")


async def test_link_cut_refuse_and_heal(links: LinkControl, echo: EchoServer) -> None:
    listen = await links.create("rf", echo.address, "127.0.0.1:0")
    live = connect(listen)
    roundtrip(live, b"before")
    await links.cut("rf", "both", "refuse")
    await links.cut("rf", "both", "refuse")  # harmless
    assert gets_closed(live)
    live.close()
    assert refused(listen)
    await links.heal("rf")
    await links.heal("rf")
    with connect(listen) as sock:
        roundtrip(sock, b"accepting again")


async def test_link_cut_bad_arguments(links: LinkControl, echo: EchoServer) -> None:
    await links.create("bad", echo.address, "127.0.0.1:0")
    with pytest.raises(ConfigError):
        await links.cut("bad", "upstream", "refuse")
    with pytest.raises(ConfigError):
        await links.cut("bad", "both", "explode")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        await links.cut("bad", "sideways")  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match="'missing'"):
        await links.cut("missing")
    with pytest.raises(NetworkError, match="'missing'"):
        await links.heal("missing")


async def test_link_toxics(links: LinkControl, echo: EchoServer, api: Api) -> None:
    listen = await links.create("tx", echo.address, "127.0.0.1:0")
    name = await links.add_toxic("tx", "latency", attributes={"latency": 100})
    assert name == "latency_downstream"
    named = await links.add_toxic("tx", "noop", stream="upstream", toxicity=0.5, toxic_name="mine")
    assert named == "mine"
    shown = {t["name"]: t for t in api.get("/proxies/tx/toxics").json()}
    assert shown["mine"]["toxicity"] == 0.5
    assert shown["mine"]["stream"] == "upstream"
    with connect(listen) as sock:
        assert roundtrip(sock, b"slow") >= 0.1 - 0.002
        await links.remove_toxic("tx", "latency_downstream")
        await links.remove_toxic("tx", "latency_downstream")  # idempotent
        await links.remove_toxic("nolink", "whatever")
        assert roundtrip(sock, b"fast") < 0.1
    with pytest.raises(NetworkError, match=r"'tx'.*invalid toxic type"):
        await links.add_toxic("tx", "nonsense")
    with pytest.raises(NetworkError, match=r"'tx'.*toxic already exists"):
        await links.add_toxic("tx", "noop", toxic_name="mine")
    with pytest.raises(NetworkError, match=r"'nolink'.*proxy not found"):
        await links.add_toxic("nolink", "noop")


async def test_link_reset(links: LinkControl, echo: EchoServer, api: Api) -> None:
    await links.create("rs", echo.address, "127.0.0.1:0")
    await links.cut("rs", mode="refuse")
    await links.add_toxic("rs", "latency", attributes={"latency": 1000})
    await links.reset()
    shown = (await links.listing())["rs"]
    assert shown["enabled"] is True
    assert shown["toxics"] == []


async def test_link_create_errors(links: LinkControl) -> None:
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(NetworkError, match=r"'x'.*address already in use"):
            await links.create("x", "127.0.0.1:1", f"127.0.0.1:{busy.getsockname()[1]}")
    finally:
        busy.close()


async def test_link_connection_counts(links: LinkControl, echo: EchoServer) -> None:
    a = await links.create("ca", echo.address, "127.0.0.1:0")
    await links.create("cb", echo.address, "127.0.0.1:0")
    for _ in range(3):
        with connect(a) as sock:
            roundtrip(sock, b"count me")
    counts = await links.connection_counts()
    assert counts == {"ca": 3, "cb": 0}


async def test_link_errors_when_the_server_is_gone(tmp_path: Path) -> None:
    dead = socket.create_server(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    saved = APIConsumer.host, APIConsumer.port
    try:
        links = LinkControl(ProxyServer(url=f"http://127.0.0.1:{port}"))
        with pytest.raises(NetworkError, match="'gone'"):
            await links.create("gone", "127.0.0.1:1", "127.0.0.1:0")
    finally:
        APIConsumer.host, APIConsumer.port = saved


class _NoMetrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "19")
        self.end_headers()
        self.wfile.write(b"404 page not found\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_connection_counts_unsupported_without_the_metric() -> None:
    # A real toxiproxy without proxy metrics answers /metrics with 404.
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _NoMetrics)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    saved = APIConsumer.host, APIConsumer.port
    try:
        links = LinkControl(ProxyServer(url=f"http://127.0.0.1:{httpd.server_address[1]}"))
        with pytest.raises(NetworkError, match="not supported"):
            await links.connection_counts()
    finally:
        APIConsumer.host, APIConsumer.port = saved
        httpd.shutdown()
        httpd.server_close()
