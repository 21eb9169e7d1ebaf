"""The pytest plugin's own behaviour, through pytester."""

import json
import re

import pytest

pytest_plugins = ["pytester"]

CONFTEST = 'pytest_plugins = ["harness.pytest_plugin"]\n'


@pytest.fixture
def run(pytester, tmp_path):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    def _run(src, *args):
        pytester.makepyfile(src)
        return pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--artifacts-dir", str(tmp_path / "art"), *args
        )

    return _run


def test_artifacts_are_kept_on_failure_with_results_and_dropped_on_success(run, tmp_path):
    src = """
import pytest
from harness.checkers import CheckResult

@pytest.mark.guarantee("CTL-FAILOVER")
def test_fails(results, history):
    history.invoke(0, "add", 1).ok()
    results.measure("failover_seconds", 1.5)
    assert results.add(CheckResult(False, {"lost": [1]}, "no-loss"))

def test_passes(results, history):
    history.invoke(0, "add", 1).ok()
"""
    res = run(src)
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(["*js7ha artifacts*"])
    kept = list((tmp_path / "art").glob("*/*"))
    assert [p.name.rsplit("_", 1)[-1] for p in kept] == ["fails"]
    doc = json.loads((kept[0] / "results.json").read_text())
    assert doc["guarantees"] == ["CTL-FAILOVER"]
    assert doc["checks"][0]["valid"] is False
    assert doc["measurements"] == {"failover_seconds": 1.5}
    assert (kept[0] / "history.jsonl").read_text().count("\n") == 2


def test_keep_artifacts_keeps_passing_tests_too(run, tmp_path):
    res = run(
        "def test_ok(artifacts):\n    (artifacts / 'x').write_text('1')\n", "--keep-artifacts"
    )
    res.assert_outcomes(passed=1)
    assert [p.name for p in (tmp_path / "art").glob("*/*/x")] == ["x"]


def test_guarantee_marker_is_validated(run):
    res = run("import pytest\n@pytest.mark.guarantee('not an id')\ndef test_x():\n    pass\n")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*bad guarantee id 'not an id'*"])


def test_unknown_marker_fails_under_strict_markers(run):
    res = run("import pytest\n@pytest.mark.nonsense\ndef test_x():\n    pass\n", "--strict-markers")
    assert res.ret != 0


def test_seeded_rng_replays_and_header_shows_options(run):
    src = "def test_r(rng):\n    print('DRAW', rng.random())\n"
    a = run(src, "--seed", "7", "-s", "--profile", "js7-documented")
    b = run(src, "--seed", "7", "-s")
    a.stdout.fnmatch_lines(["js7ha: backend=local profile=js7-documented seed=7 *"])

    def draws(res):
        return re.findall(r"DRAW ([0-9.]+)", res.stdout.str())

    assert draws(a)
    assert draws(a) == draws(b)
