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


def test_workers_share_the_session_folder_and_the_last_one_out_leaves_none(run, tmp_path):
    """Two xdist workers, many short passing tests: none fails in its
    artifacts fixture (a worker once removed the shared session folder while
    the other was creating its test's folder in it), and the emptied session
    folder is gone once both have ended."""
    src = "\n".join(
        f"def test_{i}(artifacts):\n    (artifacts / 'x').write_text('1')\n" for i in range(60)
    )
    res = run(src, "-n", "2")
    res.assert_outcomes(passed=60)
    assert list((tmp_path / "art").iterdir()) == []


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


def test_a_slower_profile_scales_the_per_test_timeout(pytester, tmp_path):
    """pytest-timeout's limit is sized for the reference timing: under
    js7-documented it grows with the heal deadline; an explicit one stays."""
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\ntimeout = 300\n")
    pytester.makepyfile(
        """
import pytest

def test_scaled(request):
    print("LIMIT", request.node.get_closest_marker("timeout").args[0])

@pytest.mark.timeout(7)
def test_explicit(request):
    print("LIMIT", request.node.get_closest_marker("timeout").args[0])
"""
    )
    out = {}
    for profile in ("reference", "js7-documented"):
        res = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "-s",
            f"--artifacts-dir={tmp_path / profile}",
            f"--profile={profile}",
            "-k",
            "scaled" if profile == "js7-documented" else "explicit",
        )
        assert res.ret == 0, res.stdout.str()
        out[profile] = re.findall(r"LIMIT (\S+)", res.stdout.str())
    assert out == {"reference": ["7"], "js7-documented": ["3000.0"]}


def test_a_test_cut_off_by_the_timeout_is_a_harness_error(pytester, tmp_path):
    """pytest-timeout's cut is no checker's verdict: the test carries the
    harness-error property (in JUnit too) that makes the report say unknown."""
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
import time
import pytest

@pytest.mark.timeout(1)
def test_slow():
    time.sleep(5)
"""
    )
    res = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--artifacts-dir={tmp_path / 'art'}",
        f"--junitxml={tmp_path / 'junit.xml'}",
    )
    assert res.ret == 1
    assert (
        'name="js7ha-harness-error" value="Failed: Timeout' in (tmp_path / "junit.xml").read_text()
    )
