"""The one table from an API's error answer to an operation's outcome, and
``History.op`` recording by it for every client's problem exception."""

from __future__ import annotations

import pytest

from harness.clients import outcomes
from harness.clients.jobscheduler1 import CommandError
from harness.clients.joc import JocProblem
from harness.clients.node import ProblemError
from harness.history import History


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, "UnknownItemPath", "fail"),
        (403, "UserDoesNotHavePermission", "fail"),
        (503, "ClusterNodeIsNotActive", "fail"),  # not active: took nothing on
        (500, "InternalError", "info"),
        (503, "ServiceUnavailable", "info"),
    ],
)
def test_js7_problems(status, code, outcome):
    assert outcomes.js7_problem(status, code) == outcome
    assert ProblemError(status, code, "m", {}).outcome == outcome


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (420, {"error": {"code": "UnknownWorkflow", "message": "m"}}, "fail"),
        (420, {"error": {"code": "ControllerUnreachable", "message": "m"}}, "info"),
        (420, {"error": {"code": "InternalError", "message": "m"}}, "info"),
        (401, {"isAuthenticated": False}, "fail"),
        (502, "bad gateway", "info"),
    ],
)
def test_joc_errors(status, body, outcome):
    assert JocProblem(status, body).outcome == outcome


def test_jobscheduler1_error_answers():
    # An <ERROR> answer is the engine's refusal, but a database error while
    # it acted (SCHEDULER-360); an HTTP status is judged by its class.
    assert CommandError("SCHEDULER-186", "Order c:o is already in job chain /c").outcome == "fail"
    assert CommandError("Z-JAVA-105", "Java exception …").outcome == "fail"
    assert CommandError("SCHEDULER-360", "Error when accessing database table X").outcome == "info"
    assert CommandError("HTTP 413", "too large", 413).outcome == "fail"
    assert CommandError("HTTP 502", "bad gateway", 502).outcome == "info"


async def test_history_records_by_the_table(tmp_path):
    history = History(tmp_path / "h.jsonl")
    async with history.op(0, "add", "a"):
        raise ProblemError(400, "Refused", "m", {})
    async with history.op(0, "add", "b"):
        raise ProblemError(500, "InternalError", "m", {})
    async with history.op(0, "add", "c"):
        raise JocProblem(420, {"error": {"code": "ControllerUnreachable", "message": "m"}})
    done = {r["value"]: r["type"] for r in history.records if r["type"] != "invoke"}
    assert done == {"a": "fail", "b": "info", "c": "info"}
