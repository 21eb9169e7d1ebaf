"""The HTTP API: every endpoint, status code and error body of toxiproxy 2.12."""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from harness import ports, procs
from tests.netproxy.conftest import (
    Api,
    EchoServer,
    RunningServer,
    connect,
    host_port,
    recv_until_closed,
    refused,
    roundtrip,
    start_server,
    wait_for,
)


def error(resp: requests.Response) -> dict[str, Any]:
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()


def assert_error(resp: requests.Response, status: int, message: str) -> None:
    assert resp.status_code == status, resp.text
    assert error(resp) == {"error": message, "status": status}


@pytest.fixture
def busy_port() -> Any:
    """A port with a listener on it (so binding it fails)."""
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


# --- version, routing, user agents -------------------------------------------


def test_version(api: Api) -> None:
    resp = api.get("/version")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
    assert resp.json() == {"version": "2.12.0"}


def test_unknown_route_is_404_in_error_shape(api: Api) -> None:
    assert_error(api.get("/nope"), 404, "404 page not found")
    assert_error(api.get("/proxies/"), 404, "404 page not found")


def test_wrong_method_is_405_in_error_shape(api: Api) -> None:
    assert_error(api.request("PUT", "/proxies"), 405, "405 method not allowed")
    assert_error(api.get("/reset"), 405, "405 method not allowed")


def test_browsers_are_refused(api: Api) -> None:
    for path in ("/proxies", "/version"):
        resp = api.get(path, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
        assert_error(resp, 403, "User agent not allowed")
    assert api.get("/proxies", headers={"User-Agent": "curl/8 Mozilla/5.0"}).status_code == 200


# --- proxies -------------------------------------------------------------------


def test_proxy_index_empty(api: Api) -> None:
    resp = api.get("/proxies")
    assert resp.status_code == 200
    assert resp.json() == {}


def test_create_proxy_rewrites_port_zero(api: Api, echo: EchoServer) -> None:
    resp = api.post("/proxies", json={"name": "p", "listen": "127.0.0.1:0", "upstream": "x:1"})
    assert resp.status_code == 201
    body = resp.json()
    assert list(body) == ["name", "listen", "upstream", "enabled", "toxics"]
    host, port = host_port(body["listen"])
    assert host == "127.0.0.1"
    assert port != 0
    assert body == {
        "name": "p",
        "listen": f"127.0.0.1:{port}",
        "upstream": "x:1",
        "enabled": True,
        "toxics": [],
    }
    assert api.get("/proxies").json() == {"p": body}
    assert api.get("/proxies/p").json() == body
    # it really listens
    socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_create_proxy_localhost_and_wildcard(api: Api) -> None:
    body = api.create_proxy("l", "x:1", listen="localhost:0")
    assert body["listen"].startswith("127.0.0.1:")
    # No listen at all: all interfaces, as Go reports a dual-stack wildcard.
    resp = api.post("/proxies", json={"name": "w", "upstream": "x:1"})
    assert resp.status_code == 201
    assert resp.json()["listen"].rsplit(":", 1)[0] in ("[::]", "0.0.0.0")
    assert resp.json()["listen"].rsplit(":", 1)[1] != "0"


def test_create_disabled_proxy_does_not_listen(api: Api) -> None:
    port = ports.reserve_one()
    try:
        listen = f"127.0.0.1:{port}"
        body = api.create_proxy("d", "x:1", listen=listen, enabled=False)
        assert body["enabled"] is False
        assert body["listen"] == listen
        assert refused(listen)
    finally:
        ports.release([port])


def test_create_proxy_missing_fields(api: Api) -> None:
    assert_error(
        api.post("/proxies", json={"upstream": "x:1"}), 400, "missing required field: name"
    )
    assert_error(api.post("/proxies", json={"name": "n"}), 400, "missing required field: upstream")
    assert_error(
        api.post("/proxies", json={"name": "", "upstream": "x:1"}),
        400,
        "missing required field: name",
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"nonsense", b"[]", b'{"name": 5, "upstream": "x:1"}', b'{"enabled": "yes"}'],
)
def test_create_proxy_bad_body(api: Api, body: bytes) -> None:
    resp = api.post("/proxies", data=body)
    assert resp.status_code == 400
    assert error(resp)["error"].startswith("bad request body")
    assert error(resp)["status"] == 400


