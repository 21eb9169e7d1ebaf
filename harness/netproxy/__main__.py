"""``python -m harness.netproxy``: a Toxiproxy-compatible server.

Accepts the Go server's flags in both spellings (``-host`` / ``--host``,
``-port``, ``-config``), so scripts written for ``toxiproxy-server`` run
unchanged. Prints ``API listening on HOST:PORT`` to stderr once the API
answers; SIGTERM or SIGINT closes every listener and connection and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
from pathlib import Path

from harness.netproxy.server import VERSION, main_async


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.netproxy",
        description="Toxiproxy-compatible TCP proxy server with an HTTP API.",
    )
    parser.add_argument("-host", "--host", default="localhost", help="API host (localhost)")
    parser.add_argument("-port", "--port", type=int, default=8474, help="API port (8474)")
    parser.add_argument("-config", "--config", default="", help="JSON file of proxies to create")
    parser.add_argument("-seed", "--seed", type=int, default=None, help="seed for toxic randomness")
    # Accepted for compatibility with toxiproxy-server; /metrics is always on.
    parser.add_argument("-proxy-metrics", "--proxy-metrics", action="store_true", help="ignored")
    parser.add_argument(
        "-runtime-metrics", "--runtime-metrics", action="store_true", help="ignored"
    )
    parser.add_argument("-version", "--version", action="store_true", help="print the version")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        print(f"toxiproxy-server version {VERSION} (js7ha netproxy)")
        return 0
    level = os.environ.get("LOG_LEVEL", "info").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.seed is not None:
        random.seed(args.seed)
    config = Path(args.config) if args.config else None
    return main_async(args.host, args.port, config)


if __name__ == "__main__":
    sys.exit(main())
