"""The network proxy: a Toxiproxy-compatible server and the harness's handle on it.

``python -m harness.netproxy`` runs the built-in server (see ``server``);
``ProxyServer`` starts or finds a server for a test session and
``LinkControl`` cuts, heals and poisons named links through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.netproxy.server import VERSION, serve
from harness.netproxy.stages import TOXIC_TYPES, Toxic

if TYPE_CHECKING:
    from harness.netproxy.control import LinkControl, ProxyServer

__all__ = ["TOXIC_TYPES", "VERSION", "LinkControl", "ProxyServer", "Toxic", "serve"]


def __getattr__(name: str) -> Any:
    # The control glue pulls in the toxiproxy client and requests; load it only
    # when asked, so the server itself starts fast.
    if name in ("LinkControl", "ProxyServer"):
        from harness.netproxy import control

        return getattr(control, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