def test_create_proxy_go_json_rules(api: Api) -> None:
    # Keys match case-insensitively; the first JSON value counts.
    resp = api.post("/proxies", data=b'{"Name": "c", "UPSTREAM": "x:1", "listen": "127.0.0.1:0"} x')
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == "c"


def test_create_proxy_conflict(api: Api) -> None:
    api.create_proxy("dup", "x:1")
    assert_error(
        api.post("/proxies", json={"name": "dup", "upstream": "y:2"}), 409, "proxy already exists"
    )


def test_create_proxy_address_in_use(api: Api, busy_port: int) -> None:
    resp = api.post(
        "/proxies", json={"name": "busy", "upstream": "x:1", "listen": f"127.0.0.1:{busy_port}"}
    )
    assert_error(resp, 500, f"listen tcp 127.0.0.1:{busy_port}: bind: address already in use")
    assert api.get("/proxies").json() == {}


def test_create_proxy_bad_listen(api: Api) -> None:
    resp = api.post("/proxies", json={"name": "b", "upstream": "x:1", "listen": "nocolon"})
    assert_error(resp, 500, "listen tcp: address nocolon: missing port in address")


def test_show_unknown_proxy(api: Api) -> None:
    assert_error(api.get("/proxies/none"), 404, "proxy not found")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_proxy_keeps_omitted_fields(api: Api, echo: EchoServer, method: str) -> None:
    created = api.create_proxy("u", echo.address)
    resp = api.request(method, "/proxies/u", json={"enabled": False})
    assert resp.status_code == 200
    assert resp.json() == {**created, "enabled": False}
    assert refused(created["listen"])
    resp = api.request(method, "/proxies/u", json={"enabled": True})
    assert resp.json() == created  # same listen address again
    with connect(created["listen"]) as sock:
        roundtrip(sock, b"hello")
    resp = api.request(method, "/proxies/u", json={"upstream": "elsewhere:1"})
    assert resp.json() == {**created, "upstream": "elsewhere:1"}


def test_update_proxy_errors(api: Api, busy_port: int) -> None:
    assert_error(api.patch("/proxies/none", json={}), 404, "proxy not found")
    created = api.create_proxy("e", "x:1")
    resp = api.patch("/proxies/e", data=b"{")
    assert resp.status_code == 400
    assert error(resp)["error"].startswith("bad request body")
    resp = api.patch("/proxies/e", json={"listen": f"127.0.0.1:{busy_port}"})
    # Unlike toxiproxy (which leaves it disabled on the new address), a failed
    # update keeps the proxy as it was, and says so (issue 13, item 4).
    assert_error(
        resp,
        500,
        f"listen tcp 127.0.0.1:{busy_port}: bind: address already in use"
        f" (the proxy keeps listening on {created['listen']})",
    )
    assert api.get("/proxies/e").json() == created


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "x" * 201, "upstream": "x:1"}, "name is longer than 200 characters"),
        ({"name": "a/b", "upstream": "x:1"}, "must not contain '/'"),
        ({"name": "a\u0000", "upstream": "x:1"}, "must not contain '/' or control"),
        ({"name": "nul", "upstream": "x:1", "listen": "127.0.0.1\u0000:0"}, "listen must not"),
        ({"name": "nul", "upstream": "x\u0000:1"}, "upstream must not"),
    ],
)
def test_names_and_addresses_it_could_not_address_again_are_refused(
    api: Api, body: dict[str, Any], says: str
) -> None:
    raw = json.dumps(body).encode()  # a NUL as JSON escapes it
    resp = api.post("/proxies", data=raw)
    assert resp.status_code == 400, resp.text
    assert says in error(resp)["error"]
    assert api.get("/proxies").json() == {}


