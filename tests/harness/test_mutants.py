"""The mutants' catalog, the apply step and the classification from JUnit
(harness/mutants): fast, no suite is run. The catalog test is what keeps the
seeded bugs from rotting: a change to a component that moves a mutant's
line fails here, not silently in a mutants run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.mutants import catalog, classify, junit, selection
from harness.mutants.apply import apply, copy_tree

ROOT = Path(__file__).resolve().parents[2]


def test_every_mutant_loads_and_matches_its_target_exactly_once():
    mutants = catalog.load(ROOT)  # raises CatalogError on the first that does not
    assert len(mutants) >= 14
    for family in catalog.FAMILIES:
        assert sum(m.family == family for m in mutants) >= 2, family


def test_every_mutant_names_known_guarantees_and_existing_tests():
    import tomllib

    known = {
        g["id"] for g in tomllib.loads((ROOT / "suites/catalog.toml").read_text())["guarantee"]
    }
    for m in catalog.load(ROOT):
        assert set(m.guarantees) <= known, m.id
        for node in m.select:
            assert (ROOT / node.split("::")[0]).is_file(), f"{m.id}: {node}"


def _write(dir_: Path, name: str, text: str) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    path = dir_ / name
    path.write_text(text)
    return path


GOOD = """
id = "{id}"
family = "controller"
guarantees = ["CTL-FAILOVER"]
description = "a bug"
target = "components/x.py"
search = "a = 1"
replace = "a = 2"
select = ["suites/test_x.py::test_y"]
"""


def _project(tmp_path: Path, source: str, mutant: str = GOOD.format(id="m1")) -> Path:
    _write(tmp_path / "components", "x.py", source)
    _write(tmp_path / catalog.CATALOG_DIR, "m1.toml", mutant)
    return tmp_path


def test_a_search_text_that_matches_twice_or_never_is_refused(tmp_path):
    with pytest.raises(catalog.CatalogError, match="occurs 2 times"):
        catalog.load(_project(tmp_path / "twice", "a = 1\na = 1\n"))
    with pytest.raises(catalog.CatalogError, match="occurs 0 times"):
        catalog.load(_project(tmp_path / "never", "b = 1\n"))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (('family = "controller"', 'family = "cloud"'), "family"),
        (('target = "components/x.py"', 'target = "harness/x.py"'), "not under components"),
        (('replace = "a = 2"', 'replace = "a = 1"'), "changes nothing"),
        (('select = ["suites/test_x.py::test_y"]', "select = []"), "select"),
        (('id = "m1"', 'id = "m2"'), "file name"),
        (('id = "m1"', 'id = "m1"\nspeed = 3'), "unknown field"),
    ],
)
def test_a_malformed_mutant_file_is_refused(tmp_path, change, error):
    text = GOOD.format(id="m1").replace(*change)
    with pytest.raises(catalog.CatalogError, match=error):
        catalog.load(_project(tmp_path, "a = 1\n", text))


def test_apply_patches_the_copy_and_leaves_the_original(tmp_path):
    root = _project(tmp_path / "root", "x = 0\na = 1\n")
    _write(root / ".venv", "big", "not copied")
    _write(root / "reports" / "out", "run", "not copied")
    (m,) = catalog.load(root)
    tree = copy_tree(root, tmp_path / "copy")
    apply(m, tree)
    assert (tree / "components/x.py").read_text() == "x = 0\na = 2\n"
    assert (root / "components/x.py").read_text() == "x = 0\na = 1\n"
    assert not (tree / ".venv").exists() and not (tree / "reports" / "out").exists()
    with pytest.raises(catalog.CatalogError):
        apply(m, tree)  # applied already: the search text is gone


def test_rotation_is_deterministic_by_seed_and_visits_everything():
    mutants = catalog.load(ROOT)
    a = selection.choose(mutants, rotate=2, seed=20260101)
    assert a == selection.choose(mutants, rotate=2, seed=20260101) and len(a) == 2
    seen = {m.id for s in range(200) for m in selection.choose(mutants, rotate=2, seed=s)}
    assert seen == {m.id for m in mutants}
    assert selection.rotation_seed(__import__("datetime").date(2026, 12, 7)) == 20261207


def test_selection_by_family_and_id():
    mutants = catalog.load(ROOT)
    assert {m.family for m in selection.choose(mutants, families=["joc"])} == {"joc"}
    first = mutants[0].id
    assert [m.id for m in selection.choose(mutants, ids=[first])] == [first]
    with pytest.raises(selection.SelectionError):
        selection.choose(mutants, ids=["no-such-mutant"])


# -- classification from hand-made JUnit files ------------------------------

HEAD = '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
TAIL = "</testsuite></testsuites>"
PASSED = '<testcase classname="suites.x" name="test_ok" time="1"/>'
SKIPPED = '<testcase classname="suites.x" name="test_skip"><skipped message="no"/></testcase>'
VERDICT = (
    '<testcase classname="suites.x" name="test_v"><failure message="AssertionError: '
    "composed: valid=False&#10;    no-loss: no-loss: valid=False&#10;      lost: "
    '[&apos;o-1&apos;]&#10;    on-time: on-time: valid=True&#10;[+9 more lines]">'
    "E           shrinks: shrinks: valid=False&#10;E             torn: 0</failure></testcase>"
)
HARNESS = (
    '<testcase classname="suites.x" name="test_h"><properties><property '
    'name="js7ha-harness-error" value="DeadlineExceeded: orders not finished"/></properties>'
    '<failure message="harness.errors.DeadlineExceeded: orders">trace</failure></testcase>'
)
SETUP = (
    '<testcase classname="suites.x" name="test_s"><error message="failed on setup with '
    '&quot;NodeStartError: controller&quot;">trace</error></testcase>'
)
CRASH = '<testcase classname="suites.x" name="test_c"><failure message="KeyError: 1"/></testcase>'
TIMEOUT = (
    '<testcase classname="suites.x" name="test_t"><failure message="Failed: Timeout &gt;300.0s"/>'
    "</testcase>"
)


def _cases(tmp_path: Path, *cases: str) -> list[junit.TestCase]:
    return junit.read(_write(tmp_path, "junit.xml", HEAD + "".join(cases) + TAIL))


def test_junit_kinds(tmp_path):
    got = _cases(tmp_path, PASSED, SKIPPED, VERDICT, HARNESS, SETUP, CRASH, TIMEOUT)
    assert [c.kind for c in got] == [
        "passed",
        "skipped",
        "verdict",
        "error",
        "error",
        "error",
        "error",
    ]
    assert got[2].nodeid == "suites.x::test_v"
    assert got[2].message == "AssertionError: composed: valid=False (broken: no-loss, shrinks)"
    assert got[3].message == "DeadlineExceeded: orders not finished"


@pytest.mark.parametrize(
    ("cases", "outcome"),
    [
        ((PASSED, VERDICT), "caught"),
        ((HARNESS, VERDICT), "caught"),
        ((PASSED, HARNESS), "caught-by-error"),
        ((SETUP,), "caught-by-error"),
        ((CRASH, PASSED), "caught-by-error"),
        ((TIMEOUT,), "caught-by-error"),
        ((PASSED, SKIPPED), "survived"),
        ((SKIPPED,), "unknown"),
        ((), "unknown"),
    ],
)
def test_a_mutants_outcome(tmp_path, cases, outcome):
    assert classify.classify(_cases(tmp_path, *cases)) == outcome


@pytest.mark.parametrize(
    ("cases", "ok"),
    [((PASSED, SKIPPED), True), ((PASSED, VERDICT), False), ((PASSED, SETUP), False), ((), False)],
)
def test_the_baseline_must_pass(tmp_path, cases, ok):
    assert classify.baseline_ok(_cases(tmp_path, *cases)) is ok


def test_an_unreadable_junit_file_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unreadable"):
        junit.read(_write(tmp_path, "junit.xml", "<testsuites>"))
    with pytest.raises(ValueError, match="unreadable"):
        junit.read(tmp_path / "missing.xml")


def test_a_mutants_baseline_is_the_part_of_the_baseline_it_selects(tmp_path):
    cases = [
        junit.TestCase("suites.x.test_a::test_one[kill]", "passed"),
        junit.TestCase("suites.x.test_a::test_one_more", "verdict"),
        junit.TestCase("suites.x.test_b::test_two", "error"),
    ]
    assert (
        junit.as_junit_id("suites/x/test_a.py::test_one[kill]") == "suites.x.test_a::test_one[kill]"
    )
    assert [c.nodeid for c in junit.selected(cases, ["suites/x/test_a.py::test_one"])] == [
        "suites.x.test_a::test_one[kill]"
    ]
    assert len(junit.selected(cases, ["suites/x/test_a.py"])) == 2
    assert junit.selected(cases, ["suites/x/test_c.py"]) == []


def test_the_command_lists_and_refuses_unknown_ids(capsys):
    from harness.cli import main

    assert main(["mutants", "--list", "--family", "joc"]) == 0
    out = capsys.readouterr().out
    assert "joc-standby-waits-twice" in out and "js1-" not in out
    assert main(["mutants", "--id", "no-such-mutant"]) == 2
    assert "no mutant with id no-such-mutant" in capsys.readouterr().out


def test_the_report_accepts_only_explained_survivors_and_flags_stale_explanations():
    from dataclasses import replace

    from rich.console import Console

    from harness.mutants.report import Result, document, table
    from harness.mutants.runner import Run

    m = catalog.load(ROOT)[0]
    passed = Run("x", [junit.TestCase("suites.x::test", "passed")])
    caught = Run("x", [junit.TestCase("suites.x::test", "verdict", "AssertionError: no")])
    explained = replace(m, explained="a defence elsewhere")
    results = [
        Result(m, "survived", passed),
        Result(explained, "survived", passed),
        Result(explained, "caught", caught),
        Result(m, "unknown", None),
    ]
    assert [r.accepted for r in results] == [False, True, False, False]
    doc = document(passed, True, results)
    assert [d["outcome"] for d in doc["mutants"]] == ["survived", "survived", "caught", "unknown"]
    assert doc["mutants"][1]["why"] == "a defence elsewhere"
    assert "drop its 'explained'" in doc["mutants"][2]["why"]
    assert doc["mutants"][3]["why"] == "not run: the baseline did not pass"
    console = Console(record=True, width=200)
    console.print(table(passed, True, results))
    assert "survived (explained)" in console.export_text()
