"""Toxics measured on real connections through the server to an echo server.

Timing assertions use a lower bound from the toxic's settings and a generous
upper bound (the suite runs under ``pytest -n 2`` on small machines).
"""

from __future__ import annotations

import random
import socket
import statistics
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.netproxy.conftest import (
    Api,
    EchoServer,
    connect,
    recv_exactly,
    recv_until_closed,
    refused,
    roundtrip,
    wait_for,
)

SLACK = 0.002  # timer granularity of the proxy's event loop


@pytest.fixture
def proxy(api: Api, echo: EchoServer) -> Iterator[dict[str, Any]]:
    """The proxy "echo" in front of the echo server. After the test (whose
    sockets are closed by then) the server must hold no connection of it."""
    yield api.create_proxy("echo", echo.address)
    api.post("/reset")  # black holes would keep connections open on purpose
    echo.close()
    wait_for(lambda: api.metric("js7ha_proxy_connections_open", proxy="echo") == 0)


def baseline(listen: str, n: int = 5) -> float:
    with connect(listen) as sock:
        return min(roundtrip(sock, b"x" * 64) for _ in range(n))


def received(api: Api, direction: str) -> float:
    """Bytes the proxy "echo" has read in ``direction`` so far."""
    return api.metric("toxiproxy_proxy_received_bytes_total", proxy="echo", direction=direction)


def becomes_true(predicate: Any, window: float) -> bool:
    """True if ``predicate`` becomes true within ``window`` seconds."""
    end = time.monotonic() + window
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def drain(sock: socket.socket) -> None:
    """Read until EOF; a reset raises ConnectionResetError."""
    while sock.recv(100):
        pass


def closed_within(sock: socket.socket, timeout: float) -> bool:
    """True if the peer closes (EOF or reset) within ``timeout`` seconds,
    ignoring any data that still arrives."""
    sock.settimeout(timeout)
    try:
        recv_until_closed(sock)
    except TimeoutError:
        return False
    return True


# --- the plain path ----------------------------------------------------------


def test_no_toxics_forwards_bytes_intact(proxy: dict[str, Any]) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    with connect(proxy["listen"], timeout=10) as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        roundtrip(sock, b"small")


def test_half_close_propagates(proxy: dict[str, Any]) -> None:
    # EOF from the client reaches the server as EOF while the way back keeps
    # flowing: the echo server answers everything, then closes.
    payload = b"y" * 200_000
    with connect(proxy["listen"], timeout=10) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        assert recv_until_closed(sock) == payload