def test_a_lone_surrogate_name_is_refused(api: Api) -> None:
    resp = api.post("/proxies", data=b'{"name":"\\udc80","upstream":"x:1"}')
    assert resp.status_code == 400, resp.text
    assert "lone surrogate" in error(resp)["error"]
    api.create_proxy("t", "x:1")
    resp = api.post("/proxies/t/toxics", data=b'{"name":"' + b"y" * 300 + b'","type":"latency"}')
    assert resp.status_code == 400, resp.text
    assert api.get("/proxies/t/toxics").json() == []


def test_update_listen_restarts_and_drops_connections(api: Api, echo: EchoServer) -> None:
    created = api.create_proxy("m", echo.address)
    sock = connect(created["listen"])
    roundtrip(sock, b"ping")
    moved = api.update_proxy("m", listen="127.0.0.1:0")
    assert moved["listen"] != created["listen"]
    assert moved["enabled"] is True
    assert recv_until_closed(sock) == b""
    sock.close()
    assert refused(created["listen"])
    with connect(moved["listen"]) as again:
        roundtrip(again, b"pong")


def test_delete_proxy(api: Api) -> None:
    created = api.create_proxy("gone", "x:1")
    resp = api.delete("/proxies/gone")
    assert resp.status_code == 204
    assert resp.content == b""
    assert refused(created["listen"])
    assert_error(api.delete("/proxies/gone"), 404, "proxy not found")
    assert_error(api.get("/proxies/gone"), 404, "proxy not found")


# --- toxics --------------------------------------------------------------------


