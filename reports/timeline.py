"""A test's history as one inline SVG picture.

What it shows, on the history's own clock (seconds since it began): fault
windows as shaded bands across the whole picture (an unhealed one runs to
the end); per operation name, when operations completed ``ok`` / ``fail`` /
``info`` (binned, so a history of 100,000 operations still draws a few
hundred marks); per role, which node was active, from ``observe-active``
samples (consecutive active samples of one node form a bar) and
self-reported intervals. The SVG is self-contained (no script, no external
reference) and every mark has a ``<title>`` for hovering.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from html import escape
from typing import Any

from harness.history import Record, completed_ops, fault_windows

BINS = 240
MAX_LANES = 8
LANE_H = 18
LEFT = 130
COLORS = {"ok": "#2e9d4f", "fail": "#d0343a", "info": "#e0a21b"}
FAULT_COLORS = {
    "kill": "#d0343a",
    "stop": "#8a63d2",
    "pause": "#3b7dd8",
    "partition": "#e07b1b",
    "latency": "#9c9c2e",
    "db_outage": "#7a4b2a",
    "lose_state": "#b03a8a",
}
NODE_PALETTE = ["#3b7dd8", "#2e9d4f", "#8a63d2", "#e07b1b", "#b03a8a", "#1b9aa0", "#7a4b2a"]


def _color_of_fault(name: str) -> str:
    return FAULT_COLORS.get(name, "#888888")


def _node_color(node: str, nodes: list[str]) -> str:
    if node in nodes:
        return NODE_PALETTE[nodes.index(node) % len(NODE_PALETTE)]
    h = int(hashlib.sha1(node.encode()).hexdigest()[:4], 16)
    return NODE_PALETTE[h % len(NODE_PALETTE)]


def active_segments(records: Iterable[Record]) -> dict[str, list[tuple[str, float, float]]]:
    """Per role, ``(node, from, until)`` bars of activity: a run of one node's
    consecutive active samples spans from its first to its last sample;
    self-reported intervals are taken as given (an open one runs to the end)."""
    records = list(records)
    end = max((r.get("time", 0.0) for r in records), default=0.0)
    runs: dict[tuple[str, str], list[float]] = {}
    out: dict[str, list[tuple[str, float, float]]] = {}
    for inv, done in completed_ops(records):
        if inv.get("f") != "observe-active" or done is None or done.get("type") != "ok":
            continue
        value = done.get("value")
        if not isinstance(value, dict) or "role" not in value:
            continue
        role, node = str(value["role"]), str(value.get("node", done.get("node", "?")))
        if "active_from" in value:
            until = value.get("active_until")
            out.setdefault(role, []).append(
                (node, float(value["active_from"]), end if until is None else float(until))
            )
            continue
        key = (role, node)
        t = float(done["time"])
        if value.get("active") is True:
            runs.setdefault(key, []).append(t)
        elif key in runs:
            ts = runs.pop(key)
            out.setdefault(role, []).append((node, ts[0], max(ts[-1], ts[0])))
    for (role, node), ts in runs.items():
        out.setdefault(role, []).append((node, ts[0], ts[-1]))
    for bars in out.values():
        bars.sort(key=lambda b: (b[1], b[0]))
    return out


def render_timeline(records: list[Record], *, width: int = 920) -> str:
    """The SVG markup (a string) of one history; a short note when it is empty."""
    if not records:
        return '<p class="muted">empty history</p>'
    t_end = max(float(r.get("time", 0.0)) for r in records) or 1.0
    plot_w = width - LEFT - 10

    def x(t: float) -> float:
        return round(LEFT + plot_w * min(max(t, 0.0), t_end) / t_end, 1)

    ops = completed_ops(records)
    by_f: Counter[str] = Counter(inv.get("f", "?") for inv, _ in ops)
    lanes = [f for f, _ in by_f.most_common() if f != "observe-active"][:MAX_LANES]
    roles = active_segments(records)
    nodes = sorted({b[0] for bars in roles.values() for b in bars})
    height = 22 + LANE_H * (len(lanes) + len(roles)) + 26
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="timeline of the test">'
    ]
    # fault windows
    for start, stop in fault_windows(records):
        t0 = float(start["time"])
        t1 = t_end if stop is None else float(stop["time"])
        name = str(start.get("f", "fault"))
        desc = escape(
            f"{name} {start.get('value', '')} {t0:.3f}s → "
            + ("never healed" if stop is None else f"{t1:.3f}s")
        )
        parts.append(
            f'<rect class="fault" data-fault="{escape(name)}" x="{x(t0)}" y="14" '
            f'width="{max(x(t1) - x(t0), 1.5)}" height="{height - 40}" '
            f'fill="{_color_of_fault(name)}" fill-opacity="0.16"><title>{desc}</title></rect>'
            f'<text x="{x(t0) + 2}" y="11" font-size="10" fill="{_color_of_fault(name)}">'
            f"{escape(name)}</text>"
        )
    y = 22
    bin_w = max(plot_w / BINS, 1.0)
    for f in lanes:
        parts.append(f'<text x="4" y="{y + 12}" font-size="11" fill="#333">{escape(f[:18])}</text>')
        bins: dict[str, Counter[int]] = {k: Counter() for k in COLORS}
        for inv, done in ops:
            if inv.get("f") != f:
                continue
            kind = "info" if done is None else str(done.get("type"))
            t = t_end if done is None else float(done["time"])
            if kind in bins:
                bins[kind][min(int(t / t_end * BINS), BINS - 1)] += 1
        for row, kind in enumerate(("ok", "fail", "info")):
            for b, n in sorted(bins[kind].items()):
                parts.append(
                    f'<rect class="op op-{kind}" x="{round(LEFT + b * plot_w / BINS, 1)}" '
                    f'y="{y + 2 + row * 5}" width="{round(bin_w, 1)}" height="4" '
                    f'fill="{COLORS[kind]}"><title>{n} {escape(f)} {kind} near '
                    f"{b * t_end / BINS:.2f}s</title></rect>"
                )
        y += LANE_H
    for role, bars in sorted(roles.items()):
        parts.append(
            f'<text x="4" y="{y + 12}" font-size="11" fill="#333">active {escape(role[:11])}</text>'
        )
        for node, t0, t1 in bars:
            c = _node_color(node, nodes)
            w = max(x(t1) - x(t0), 2.0)
            parts.append(
                f'<rect class="active" data-node="{escape(node)}" x="{x(t0)}" y="{y + 2}" '
                f'width="{w}" height="13" fill="{c}" fill-opacity="0.75"><title>{escape(node)} '
                f"active {t0:.3f}s to {t1:.3f}s</title></rect>"
            )
            if w > 40:
                parts.append(
                    f'<text x="{x(t0) + 3}" y="{y + 12}" font-size="10" fill="#fff">'
                    f"{escape(node[: int(w // 6)])}</text>"
                )
        y += LANE_H
    # axis
    parts.append(
        f'<line x1="{LEFT}" y1="{y + 2}" x2="{LEFT + plot_w}" y2="{y + 2}" stroke="#999"/>'
    )
    for i in range(6):
        t = t_end * i / 5
        parts.append(
            f'<text x="{x(t)}" y="{y + 16}" font-size="10" fill="#555" '
            f'text-anchor="middle">{t:.1f}s</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    """A small SVG legend for the operation colours and fault kinds."""
    items: list[tuple[str, str]] = [(k, v) for k, v in COLORS.items()]
    items += [(f"fault: {k}", v) for k, v in FAULT_COLORS.items()]
    x = 0
    parts: list[str] = []
    for label, color in items:
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 13}" y="13" font-size="11" fill="#333">{escape(label)}</text>'
        )
        x += 14 + 7 * len(label) + 8
    head = f'<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="{x}" height="18">'
    return head + "".join(parts) + "</svg>"


def summarize_ops(records: Iterable[Record]) -> dict[str, Any]:
    """Counts of operations by completion type (a missing completion counts as info)."""
    c: Counter[str] = Counter()
    for _, done in completed_ops(records):
        c["info" if done is None else str(done.get("type"))] += 1
    return dict(c)
