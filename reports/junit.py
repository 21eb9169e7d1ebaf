"""JUnit XML as the report reads a run: a test that failed because of the
harness (a node would not start, a pre-check failed, a wait ran out — the
``js7ha-harness-error`` property) is an ``<error>`` (unknown), never a
``<failure>`` (a broken guarantee). pytest's junitxml writes every failure
in a test's call as ``<failure>``; this rewrites those few after it wrote
the file, keeping everything else as it is."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.pytest_plugin import HARNESS_ERROR


def mark_harness_errors(path: Path) -> int:
    """Turn the ``<failure>`` of every testcase carrying the harness-error
    property into an ``<error>`` naming the cause; fix the suites' counts.
    Returns how many were turned."""
    tree = ET.parse(path)
    turned = 0
    for suite in tree.iter("testsuite"):
        moved = 0
        for case in suite.iter("testcase"):
            cause = next(
                (
                    p.get("value", "")
                    for p in case.iter("property")
                    if p.get("name") == HARNESS_ERROR
                ),
                None,
            )
            failure = case.find("failure")
            if cause is None or failure is None:
                continue
            error = ET.Element(
                "error",
                {"type": cause.split(":", 1)[0], "message": f"unknown (harness error): {cause}"},
            )
            error.text = failure.text
            index = list(case).index(failure)
            case.remove(failure)
            case.insert(index, error)
            moved += 1
        if moved:
            suite.set("failures", str(int(suite.get("failures", "0")) - moved))
            suite.set("errors", str(int(suite.get("errors", "0")) + moved))
            turned += moved
    if turned:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    return turned
