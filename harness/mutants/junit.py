"""Each test's outcome read from a JUnit XML file written by pytest.

Four kinds, as the report counts them (reports/plugin.py):

* ``verdict`` — a failure raised by an assertion: the suites assert once on
  a checker's result, so this is a checker saying *false*;
* ``error`` — anything else that stopped the test: a setup/teardown error,
  a ``HarnessError`` (pytest_plugin records it as the
  ``js7ha-harness-error`` property: a deadline, a node that would not
  start), pytest-timeout, an unexpected exception — *unknown*, not a verdict;
* ``passed`` and ``skipped``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["verdict", "error", "passed", "skipped"]

HARNESS_ERROR = "js7ha-harness-error"  # the property harness/pytest_plugin.py writes


@dataclass(frozen=True)
class TestCase:
    nodeid: str
    kind: Kind
    message: str = ""


def _kind(case: ET.Element) -> tuple[Kind, str]:
    props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
    failure, error = case.find("failure"), case.find("error")
    if error is not None:
        return "error", error.get("message", "")
    if failure is not None:
        message = failure.get("message", "")
        if HARNESS_ERROR in props:
            return "error", props[HARNESS_ERROR] or message
        if message.startswith("AssertionError"):
            # The attribute may be cut short; the element's text has it all.
            return "verdict", message + "\n" + (failure.text or "")
        return "error", message
    if case.find("skipped") is not None:
        return "skipped", ""
    return "passed", ""


# A composed checker explains itself one check a line, indented (in the
# traceback text behind pytest's "E"): "    no-loss: no-loss: valid=False".
_BROKEN_CHECK = re.compile(r"^E?\s+([\w.-]+): \1: valid=False", re.MULTILINE)


def _summary(message: str) -> str:
    """The message's first line and the names of the checks that said false."""
    first = message.splitlines()[0] if message else ""
    broken = list(dict.fromkeys(_BROKEN_CHECK.findall(message)))
    return first + (f" (broken: {', '.join(broken)})" if broken else "")


def read(path: Path) -> list[TestCase]:
    """The test cases of a JUnit file; a file that does not parse raises
    ``ValueError`` (the caller reports the run as unknown)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"unreadable JUnit file {path}: {exc}") from exc
    cases = []
    for case in root.iter("testcase"):
        cls, name = case.get("classname", ""), case.get("name", "")
        kind, message = _kind(case)
        cases.append(TestCase(f"{cls}::{name}" if cls else name, kind, _summary(message)))
    return cases


def as_junit_id(node: str) -> str:
    """A pytest node id (``suites/x/test_y.py::test_z[p]``) as JUnit names it
    (``suites.x.test_y::test_z[p]``); a file alone becomes its module."""
    path, sep, rest = node.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    return f"{module}{sep}{rest}"


def selected(cases: list[TestCase], nodes: list[str]) -> list[TestCase]:
    """The cases that the node ids (files, or tests) select."""
    ids = [as_junit_id(n) for n in nodes]
    return [
        c
        for c in cases
        if any(c.nodeid == i or c.nodeid.startswith(i + ("[" if "::" in i else "::")) for i in ids)
    ]
