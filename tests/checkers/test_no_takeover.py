from harness.checkers import no_takeover
from tests.checkers.histories import HistoryBuilder

ROLE = "director"


def sample(b: HistoryBuilder, t: float, node: str, active: bool, took: float = 0.0) -> None:
    value = {"role": ROLE, "node": node}
    b.at(t).ok("observe-active", value, result={**value, "active": active}, took=took)


def watch_down(spec: dict[float, bool], *, took: float = 0.0) -> tuple[list, int]:
    """The Watch stopped from 1.0 to 5.0; the backup sampled at ``spec``'s
    times (active or not)."""
    b = HistoryBuilder()
    sample(b, 0.5, "backup", False)
    fid = b.at(1.0).start_fault("stop")
    for t, active in sorted(spec.items()):
        sample(b, t, "backup", active, took)
    b.at(5.0).stop_fault(fid)
    sample(b, 5.5, "backup", True)  # after the heal: the take-over it allowed
    return b.records(), fid


def test_a_backup_that_stays_passive_while_the_watch_is_down_passes():
    records, fid = watch_down({2.0: False, 3.0: False, 4.0: False})
    result = no_takeover(records, fault=fid, role=ROLE, node="backup")
    assert result.valid, result.details
    assert result.details["samples"] == 3


def test_break_it_a_take_over_without_the_watch_is_caught():
    records, fid = watch_down({2.0: False, 3.0: True, 4.0: True})
    result = no_takeover(records, fault=fid, role=ROLE, node="backup")
    assert not result.valid
    assert result.details["active-at"] == [3.0, 4.0]


def test_break_it_no_sample_during_the_fault_is_no_evidence():
    records, fid = watch_down({})
    result = no_takeover(records, fault=fid, role=ROLE, node="backup")
    assert not result.valid
    assert "no sample" in result.details["error"]


def test_a_sample_straddling_the_heal_does_not_count():
    # Invoked at 4.8, answered at 5.2 (after the heal at 5.0): the Watch may
    # have been back when it answered.
    b = HistoryBuilder()
    fid = b.at(1.0).start_fault("stop")
    sample(b, 2.0, "backup", False)
    value = {"role": ROLE, "node": "backup"}
    op = b.at(4.8).invoke("observe-active", value)
    b.at(5.0).stop_fault(fid)
    b.at(5.2).complete(op, "ok", {**value, "active": True})
    result = no_takeover(b.records(), fault=fid, role=ROLE, node="backup")
    assert result.valid, result.details


def test_other_nodes_and_roles_are_not_judged():
    b = HistoryBuilder()
    fid = b.at(1.0).start_fault("stop")
    sample(b, 2.0, "backup", False)
    sample(b, 2.5, "primary", True)
    b.at(3.0).ok(
        "observe-active",
        {"role": "controller", "node": "backup"},
        result={"role": "controller", "node": "backup", "active": True},
    )
    b.at(4.0).stop_fault(fid)
    assert no_takeover(b.records(), fault=fid, role=ROLE, node="backup").valid


def test_an_unknown_fault_fails():
    records, _ = watch_down({2.0: False})
    assert not no_takeover(records, fault=99, role=ROLE, node="backup").valid
