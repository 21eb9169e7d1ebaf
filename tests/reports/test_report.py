"""The report from a synthetic run folder, ``js7ha report DIR``, the plugin
under xdist and selection by guarantee/system, and the plain progress lines."""

import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from harness import cli
from reports.catalog import NOT_YET_CHECKED, load_catalog
from reports.model import merge_verdicts
from reports.progress import Progress
from reports.render import write_report
from reports.timeline import active_segments, render_timeline

from .synthetic import BROKEN, HELD, UNKNOWN, make_run

pytest_plugins = ["pytester"]
NEED = "reference-only: the reference's order list (GET /controller/api/order)"


@pytest.fixture
def run_dir(tmp_path):
    """The synthetic run, rendered with CTL-JOC-INDEPENDENT marked
    not-yet-checked and EVT-RELEASE needing a reference-only observation
    (whatever the real catalog says today)."""
    cat = load_catalog()
    g = cat.guarantees["CTL-JOC-INDEPENDENT"]
    cat.guarantees[g.id] = dataclasses.replace(g, status=NOT_YET_CHECKED, suites=())
    g = cat.guarantees["EVT-RELEASE"]
    cat.guarantees[g.id] = dataclasses.replace(g, needs=(NEED,))
    run = tmp_path / "20250101-120000"
    write_report(run, make_run(run), cat)
    return run


def test_verdicts_follow_the_rules(run_dir):
    doc = json.loads((run_dir / "results.json").read_text())
    verdicts = {g["id"]: g["verdict"] for g in doc["guarantees"]}
    assert {g for g, v in verdicts.items() if v == "held"} == HELD
    assert {g for g, v in verdicts.items() if v == "broken"} == BROKEN
    assert {g for g, v in verdicts.items() if v == "unknown"} == UNKNOWN
    assert doc["totals"] == {"held": 1, "broken": 2, "unknown": 2}
    assert doc["held"] is False
    reasons = {g["id"]: g["reason"] for g in doc["guarantees"]}
    assert "not yet checked" in reasons["CTL-JOC-INDEPENDENT"]
    assert "re-check" in reasons["AGT-CROSS-AGENT"]
    assert doc["summary"]["agents"] == {"held": 1, "broken": 1, "unknown": 1}
    # the raw part is kept as written, so a re-render can start from it again
    assert doc["tests"][0]["nodeid"].startswith("suites/agents/test_autonomy.py")


def _late_only(run) -> None:
    """Make the synthetic EVT-RELEASE test fail on its time bound alone."""
    results = run / "artifacts" / "sess" / "release" / "results.json"
    doc = json.loads(results.read_text())
    doc["checks"] = [
        {
            "name": "composed",
            "valid": False,
            "details": {
                "no-loss": {"name": "no-loss", "valid": True, "details": {}},
                "failover-time": {
                    "name": "failover-time",
                    "valid": False,
                    "details": {"seconds": 12.2, "bound": 3.0},
                },
            },
        }
    ]
    results.write_text(json.dumps(doc))


@pytest.mark.parametrize("late_only", [True, False], ids=["late-only", "lost-order"])
def test_a_documented_bound_js7s_defaults_cannot_meet_is_said_so(tmp_path, late_only):
    """Under js7-documented, a guarantee broken only by its time bound, whose
    catalog entry explains why JS7's documented defaults cannot meet the
    documented bound, says that, not a bare "broken"; a guarantee broken by
    anything else (here a lost order) does not hide behind it; under the
    reference profile neither says it."""
    cat = load_catalog()
    g = cat.guarantees["EVT-RELEASE"]
    cat.guarantees[g.id] = dataclasses.replace(g, documented_defaults="a 10 s timeout")
    reasons = {}
    for profile in ("js7-documented", "reference"):
        run = tmp_path / profile
        raw = make_run(run)
        if late_only:
            _late_only(run)
        raw["options"]["profile"] = profile
        write_report(run, raw, cat)
        doc = json.loads((run / "results.json").read_text())
        entry = next(e for e in doc["guarantees"] if e["id"] == "EVT-RELEASE")
        assert entry["verdict"] == "broken"
        reasons[profile] = entry["reason"]
    said = "cannot be met with JS7's documented defaults: a 10 s timeout"
    if late_only:
        assert said in reasons["js7-documented"]
    else:
        assert said not in reasons["js7-documented"]
        assert "not only late: no-loss failed" in reasons["js7-documented"]
    assert "documented defaults" not in reasons["reference"]