def test_half_close_behind_a_toxic(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", attributes={"latency": 50})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"abc")
        sock.shutdown(socket.SHUT_WR)
        start = time.monotonic()
        assert recv_until_closed(sock) == b"abc"
        assert time.monotonic() - start >= 0.05 - SLACK


def test_client_vanishing_mid_stream_is_harmless(
    api: Api, proxy: dict[str, Any], echo: EchoServer
) -> None:
    for _ in range(5):
        sock = connect(proxy["listen"])
        sock.sendall(b"z" * 500_000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST while data flows both ways
    with connect(proxy["listen"]) as sock:
        roundtrip(sock, b"alive")
    assert api.get("/version").status_code == 200


# --- latency -------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_latency(api: Api, proxy: dict[str, Any], stream: str) -> None:
    direct = baseline(proxy["listen"])
    api.add_toxic("echo", type="latency", stream=stream, attributes={"latency": 100})
    with connect(proxy["listen"]) as sock:
        times = [roundtrip(sock, b"x" * 64) for _ in range(3)]
    assert min(times) >= 0.100 - SLACK
    assert max(times) < 0.100 + direct + 0.150


def test_latency_both_ways_adds_up(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", stream="upstream", attributes={"latency": 60})
    api.add_toxic("echo", type="latency", stream="downstream", attributes={"latency": 60})
    with connect(proxy["listen"]) as sock:
        took = roundtrip(sock, b"both")
    assert 0.120 - SLACK <= took < 0.120 + 0.150


def test_latency_jitter_stays_in_range(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", attributes={"latency": 60, "jitter": 40})
    with connect(proxy["listen"]) as sock:
        times = [roundtrip(sock, b"j") for _ in range(12)]
    assert min(times) >= 0.020 - SLACK
    assert max(times) < 0.100 + 0.100
    assert statistics.pstdev(times) > 0.005  # it does vary


def test_latency_keeps_order_of_pipelined_chunks(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", attributes={"latency": 30, "jitter": 25})
    with connect(proxy["listen"]) as sock:
        parts = [f"<{i:04d}>".encode() for i in range(100)]
        for part in parts:
            sock.sendall(part)
        assert recv_exactly(sock, 600) == b"".join(parts)


# --- bandwidth -------------------------------------------------------------------


def test_bandwidth_limits_throughput(api: Api, proxy: dict[str, Any]) -> None:
    rate_kb = 200  # KB/s, 1 KB = 1000 bytes
    api.add_toxic("echo", type="bandwidth", attributes={"rate": rate_kb})
    size = 100_000
    with connect(proxy["listen"], timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(b"b" * size)
        recv_exactly(sock, size)
        took = time.monotonic() - start
    rate = size / took / 1000
    assert took >= size / (rate_kb * 1000) - 0.01
    assert rate_kb * 0.5 < rate <= rate_kb * 1.05


def test_bandwidth_upstream_only_slows_upstream(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="bandwidth", stream="upstream", attributes={"rate": 100})
    with connect(proxy["listen"], timeout=10) as sock:
        took = roundtrip(sock, b"u" * 30_000)
    assert took >= 0.3 - 0.01


# --- slow_close --------------------------------------------------------------------


def test_slow_close_delays_the_close(api: Api, proxy: dict[str, Any]) -> None:
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"bye")
        sock.shutdown(socket.SHUT_WR)
        start = time.monotonic()
        recv_until_closed(sock)
        plain = time.monotonic() - start
    api.add_toxic("echo", type="slow_close", attributes={"delay": 300})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"bye")
        sock.shutdown(socket.SHUT_WR)
        start = time.monotonic()
        assert recv_exactly(sock, 3) == b"bye"
        data_after = time.monotonic() - start
        assert recv_until_closed(sock) == b""
        closed_after = time.monotonic() - start
    assert data_after < 0.2  # data is not delayed
    assert closed_after >= 0.300 - SLACK
    assert closed_after < 0.300 + plain + 0.3


# --- timeout ------------------------------------------------------------------------


def test_timeout_zero_is_a_black_hole(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="timeout", attributes={"timeout": 0})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"hello?")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # neither data nor a close


def test_timeout_closes_after_the_timeout(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="timeout", attributes={"timeout": 300})
    with connect(proxy["listen"]) as sock:
        start = time.monotonic()
        sock.sendall(b"hello?")
        assert recv_until_closed(sock) == b""
        took = time.monotonic() - start
    assert 0.300 - 0.02 <= took < 1.5


def test_removing_a_black_hole_closes_its_connections(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="timeout", stream="upstream", attributes={"timeout": 0})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"lost")
        wait_for(lambda: received(api, "upstream") == 4)  # swallowed
        api.delete("/proxies/echo/toxics/timeout_upstream")
        assert closed_within(sock, 3)
    with connect(proxy["listen"]) as sock:
        roundtrip(sock, b"new connections work")


# --- reset_peer ------------------------------------------------------------------


def test_reset_peer_resets(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="reset_peer", attributes={"timeout": 0})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"reset me")
        with pytest.raises(ConnectionResetError):
            drain(sock)


def test_reset_peer_waits_for_the_timeout(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="reset_peer", stream="upstream", attributes={"timeout": 200})
    with connect(proxy["listen"]) as sock:
        start = time.monotonic()
        sock.sendall(b"reset me later")
        with pytest.raises(ConnectionResetError):
            drain(sock)
        assert time.monotonic() - start >= 0.200 - SLACK


# --- slicer ----------------------------------------------------------------------


def test_slicer_delivers_everything_in_pieces(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic(
        "echo",
        type="slicer",
        attributes={"average_size": 10, "size_variation": 5, "delay": 2000},
    )
    payload = bytes(range(200))
    with connect(proxy["listen"]) as sock:
        sock.sendall(payload)
        received = bytearray()
        reads = 0
        start = time.monotonic()
        while len(received) < len(payload):
            chunk = sock.recv(4096)
            assert chunk
            received += chunk
            reads += 1
        took = time.monotonic() - start
    assert bytes(received) == payload
    assert reads >= 4
    # ~20 slices of 5..15 bytes with 2 ms between them
    assert took >= 0.015


# --- limit_data ------------------------------------------------------------------


def test_limit_data_closes_after_n_bytes(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="limit_data", attributes={"bytes": 100})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"a" * 60)
        assert recv_exactly(sock, 60) == b"a" * 60
        sock.sendall(b"b" * 60)
        assert recv_until_closed(sock) == b"b" * 40


def test_limit_data_direction(api: Api, proxy: dict[str, Any], echo: EchoServer) -> None:
    # upstream: the server gets 10 bytes, then the connection is closed
    api.add_toxic("echo", type="limit_data", stream="upstream", attributes={"bytes": 10})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"0123456789abcdefghij")
        assert closed_within(sock, 3)
    wait_for(lambda: echo.received == 10)
    api.delete("/proxies/echo/toxics/limit_data_upstream")
    # downstream: the server gets everything, the client 10 bytes
    api.add_toxic("echo", type="limit_data", stream="downstream", attributes={"bytes": 10})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"0123456789abcdefghij")
        assert recv_until_closed(sock) == b"0123456789"
    wait_for(lambda: echo.received == 30)