def test_toxic_defaults(api: Api) -> None:
    api.create_proxy("t", "x:1")
    assert api.get("/proxies/t/toxics").json() == []
    resp = api.post("/proxies/t/toxics", json={"type": "latency"})
    assert resp.status_code == 200  # not 201, as toxiproxy
    body = resp.json()
    assert body == {
        "attributes": {"latency": 0, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
    }
    assert api.get("/proxies/t/toxics").json() == [body]
    assert api.get("/proxies/t/toxics/latency_downstream").json() == body
    assert api.get("/proxies/t").json()["toxics"] == [body]


@pytest.mark.parametrize(
    ("toxic_type", "attributes"),
    [
        ("latency", {"latency": 0, "jitter": 0}),
        ("bandwidth", {"rate": 0}),
        ("slow_close", {"delay": 0}),
        ("timeout", {"timeout": 0}),
        ("reset_peer", {"timeout": 0}),
        ("slicer", {"average_size": 0, "size_variation": 0, "delay": 0}),
        ("limit_data", {"bytes": 0}),
        ("noop", {}),
    ],
)
def test_every_toxic_type_is_accepted(
    api: Api, toxic_type: str, attributes: dict[str, int]
) -> None:
    api.create_proxy("all", "x:1")
    body = api.add_toxic("all", type=toxic_type, stream="upstream", toxicity=0.5)
    assert body["attributes"] == attributes
    assert body["name"] == f"{toxic_type}_upstream"
    assert body["toxicity"] == 0.5


def test_toxic_stream_is_case_insensitive(api: Api) -> None:
    api.create_proxy("c", "x:1")
    body = api.add_toxic("c", type="noop", stream="UpStream")
    assert body["stream"] == "upstream"
    assert body["name"] == "noop_upstream"


def test_toxic_errors(api: Api) -> None:
    assert_error(api.post("/proxies/none/toxics", json={"type": "noop"}), 404, "proxy not found")
    assert_error(api.get("/proxies/none/toxics"), 404, "proxy not found")
    api.create_proxy("te", "x:1")
    assert_error(
        api.post("/proxies/te/toxics", json={"type": "latency", "stream": "sideways"}),
        400,
        "stream was invalid, can be either upstream or downstream",
    )
    assert_error(
        api.post("/proxies/te/toxics", json={"type": "nonsense"}), 400, "invalid toxic type"
    )
    assert_error(api.post("/proxies/te/toxics", json={}), 400, "invalid toxic type")
    for bad in (b"", b"[", b'{"type": "latency", "attributes": {"latency": "1"}}'):
        resp = api.post("/proxies/te/toxics", data=bad)
        assert resp.status_code == 400
        assert error(resp)["error"].startswith("bad request body")
    resp = api.post("/proxies/te/toxics", json={"type": "latency", "attributes": {"latency": 1.5}})
    assert resp.status_code == 400
    assert_error(api.get("/proxies/te/toxics/none"), 404, "toxic not found")
    assert_error(api.delete("/proxies/te/toxics/none"), 404, "toxic not found")
    assert_error(api.patch("/proxies/te/toxics/none", json={}), 404, "toxic not found")
    assert api.get("/proxies/te/toxics").json() == []


def test_toxic_names_are_unique_across_streams(api: Api) -> None:
    api.create_proxy("n", "x:1")
    api.add_toxic("n", type="latency", name="slow", stream="downstream")
    assert_error(
        api.post("/proxies/n/toxics", json={"type": "noop", "name": "slow", "stream": "upstream"}),
        409,
        "toxic already exists",
    )
    api.add_toxic("n", type="latency", stream="upstream")
    api.add_toxic("n", type="latency")
    assert_error(
        api.post("/proxies/n/toxics", json={"type": "latency"}), 409, "toxic already exists"
    )
    # upstream chain first, then downstream, each in order of addition
    names = [t["name"] for t in api.get("/proxies/n/toxics").json()]
    assert names == ["latency_upstream", "slow", "latency_downstream"]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_toxic_update_merges_attributes(api: Api, method: str) -> None:
    api.create_proxy("up", "x:1")
    api.add_toxic("up", type="latency", attributes={"latency": 100, "jitter": 10})
    resp = api.request(
        method,
        "/proxies/up/toxics/latency_downstream",
        json={
            "attributes": {"jitter": 20},
            "toxicity": 0.25,
            "name": "renamed",
            "type": "timeout",
            "stream": "upstream",
        },
    )
    assert resp.status_code == 200
    expected = {
        "attributes": {"latency": 100, "jitter": 20},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.25,
    }
    assert resp.json() == expected
    assert api.get("/proxies/up/toxics/latency_downstream").json() == expected
    resp = api.request(method, "/proxies/up/toxics/latency_downstream", json={})
    assert resp.json() == expected
    resp = api.request(method, "/proxies/up/toxics/latency_downstream", data=b"x")
    assert resp.status_code == 400


def test_toxic_delete(api: Api) -> None:
    api.create_proxy("del", "x:1")
    api.add_toxic("del", type="noop")
    resp = api.delete("/proxies/del/toxics/noop_downstream")
    assert resp.status_code == 204
    assert api.get("/proxies/del/toxics").json() == []
    assert_error(api.delete("/proxies/del/toxics/noop_downstream"), 404, "toxic not found")


# --- populate and reset ----------------------------------------------------------


def test_populate(api: Api, echo: EchoServer) -> None:
    resp = api.post(
        "/populate",
        json=[
            {"name": "a", "upstream": echo.address, "listen": "127.0.0.1:0"},
            {"name": "b", "upstream": echo.address, "listen": "127.0.0.1:0", "enabled": False},
        ],
    )
    assert resp.status_code == 201
    proxies = resp.json()["proxies"]
    assert [p["name"] for p in proxies] == ["a", "b"]
    assert [p["enabled"] for p in proxies] == [True, False]
    assert set(api.get("/proxies").json()) == {"a", "b"}


def test_populate_leaves_identical_proxy_untouched(api: Api, echo: EchoServer) -> None:
    a = api.create_proxy("a", echo.address)
    api.add_toxic("a", type="latency", attributes={"latency": 5})
    sock = connect(a["listen"])
    roundtrip(sock, b"before")
    resp = api.post(
        "/populate", json=[{"name": "a", "upstream": echo.address, "listen": a["listen"]}]
    )
    assert resp.status_code == 201
    [shown] = resp.json()["proxies"]
    assert shown["listen"] == a["listen"]
    assert [t["name"] for t in shown["toxics"]] == ["latency_downstream"]
    roundtrip(sock, b"still connected")
    sock.close()


def test_populate_replaces_changed_proxy(api: Api, echo: EchoServer) -> None:
    a = api.create_proxy("a", "x:1")
    api.add_toxic("a", type="noop")
    resp = api.post(
        "/populate", json=[{"name": "a", "upstream": echo.address, "listen": a["listen"]}]
    )
    assert resp.status_code == 201
    [shown] = resp.json()["proxies"]
    assert shown["upstream"] == echo.address
    assert shown["listen"] == a["listen"]  # rebound on the same port
    assert shown["toxics"] == []
    with connect(shown["listen"]) as sock:
        roundtrip(sock, b"new upstream")


def test_populate_partial_failure_keeps_what_was_created(api: Api, busy_port: int) -> None:
    resp = api.post(
        "/populate",
        json=[
            {"name": "first", "upstream": "x:1", "listen": "127.0.0.1:0"},
            {"name": "second", "upstream": "x:1", "listen": f"127.0.0.1:{busy_port}"},
            {"name": "third", "upstream": "x:1", "listen": "127.0.0.1:0"},
        ],
    )
    assert resp.status_code == 500
    body = resp.json()
    assert body["error"] == f"listen tcp 127.0.0.1:{busy_port}: bind: address already in use"
    assert body["status"] == 500
    assert [p["name"] for p in body["proxies"]] == ["first"]
    assert set(api.get("/proxies").json()) == {"first"}


def test_populate_validates_before_creating(api: Api) -> None:
    resp = api.post("/populate", json=[{"name": "ok", "upstream": "x:1"}, {"name": "broken"}])
    assert resp.status_code == 400
    assert resp.json()["error"] == "missing required field: upstream at proxy 2"
    assert api.get("/proxies").json() == {}
    for bad in (b"", b"{}", b'[{"name": 1}]'):
        resp = api.post("/populate", data=bad)
        assert resp.status_code == 400
        assert resp.json()["error"].startswith("bad request body")


def test_reset(api: Api, echo: EchoServer) -> None:
    a = api.create_proxy("a", echo.address)
    b = api.create_proxy("b", echo.address)
    api.add_toxic("a", type="latency", attributes={"latency": 1000})
    api.add_toxic("b", type="timeout", stream="upstream")
    api.update_proxy("b", enabled=False)
    resp = api.post("/reset")
    assert resp.status_code == 204
    shown = api.get("/proxies").json()
    assert shown["a"] == a
    assert shown["b"] == b
    for p in (a, b):
        with connect(p["listen"]) as sock:
            assert roundtrip(sock, b"fast again") < 0.5


# --- metrics ---------------------------------------------------------------------


def test_metrics_count_bytes_and_connections(api: Api, echo: EchoServer) -> None:
    p = api.create_proxy("met", echo.address)
    for _ in range(3):
        with connect(p["listen"]) as sock:
            roundtrip(sock, b"x" * 100)
    resp = api.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    labels = {"proxy": "met", "listener": p["listen"], "upstream": echo.address}
    wait_for(lambda: api.metric("js7ha_proxy_connections_total", proxy="met") == 3)
    for direction in ("upstream", "downstream"):
        for name in ("received", "sent"):
            value = api.metric(f"toxiproxy_proxy_{name}_bytes_total", direction=direction, **labels)
            assert value == 300, (direction, name)
    wait_for(lambda: api.metric("js7ha_proxy_connections_open", proxy="met") == 0)


# --- robustness ------------------------------------------------------------------


def test_upstream_refusing_closes_the_client(api: Api) -> None:
    dead = socket.create_server(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    p = api.create_proxy("dead", f"127.0.0.1:{dead_port}")
    with connect(p["listen"]) as sock:
        sock.sendall(b"anyone?")
        assert recv_until_closed(sock) == b""
    assert api.get("/version").status_code == 200


def test_garbage_does_not_hurt_the_server(
    api: Api, echo: EchoServer, netproxy: RunningServer
) -> None:
    p = api.create_proxy("g", echo.address)
    for path in ("/proxies", "/populate", "/proxies/g", "/proxies/g/toxics", "/reset"):
        for body in (b"\xff\xfe", b"[" * 100_000, b"null", b"1e999", json.dumps([None]).encode()):
            resp = api.post(path, data=body)
            assert resp.status_code < 500 or resp.json()["status"] == resp.status_code
    # a client that connects and vanishes at once, many times
    for _ in range(20):
        s = connect(p["listen"])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    with connect(p["listen"]) as sock:
        roundtrip(sock, b"still fine")
    assert "Traceback" not in netproxy.log()


@pytest.mark.parametrize(
    "raw",
    [
        b"HELLO\r\n\r\n",
        b"POST /proxies HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"GET /proxies HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
    ids=["bad request line", "duplicate Content-Length", "header too large"],
)
def test_http_garbage_gets_toxiproxys_error_json(api: Api, raw: bytes) -> None:
    host, _, port = api.url.removeprefix("http://").rstrip("/").partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        data = recv_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert 400 <= status < 500, data[:200]
    assert b"application/json" in head
    answer = json.loads(body)
    assert answer["status"] == status and answer["error"]
    assert api.get("/version").status_code == 200


# --- command line ------------------------------------------------------------------


def test_cli_config_single_dash_flags_and_sigterm(tmp_path: Path, echo: EchoServer) -> None:
    listen_port, api_port = ports.reserve(2)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            [
                {
                    "name": "from_config",
                    "upstream": echo.address,
                    "listen": f"127.0.0.1:{listen_port}",
                },
                {"name": "off", "upstream": echo.address, "enabled": False},
            ]
        )
    )
    log_path = tmp_path / "cli.log"
    argv = [sys.executable, "-m", "harness.netproxy", "-host", "127.0.0.1"]
    argv += ["-port", str(api_port), "-config", str(config)]
    server = RunningServer("127.0.0.1", api_port, procs.spawn(argv, log_path=log_path), log_path)
    try:
        wait_for(lambda: "API listening on 127.0.0.1:" in server.log(), timeout=15)
        proxies = requests.get(f"{server.url}/proxies", timeout=5).json()
        assert proxies["from_config"]["listen"] == f"127.0.0.1:{listen_port}"
        assert proxies["off"]["enabled"] is False
        sock = connect(f"127.0.0.1:{listen_port}")
        roundtrip(sock, b"configured")
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 5
        assert recv_until_closed(sock) == b""
        sock.close()
        assert refused(f"127.0.0.1:{listen_port}")
    finally:
        server.stop()
        ports.release([listen_port, api_port])


def test_cli_sigint_exits_zero(tmp_path: Path, echo: EchoServer) -> None:
    server = start_server(tmp_path)
    try:
        api = Api(server.url)
        p = api.create_proxy("i", echo.address)
        sock = connect(p["listen"])
        roundtrip(sock, b"before")
        procs.signal_group(server.process.pid, signal.SIGINT)
        assert server.process.wait(timeout=10) == 0
        assert recv_until_closed(sock) == b""
        sock.close()
        assert refused(p["listen"])
        assert "Traceback" not in server.log()
    finally:
        server.stop()
        ports.release([server.port])


def test_cli_api_port_in_use_exits_nonzero(tmp_path: Path, busy_port: int) -> None:
    with pytest.raises(AssertionError, match="exited with 1"):
        start_server(tmp_path, port=busy_port)
