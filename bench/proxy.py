"""Benchmark the built-in network proxy: added latency and throughput.

    python bench/proxy.py [--seconds N] [--json out.json]

Starts ``python -m harness.netproxy`` and a helper process (an echo server, a
sink that counts what it receives, a source that streams until the client
leaves), then measures over loopback, direct and through the proxy:

* round-trip time of a 64-byte request and its 64-byte echo (p50, p99);
* bulk throughput client → server (upstream) and server → client (downstream).

Targets: p50 added latency < 0.2 ms; proxied throughput ≥ 30 % of direct.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MESSAGE = 64
CHUNK = 256 * 1024
TARGET_ADDED_P50_MS = 0.2
TARGET_THROUGHPUT_RATIO = 0.30


# --- helper servers (run in a child process) --------------------------------


def _serve_forever(server: socket.socket, handler: Any) -> None:
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def _echo(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


def _sink(conn: socket.socket) -> None:
    with conn:
        total = 0
        try:
            while data := conn.recv(CHUNK):
                total += len(data)
            conn.sendall(total.to_bytes(8, "big"))
        except OSError:
            pass


def _source(conn: socket.socket) -> None:
    block = b"s" * CHUNK
    with conn:
        try:
            while True:
                conn.sendall(block)
        except OSError:
            pass


def run_helpers() -> None:
    ports = {}
    for name, handler in (("echo", _echo), ("sink", _sink), ("source", _source)):
        server = socket.create_server(("127.0.0.1", 0), backlog=64)
        ports[name] = server.getsockname()[1]
        threading.Thread(target=_serve_forever, args=(server, handler), daemon=True).start()
    print(json.dumps(ports), flush=True)
    sys.stdin.read()  # until the parent goes away


# --- measurements -------------------------------------------------------------


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def measure_latency(port: int, seconds: float) -> dict[str, float]:
    payload = b"q" * MESSAGE
    samples: list[int] = []
    with _connect(port) as sock:
        for _ in range(200):  # warm-up
            sock.sendall(payload)
            got = 0
            while got < MESSAGE:
                got += len(sock.recv(MESSAGE - got))
        end = time.perf_counter() + seconds
        clock = time.perf_counter_ns
        while time.perf_counter() < end:
            start = clock()
            sock.sendall(payload)
            got = 0
            while got < MESSAGE:
                got += len(sock.recv(MESSAGE - got))
            samples.append(clock() - start)
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))] / 1e6

    return {"p50_ms": pct(0.50), "p99_ms": pct(0.99), "samples": float(len(samples))}


def measure_upstream(port: int, seconds: float) -> float:
    """MB/s (10^6 bytes) the client pushes to the sink."""
    block = b"u" * CHUNK
    with _connect(port) as sock:
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            sock.sendall(block)
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while len(raw) < 8:
            chunk = sock.recv(8 - len(raw))
            if not chunk:
                raise RuntimeError("sink closed without a count")
            raw += chunk
        took = time.perf_counter() - start
    return int.from_bytes(raw, "big") / took / 1e6


def measure_downstream(port: int, seconds: float) -> float:
    """MB/s the client reads from the source."""
    buf = bytearray(CHUNK)
    total = 0
    with _connect(port) as sock:
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            n = sock.recv_into(buf)
            if not n:
                break
            total += n
        took = time.perf_counter() - start
    return total / took / 1e6


# --- orchestration --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(url: str, method: str = "GET", body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"proxy server exited with {process.returncode}")
        try:
            _api(f"{url}/version")
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("proxy server did not start")


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
    }


def run(seconds: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    helpers = subprocess.Popen(
        [sys.executable, __file__, "--helpers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert helpers.stdout is not None
    targets = json.loads(helpers.stdout.readline())
    api_port = _free_port()
    url = f"http://127.0.0.1:{api_port}"
    proxy = subprocess.Popen(
        [sys.executable, "-m", "harness.netproxy", "--host", "127.0.0.1", "--port", str(api_port)],
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    try:
        _wait_ready(url, proxy)
        proxied = {}
        for name, port in targets.items():
            created = _api(
                f"{url}/proxies",
                "POST",
                {"name": name, "upstream": f"127.0.0.1:{port}", "listen": "127.0.0.1:0"},
            )
            proxied[name] = int(created["listen"].rsplit(":", 1)[1])
        slot = seconds / 6
        results: dict[str, Any] = {"machine": machine(), "seconds": seconds}
        for mode, ports in (("direct", targets), ("proxied", proxied)):
            results[mode] = {
                "latency": measure_latency(ports["echo"], slot),
                "upstream_MBps": measure_upstream(ports["sink"], slot),
                "downstream_MBps": measure_downstream(ports["source"], slot),
            }
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
        helpers.kill()
        helpers.wait()
    d, p = results["direct"], results["proxied"]
    added = p["latency"]["p50_ms"] - d["latency"]["p50_ms"]
    up_ratio = p["upstream_MBps"] / d["upstream_MBps"]
    down_ratio = p["downstream_MBps"] / d["downstream_MBps"]
    results["summary"] = {
        "added_p50_ms": added,
        "added_p99_ms": p["latency"]["p99_ms"] - d["latency"]["p99_ms"],
        "upstream_ratio": up_ratio,
        "downstream_ratio": down_ratio,
        "latency_ok": added < TARGET_ADDED_P50_MS,
        "throughput_ok": min(up_ratio, down_ratio) >= TARGET_THROUGHPUT_RATIO,
    }
    return results


def report(r: dict[str, Any]) -> str:
    d, p, s, m = r["direct"], r["proxied"], r["summary"], r["machine"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    rows = [
        ("", "direct", "proxied", "added/ratio", "target", ""),
        (
            "RTT p50 (ms)",
            f"{d['latency']['p50_ms']:.3f}",
            f"{p['latency']['p50_ms']:.3f}",
            f"+{s['added_p50_ms']:.3f}",
            f"< +{TARGET_ADDED_P50_MS}",
            verdict(s["latency_ok"]),
        ),
        (
            "RTT p99 (ms)",
            f"{d['latency']['p99_ms']:.3f}",
            f"{p['latency']['p99_ms']:.3f}",
            f"+{s['added_p99_ms']:.3f}",
            "",
            "",
        ),
        (
            "upstream (MB/s)",
            f"{d['upstream_MBps']:.0f}",
            f"{p['upstream_MBps']:.0f}",
            f"{s['upstream_ratio']:.0%}",
            f">= {TARGET_THROUGHPUT_RATIO:.0%}",
            verdict(s["upstream_ratio"] >= TARGET_THROUGHPUT_RATIO),
        ),
        (
            "downstream (MB/s)",
            f"{d['downstream_MBps']:.0f}",
            f"{p['downstream_MBps']:.0f}",
            f"{s['downstream_ratio']:.0%}",
            f">= {TARGET_THROUGHPUT_RATIO:.0%}",
            verdict(s["downstream_ratio"] >= TARGET_THROUGHPUT_RATIO),
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores, {m['implementation']} {m['python']}, "
        f"kernel {m['kernel']}",
        f"messages: {MESSAGE} bytes; {int(d['latency']['samples'])} direct and "
        f"{int(p['latency']['samples'])} proxied round trips; {r['seconds']:g} s in total",
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="total measuring time")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--helpers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helpers:
        run_helpers()
        return 0
    results = run(args.seconds)
    print(report(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    s = results["summary"]
    return 0 if s["latency_ok"] and s["throughput_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