# --- noop and toxicity --------------------------------------------------------------


def test_noop_changes_nothing(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="noop")
    api.add_toxic("echo", type="noop", stream="upstream")
    payload = bytes(range(256)) * 100
    with connect(proxy["listen"]) as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        assert roundtrip(sock, b"quick") < 0.5


def test_toxicity_zero_is_never_applied(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", toxicity=0, attributes={"latency": 1000})
    api.add_toxic("echo", type="timeout", stream="upstream", toxicity=0.0)
    with connect(proxy["listen"]) as sock:
        assert roundtrip(sock, b"unharmed") < 0.5


def test_toxicity_is_drawn_per_connection(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", toxicity=0.5, attributes={"latency": 60})
    slow = 0
    for _ in range(24):
        with connect(proxy["listen"]) as sock:
            first = roundtrip(sock, b"1")
            second = roundtrip(sock, b"2")
        assert (first >= 0.06 - SLACK) == (second >= 0.06 - SLACK)  # same draw
        slow += first >= 0.06 - SLACK
    assert 0 < slow < 24


# --- live changes ------------------------------------------------------------------


def test_toxics_reach_live_connections(api: Api, proxy: dict[str, Any]) -> None:
    with connect(proxy["listen"]) as sock:
        assert roundtrip(sock, b"before") < 0.1
        api.add_toxic("echo", type="latency", attributes={"latency": 150})
        assert roundtrip(sock, b"during") >= 0.150 - SLACK
        api.patch("/proxies/echo/toxics/latency_downstream", json={"attributes": {"latency": 300}})
        assert roundtrip(sock, b"longer") >= 0.300 - SLACK
        api.delete("/proxies/echo/toxics/latency_downstream")
        assert roundtrip(sock, b"after") < 0.1


def test_removing_a_toxic_releases_held_data_in_order(api: Api, proxy: dict[str, Any]) -> None:
    api.add_toxic("echo", type="latency", attributes={"latency": 5000})
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"held-")
        wait_for(lambda: received(api, "downstream") == 5)  # held by the toxic
        start = time.monotonic()
        api.delete("/proxies/echo/toxics/latency_downstream")
        sock.sendall(b"fresh")
        assert recv_exactly(sock, 10) == b"held-fresh"
        assert time.monotonic() - start < 1


# Toxics that delay or reshape data but never drop it.
LOSSLESS = {
    "latency": {"latency": 5, "jitter": 4},
    "slicer": {"average_size": 300, "size_variation": 100, "delay": 100},
    "bandwidth": {"rate": 2000},
    "noop": {},
    "slow_close": {"delay": 10},
}


def test_chain_churn_keeps_bytes_intact(api: Api, proxy: dict[str, Any]) -> None:
    """Lossless toxics are added, updated and removed on both streams while
    several connections stream both ways: every byte arrives, in order."""
    rng = random.Random(7)
    payload = bytes(rng.randrange(256) for _ in range(4096)) * 40  # 160 KiB per connection
    received: list[bytes] = []
    errors: list[BaseException] = []

    def run(sock: socket.socket) -> None:
        def read() -> None:
            try:
                received.append(recv_exactly(sock, len(payload)))
            except OSError as exc:
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for i in range(0, len(payload), 1000):
                sock.sendall(payload[i : i + 1000])
                time.sleep(0.002)
        except OSError as exc:
            errors.append(exc)
        reader.join(30)

    socks = [connect(proxy["listen"], timeout=30) for _ in range(4)]
    workers = [threading.Thread(target=run, args=(sock,)) for sock in socks]
    for worker in workers:
        worker.start()
    present: set[tuple[str, str]] = set()
    changes = 0
    while any(worker.is_alive() for worker in workers):
        key = (rng.choice(list(LOSSLESS)), rng.choice(["upstream", "downstream"]))
        name = f"{key[0]}_{key[1]}"
        if key not in present:
            api.add_toxic("echo", type=key[0], stream=key[1], attributes=LOSSLESS[key[0]])
            present.add(key)
        elif rng.random() < 0.5:
            assert api.delete(f"/proxies/echo/toxics/{name}").status_code == 204
            present.discard(key)
        else:
            body = {"toxicity": rng.random(), "attributes": LOSSLESS[key[0]]}
            assert api.patch(f"/proxies/echo/toxics/{name}", json=body).status_code == 200
        changes += 1
        time.sleep(0.01)
    for sock in socks:
        sock.close()
    assert not errors
    assert received == [payload] * 4
    assert changes >= 10, changes


def test_upstream_and_downstream_are_told_apart(
    api: Api, proxy: dict[str, Any], echo: EchoServer
) -> None:
    api.add_toxic("echo", type="timeout", stream="downstream")
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"12345")
        wait_for(lambda: echo.received == 5)  # reached the server
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)  # but the answer never comes back
    api.delete("/proxies/echo/toxics/timeout_downstream")
    api.add_toxic("echo", type="timeout", stream="upstream")
    with connect(proxy["listen"]) as sock:
        sock.sendall(b"67890")
        wait_for(lambda: received(api, "upstream") == 10)  # the proxy has it
        assert not becomes_true(lambda: echo.received != 5, 0.3)  # the server never does


# --- enable / disable --------------------------------------------------------------


def test_disable_closes_live_connections_and_refuses_new(api: Api, proxy: dict[str, Any]) -> None:
    live = connect(proxy["listen"])
    roundtrip(live, b"up")
    api.update_proxy("echo", enabled=False)
    assert closed_within(live, 3)
    live.close()
    assert refused(proxy["listen"])
    api.update_proxy("echo", enabled=True)
    with connect(proxy["listen"]) as sock:
        roundtrip(sock, b"back")


def test_connection_counts(api: Api, proxy: dict[str, Any]) -> None:
    before = api.metric("js7ha_proxy_connections_total", proxy="echo")
    socks = [connect(proxy["listen"]) for _ in range(4)]
    for sock in socks:
        roundtrip(sock, b"c")
        sock.close()
    assert api.metric("js7ha_proxy_connections_total", proxy="echo") == before + 4