def test_figures_and_fault_matrix(run_dir):
    doc = json.loads((run_dir / "results.json").read_text())
    g = {g["id"]: g for g in doc["guarantees"]}
    assert g["EVT-RELEASE"]["figures"]["lost"] == 1
    assert g["EVT-RELEASE"]["fault_kinds"] == {"pause": "broken"}
    assert g["AGT-AUTONOMY"]["fault_kinds"] == {"kill": "held"}
    # fail-over measured from the history: first add acknowledged by the backup
    assert g["AGT-AUTONOMY"]["figures"]["failover_count"] == 1
    assert 0 <= g["AGT-AUTONOMY"]["figures"]["max"] < 1
    assert set(doc["fault_kinds"]) == {"kill", "pause", "no fault"}


def test_the_html_is_one_self_contained_file(run_dir):
    html = (run_dir / "index.html").read_text()
    # no fetches: no external scripts, styles, images or fonts
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline"' in html
    assert "Any events remain in place" not in html  # only selected guarantees
    assert "cannot actively establish" not in html
    assert "In this situation an Agent can proceed" in html  # AGT-CROSS-AGENT's quote
    assert 'id="count-broken">2<' in html
    assert "LAST LINE of the controller" in html  # log tail of the broken test
    assert "lost: [&#39;o-3&#39;]" in html  # the checker's explanation, escaped
    # Which verdicts would mean the same against a real JS7, and why not.
    doc = json.loads((run_dir / "results.json").read_text())
    over = [g["id"] for g in doc["guarantees"] if g["carries_over"]]
    checked = [g for g in doc["guarantees"] if g["status"] != "not-yet-checked"]
    assert f"<b>{len(over)}</b> of {len(checked)} checked guarantees" in html
    assert not [g["id"] for g in doc["guarantees"] if g["carries_over"] and g not in checked]
    assert "would not carry over as is" in html
    assert "reference-only: the reference&#39;s order list" in html  # EVT-RELEASE's need


def test_timeline_shows_faults_ops_and_the_active_node(tmp_path):
    raw = make_run(tmp_path / "r")
    from harness.history import History

    records = History.load(tmp_path / "r" / raw["tests"][0]["artifacts"] / "history.jsonl")
    svg = render_timeline(records)
    assert 'class="fault" data-fault="kill"' in svg
    assert "op-ok" in svg and "op-info" in svg
    assert active_segments(records) == {
        "controller": [
            ("primary", records[1]["time"], records[1]["time"]),
            ("backup", *[r["time"] for r in records if r.get("node") == "backup"][:1] * 2),
        ]
    }
    assert render_timeline([]) == '<p class="muted">empty history</p>'


def test_merge_verdicts():
    assert merge_verdicts([]) == "unknown"
    assert merge_verdicts(["held", "unknown"]) == "unknown"
    assert merge_verdicts(["unknown", "broken", "held"]) == "broken"
    assert merge_verdicts(["held", "held"]) == "held"


def test_report_command_rechecks_and_notes_differences(run_dir, capsys):
    doc = json.loads((run_dir / "results.json").read_text())
    # Pretend the run itself had said AGT-CROSS-AGENT held (an older checker).
    for g in doc["guarantees"]:
        if g["id"] == "AGT-CROSS-AGENT":
            g["verdict"] = "held"
    (run_dir / "results.json").write_text(json.dumps(doc))
    (run_dir / "index.html").unlink()
    assert cli.main(["report", str(run_dir)]) == 1
    out = capsys.readouterr().out
    assert "AGT-CROSS-AGENT: was held, now broken" in out
    assert "no-loss recorded True, re-checked False" in out
    assert "NOT every selected guarantee held" in out
    assert (run_dir / "index.html").exists()
    assert json.loads((run_dir / "results.json").read_text())["rechecked"]


def test_report_command_refuses_a_folder_that_is_no_run(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_plain_progress_lines_name_the_guarantee_and_its_state():
    out = io.StringIO()
    p = Progress(out, rich=False)
    p.expect([("t::a", ["CTL-FAILOVER"]), ("t::b", ["CTL-FAILOVER", "EVT-RELEASE"])])
    p.started("t::a", ["CTL-FAILOVER"])
    p.finished("t::a", ["CTL-FAILOVER"], "passed", 1.0)
    p.finished("t::b", ["CTL-FAILOVER", "EVT-RELEASE"], "failed", 2.0)
    p.close()
    text = out.getvalue()
    assert "\x1b[" not in text  # no cursor movement or colour
    assert "2 guarantee(s), 3 test run(s) expected" in text
    assert "CTL-FAILOVER: broken (1/2 passed)" in text
    assert "EVT-RELEASE: broken (0/1 passed)" in text


# -- the plugin, through pytester, under xdist ------------------------------

SUITE = """
import pytest
from harness.checkers import CheckResult

@pytest.mark.guarantee("CTL-FAILOVER")
@pytest.mark.parametrize("k", ["kill", "pause"])
def test_failover(results, history, k):
    history.invoke("c", "add", 1).ok(node="a")
    assert results.add(CheckResult(True, {}, "x"))

@pytest.mark.guarantee("EVT-RELEASE")
def test_release(results):
    assert results.add(CheckResult(False, {"lost-count": 1}, "no-loss"))

@pytest.mark.guarantee("AGT-NO-CONNECT")
def test_other():
    pass

@pytest.mark.guarantee("CTL-RECOVERY")
def test_harness_gave_up():
    from harness.errors import DeadlineExceeded
    raise DeadlineExceeded("the nodes did not come up")
"""


@pytest.fixture
def plugin_run(pytester, tmp_path):
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin", "reports.plugin"]\n')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_suite=SUITE)

    def _run(*args):
        return pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--artifacts-dir={tmp_path / 'art'}", *args
        )

    return _run


