"""Fixtures for the network proxy tests: the built-in server as a real
subprocess on a reserved port, an HTTP helper for its API, and a threaded
echo server to proxy to.

The server fixture is per xdist worker (session scope); every test gets a
clean server because ``api`` deletes all proxies after it.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from harness import ports, procs

START_DEADLINE = 15.0


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


@dataclass
class RunningServer:
    """The built-in server started as ``python -m harness.netproxy``."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait; return the exit status (SIGKILL if it does not stop)."""
        if self.process.poll() is None:
            procs.signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                procs.signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_server(log_dir: Path, *extra: str, port: int | None = None) -> RunningServer:
    """Start the server on a reserved port and wait until ``GET /version`` answers."""
    port = port or ports.reserve_one()
    log_path = log_dir / f"netproxy-{port}.log"
    argv = [sys.executable, "-m", "harness.netproxy", "--host", "127.0.0.1", "--port", str(port)]
    process = procs.spawn([*argv, *extra], log_path=log_path)
    server = RunningServer("127.0.0.1", port, process, log_path)
    end = time.monotonic() + START_DEADLINE
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{server.log()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.url}/version", timeout=1).status_code == 200:
                return server
        if time.monotonic() >= end:
            server.stop()
            raise AssertionError(f"server did not answer within {START_DEADLINE}s:\n{server.log()}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def netproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("netproxy"))
    yield server
    status = server.stop()
    ports.release([server.port])
    assert status == 0, f"server exited with {status}:\n{server.log()}"


class Api:
    """A small requests-based client for the API, for exact status/body checks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", **extra: Any
    ) -> dict[str, Any]:
        body = {"name": name, "upstream": upstream, "listen": listen, **extra}
        resp = self.post("/proxies", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def add_toxic(self, proxy: str, **body: Any) -> dict[str, Any]:
        resp = self.post(f"/proxies/{proxy}/toxics", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def update_proxy(self, proxy: str, **body: Any) -> dict[str, Any]:
        resp = self.patch(f"/proxies/{proxy}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def delete_all(self) -> None:
        for name in self.get("/proxies").json():
            self.delete(f"/proxies/{name}")

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the ``/metrics`` samples of ``name`` whose labels include
        ``labels`` (0 if there are none)."""
        total = 0.0
        for line in self.get("/metrics").text.splitlines():
            m = _SAMPLE.match(line)
            if m is None or m["name"] != name:
                continue
            have = dict(_LABEL.findall(m["labels"] or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m["value"])
        return total


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture
def api(netproxy: RunningServer) -> Iterator[Api]:
    client = Api(netproxy.url)
    yield client
    client.delete_all()
    client.session.close()


@dataclass
class EchoServer:
    """A threaded TCP echo server. On EOF from the client it echoes what is
    left, half-closes its side, then closes; ``received`` counts bytes it got."""

    sock: socket.socket = field(default_factory=lambda: socket.create_server(("127.0.0.1", 0)))
    received: int = 0
    accepted: int = 0
    conns: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EchoServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns.append(conn)
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.received += len(data)
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()
        with self.lock:
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.close()


def host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def connect(listen: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(host_port(listen), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def recv_until_closed(sock: socket.socket) -> bytes:
    """Everything until EOF (a reset after data also ends it)."""
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def roundtrip(sock: socket.socket, payload: bytes) -> float:
    """Send ``payload``, read its echo; return the seconds it took."""
    start = time.perf_counter()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.perf_counter() - start


def refused(listen: str) -> bool:
    try:
        socket.create_connection(host_port(listen), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False
