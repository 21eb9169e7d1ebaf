"""What the suites observe that a real JS7 installation does not offer.

js7ha's verdicts are meant to carry over to a real JS7: the suites should use
only JS7's public APIs and what the harness observes itself (processes,
sockets, files, the proxies). Where a suite module still relies on something
only the reference components serve, the guarantees it checks name it in
their catalog entry (``needs``), and the report says that the verdict would
not carry over as is. ``tests/reports/test_catalog.py`` recomputes the
``needs`` of every entry from its suite modules with the patterns below, so
the catalog cannot claim less than the suites use.

The attribution is per module (a module's every guarantee gets what any of
its tests uses): conservative, never optimistic. A helper that reads
something reference-only for a suite (in a ``support`` module) is named in
the patterns too, so a suite calling it gets the need;
``helpers_unnamed`` finds the helpers that are not (a test keeps it empty).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from reports.catalog import ROOT

# name -> (what in a suite module's text shows the use, the catalog's words)
REFERENCE_ONLY: dict[str, tuple[str, str]] = {
    "joc-health": (
        r"/health",
        "reference-only: JOC's /health, to tell which instance is active",
    ),
    "joc-activity": (
        r"joc/cluster/activity|reported_history|activity\(",
        "reference-only: JOC's joc/cluster/activity (each service's activity"
        " intervals with its fencing epoch)",
    ),
    "joc-epoch": (
        r'\["epoch"\]|reported_history',
        "reference-only: the fencing epoch in JOC's controller/components",
    ),
    "history-service": (
        r"historyService",
        "reference-only: the History Service's position and status in JOC's controller/components",
    ),
    "joc-deploy": (
        r'"workflows":',
        "reference-only: inventory/deployment/deploy with plain workflow JSON"
        " (real JOC deploys from its inventory)",
    ),
    "joc-dailyplan": (
        r"\"schedules\":",
        "reference-only: daily_plan/orders/generate with inline schedules"
        " (real JOC plans its inventory's schedules)",
    ),
    "joc-cleanup": (
        r"cleanup/run",
        "reference-only: JOC's cleanup/run (a Cleanup run that answers with its cut-offs;"
        " JOC's joc/cluster/run answers only that it started)",
    ),
    "joc-age-seconds": (
        r'"value": f"\{\w+\}s"',
        "reference-only: a Cleanup retention in seconds in JOC's settings (JOC counts"
        " minutes and ignores seconds)",
    ),
    "history-feed": (
        r"events/history|LiveFeed|HistoryFeed|FeedListener",
        "reference-only: the live history feed events/history",
    ),
    "history-page": (
        r"/joc/history\"",
        "reference-only: the History page /joc/history (real JOC's History view is its"
        " Angular GUI)",
    ),
    "history-export": (
        r"[\"{/]export/",
        "reference-only: the server-side .xlsx export export/<view> (real JOC's GUI writes"
        " the file in the browser, from the same list answers)",
    ),
    "history-event-ids": (
        r"endEventId|startEventId",
        "reference-only: the Controller eventIds in JOC's orders/history rows (JOC's rows"
        " have times only)",
    ),
    "journal-overview": (
        r'\["journal"\]|tornEventId|fileSize',
        "reference-only: the journal's tornEventId and size in the node's overview",
    ),
    "agent-cluster-watch": (
        # (JS7's own ConfirmClusterNodeLoss names the Agent cluster's agentPath.)
        r'clusterWatch|ConfirmClusterNodeLoss"(?!,\s*"agentPath")',
        "reference-only: the Cluster Watch an Agent hosts (its state, ConfirmClusterNodeLoss"
        " on the Agent; JS7's Watch is JOC)",
    ),
    "director-watch-requests": (
        r"js7ha/cluster-node|watchRequests",
        "reference-only: a Director's own view of its cluster role and of its requests"
        " nobody answered (GET /agent/api/js7ha/cluster-node)",
    ),
    "controller-orders": (
        r"get\(\"/order|get\(f\"/order",
        "reference-only: the reference's order list (GET /controller/api/order or"
        " /agent/api/order; JS7 has no GET for orders: its snapshot and events tell)",
    ),
    "controller-agents": (
        r"get\(\"/agent\"\)",
        "reference-only: the Controller's Agent list with its coupling and eventId"
        " (GET /controller/api/agent)",
    ),
}


# Reference-only observations a suite uses only for checks it adds when the
# target offers them (the helpers answer None on a real JS7, and the check
# then says it was not made): the verdict carries over without them. Each is
# listed in the catalog entry's ``extras``; they live in one module, whose
# import is what the pattern finds.
REFERENCE_EXTRAS: dict[str, tuple[str, str]] = {
    "joc-extras": (
        "suites/joc/extras.py",
        "reference-only extra: the reference JOC's service activity intervals and fencing"
        " epochs, and its History Service's position and refused duplicates, checked where"
        " offered (suites/joc/extras.py)",
    ),
    "history-page-extras": (
        "suites/history_views/extras.py",
        "reference-only extra: the reference JOC's own History page /joc/history in headless"
        " Chromium (live on the active, not on a standby until Refresh), checked where offered"
        " (suites/history_views/extras.py)",
    ),
    "director-extras": (
        "suites/agent_cluster/extras.py",
        "reference-only extra: a Director's own count of Watch requests nobody answered,"
        " waited for where offered (suites/agent_cluster/extras.py)",
    ),
}
# Their readers are extras by construction.
EXTRAS_MODULES = {module for module, _ in REFERENCE_EXTRAS.values()}


def _imports(module: str) -> str:
    """What an import of the repo-relative ``module`` looks like in a suite."""
    return re.escape(module.removesuffix(".py").replace("/", "."))


def helpers_unnamed(root: Path = ROOT) -> list[str]:
    """``module:function`` of each top-level function or class in a suites'
    helper module (any ``suites/**`` module not a ``test_`` one) that uses a
    reference-only observation while a call of its name shows none — a
    suite using it would claim less than it uses."""
    import ast

    found = []
    for path in sorted((root / "suites").rglob("*.py")):
        if path.name.startswith("test_") or path.relative_to(root).as_posix() in EXTRAS_MODULES:
            continue
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            used = needs_in(ast.get_source_segment(text, node) or "")
            call = f"{node.name}("
            if used and not (set(used) <= set(needs_in(call)) or extras_in(call)):
                found.append(f"{path.relative_to(root)}:{node.name}")
    return found


def needs_in(text: str) -> list[str]:
    return [words for pattern, words in REFERENCE_ONLY.values() if re.search(pattern, text)]


def extras_in(text: str) -> list[str]:
    return [
        words for module, words in REFERENCE_EXTRAS.values() if re.search(_imports(module), text)
    ]


def _text(modules: Iterable[str], root: Path) -> str:
    return "\n".join((root / m).read_text(encoding="utf-8") for m in modules)


def needs_of(modules: Iterable[str], root: Path = ROOT) -> list[str]:
    """The ``needs`` of a guarantee checked by ``modules`` (repo-relative
    paths), in the table's order."""
    return needs_in(_text(modules, root))


def extras_of(modules: Iterable[str], root: Path = ROOT) -> list[str]:
    """The ``extras`` of a guarantee checked by ``modules``."""
    return extras_in(_text(modules, root))


def _set_list(block: str, key: str, values: list[str], after: str) -> str:
    """``block`` with its ``key = [...]`` list replaced (removed when empty),
    placed after the ``after = ...`` line(s)."""
    block = re.sub(rf"(?ms)^{key} = \[\n.*?^\]\n", "", block)
    if not values:
        return block
    lines = "".join(f'    "{v}",\n' for v in values)
    anchor = re.search(rf"(?ms)^{after} = \[.*?\]\n", block)
    assert anchor is not None, block[:80]  # a checked entry names its suites
    return f"{block[: anchor.end()]}{key} = [\n{lines}]\n{block[anchor.end() :]}"


def rewrite_catalog(path: Path = ROOT / "suites" / "catalog.toml") -> list[str]:
    """Set every checked entry's ``needs`` and ``extras`` in the catalog
    file to what its suites use (the text edited in place, comments kept); the ids changed."""
    import tomllib

    text = path.read_text(encoding="utf-8")
    entries = {g["id"]: g for g in tomllib.loads(text)["guarantee"]}
    changed = []
    out = []
    for block in re.split(r"(?m)^(?=\[\[guarantee\]\])", text):
        m = re.search(r'(?m)^id = "([^"]+)"', block)
        if not block.startswith("[[guarantee]]") or not m:
            out.append(block)
            continue
        entry = entries[m.group(1)]
        needs = needs_of(entry.get("suites", []), path.parent.parent)
        extras = extras_of(entry.get("suites", []), path.parent.parent)
        if needs != entry.get("needs", []) or extras != entry.get("extras", []):
            changed.append(entry["id"])
        block = _set_list(block, "extras", extras, "suites")
        block = _set_list(block, "needs", needs, "suites")
        out.append(block)
    path.write_text("".join(out), encoding="utf-8")
    return changed


if __name__ == "__main__":
    # python -m reports.reference_only: bring the catalog's needs and extras in step.
    print("needs or extras changed:", ", ".join(rewrite_catalog()) or "none")