def test_plugin_collects_per_test_results_across_xdist_workers(plugin_run, tmp_path):
    out = tmp_path / "run"
    res = plugin_run(
        "-n",
        "2",
        "--keep-artifacts",
        f"--js7ha-report={out}",
        f"--junitxml={out / 'junit.xml'}",
        f"--alluredir={out / 'allure'}",
        "--system=controller",
        "--guarantee=EVT-RELEASE",
    )
    assert res.ret == 1
    doc = json.loads((out / "results.json").read_text())
    tests = {t["nodeid"].split("::")[1]: t for t in doc["tests"]}
    assert set(tests) == {
        "test_failover[kill]",
        "test_failover[pause]",
        "test_release",
        "test_harness_gave_up",
    }
    # A harness error inside the test is unknown, never a broken guarantee.
    assert (tests["test_harness_gave_up"]["outcome"], tests["test_harness_gave_up"]["phase"]) == (
        "error",
        "call",
    )
    assert tests["test_release"]["outcome"] == "failed"
    # ... and so it is in JUnit (an error, with its cause) and Allure ("broken",
    # Allure's status for an error that is not an assertion).
    cases = {c.get("name"): c for c in ET.parse(out / "junit.xml").iter("testcase")}
    gave_up = cases["test_harness_gave_up"]
    assert gave_up.find("failure") is None
    assert "the nodes did not come up" in gave_up.find("error").get("message")
    assert cases["test_release"].find("failure") is not None
    suite = next(ET.parse(out / "junit.xml").iter("testsuite"))
    assert int(suite.get("errors")) >= 1
    allure_status = {
        r["name"]: r["status"]
        for r in (json.loads(p.read_text()) for p in (out / "allure").glob("*-result.json"))
    }
    assert allure_status["test_harness_gave_up"] == "broken"
    assert allure_status["test_release"] == "failed"
    assert tests["test_failover[kill]"]["guarantees"] == ["CTL-FAILOVER"]
    # the artifacts path crossed the xdist boundary and the folder was read
    assert (out / tests["test_release"]["artifacts"] / "results.json").exists()
    v = {g["id"]: g["verdict"] for g in doc["guarantees"]}
    assert v["EVT-RELEASE"] == "broken"
    assert v["CTL-FAILOVER"] == "held"
    # --system=controller selects every Controller guarantee; CTL-RECOVERY's
    # one test ended in a harness error → unknown
    assert v["CTL-RECOVERY"] == "unknown"
    assert "AGT-NO-CONNECT" not in v
    assert (out / "index.html").exists()


def test_unknown_guarantee_or_system_is_a_usage_error(plugin_run):
    assert plugin_run("--guarantee=NOPE-NOPE").ret == pytest.ExitCode.USAGE_ERROR
    assert plugin_run("--system=mainframe").ret == pytest.ExitCode.USAGE_ERROR


def test_without_report_option_nothing_is_written(plugin_run, tmp_path):
    res = plugin_run("--guarantee=AGT-NO-CONNECT")
    assert res.ret == 0
    res.assert_outcomes(passed=1, deselected=4)
    assert not list(tmp_path.glob("**/index.html"))


def test_catalog_loads_every_system():
    cat = load_catalog()
    assert set(cat.systems) == {
        *("joc", "controller", "agents", "events", "history", "jobscheduler1"),
        *("agent_cluster", "security"),
    }


def test_rich_progress_renders_a_table_per_guarantee():
    out = io.StringIO()
    p = Progress(out, rich=True)
    p.expect([("t::a", ["CTL-FAILOVER"]), ("t::b", ["EVT-RELEASE"])])
    p.started("t::a", ["CTL-FAILOVER"])
    p.finished("t::a", ["CTL-FAILOVER"], "passed", 1.0)
    p.finished("t::b", ["EVT-RELEASE"], "failed", 1.0)
    p.close()
    last = out.getvalue().split("js7ha: guarantees")[-1]
    assert re.search(r"CTL-FAILOVER\s*│\s*1/1\s*│\s*1\s*│\s*0\s*│\s*0\s*│\s*held", last)
    assert re.search(r"EVT-RELEASE\s*│\s*1/1\s*│\s*0\s*│\s*1\s*│\s*0\s*│\s*broken", last)
