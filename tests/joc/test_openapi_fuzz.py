"""schemathesis against the reference JOC's own OpenAPI document, which gives
every field JS7's type: for every route, well-typed bodies and near misses
(wrong types, out-of-range numbers, unknown enum values) from a fixed seed.
No answer may be a 5xx, every status must be one the document declares
(200, or JOC's 401/403/420), and every error body must be JOC's answer."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

from tests.joc.jocapi import basic

EXAMPLES = int(os.environ.get("JS7HA_OPENAPI_EXAMPLES", "25"))
# Not fuzzed: logging in and out (the fuzzer's own session), the live feed
# (a stream that does not end).
SKIP = {"authentication/login", "authentication/logout", "events/history"}
# JOC's events long poll is fuzzed too, with a response period short enough
# for many requests (a well-formed one waits for the whole period).
CHECK_NAMES = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
}


@pytest.fixture
def joc_conf() -> dict[str, Any]:
    return {"joc.events.response-period": 0.05}


def _checks() -> list[Any]:
    return [c for c in CHECKS.get_all() if c.__name__ in CHECK_NAMES]


def fuzz(doc: dict[str, Any], base_url: str, token: str) -> tuple[dict[str, str], int]:
    """Every operation's first failing check, by path (empty: none failed),
    and how many requests were sent."""
    schema = schemathesis.openapi.from_dict(doc)
    checks = _checks()
    failures: dict[str, str] = {}
    sent = 0
    for result in schema.get_all_operations():
        op = result.ok()
        path = op.path.removeprefix("/joc/api/")
        if path in SKIP or op.method.upper() != "POST":
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(20261207)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy(mode))
            def run(case: Any) -> None:
                nonlocal sent
                sent += 1
                response = case.call(base_url=base_url, headers={"X-Access-Token": token})
                case.validate_response(response, checks=checks)
                # JOC answers even its own bugs with a 420: an InternalError
                # is a traceback in disguise, never an answer to bad input.
                if response.status_code == 420:
                    code = response.json()["error"]["code"]
                    assert code != "InternalError", response.text[:300]

            try:
                run()
            except Unsatisfiable:
                continue
            except Exception as exc:  # noqa: BLE001 - collected per operation, reported below
                failures[f"{path} ({mode.value})"] = f"{type(exc).__name__}: {exc}"[:600]
                break
    return failures, sent


async def test_no_5xx_and_only_declared_answers_for_fuzzed_bodies(api):
    r = await api.post("/joc/api/authentication/login", headers=basic("root"))
    token = (await r.json())["accessToken"]
    doc = await (await api.get("/joc/api/openapi.json")).json()
    typed = [
        f
        for p in doc["paths"].values()
        for op in p.values()
        for f in (op.get("requestBody", {}).get("content", {}).get("application/json", {}))
        .get("schema", {})
        .get("properties", {})
        .values()
        if f
    ]
    assert typed, "the document gives the fields no types: the fuzzer would test little"
    base_url = str(api.make_url("")).rstrip("/")
    failures, sent = await asyncio.to_thread(fuzz, doc, base_url, token)
    assert sent >= 10 * EXAMPLES, f"only {sent} requests: the fuzzer reached little"
    assert not failures, "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
