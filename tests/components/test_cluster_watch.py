"""The Cluster Watch's consent rules, on a real journal (JS7-FACTS §3)."""

import asyncio
import time

import pytest

from components.common.cluster.arbiter import ClusterWatch
from components.common.journal import Journal
from components.common.web import Problem


def coupled(gen=3, active="Primary"):
    return {
        "TYPE": "Coupled",
        "activeId": active,
        "generation": gen,
        "idToUri": {"Primary": "p", "Backup": "b"},
    }


def failover(frm="Backup", failed="Primary", state=None):
    return {
        "TYPE": "ClusterWatchConsent",
        "from": frm,
        "clusterState": state or coupled(),
        "event": {"TYPE": "ClusterFailedOver", "failedActiveId": failed, "activatedId": frm},
    }


@pytest.fixture
async def watch(tmp_path):
    j = await Journal.open(tmp_path / "w.sqlite")
    yield ClusterWatch(j)
    await j.close()


async def teach(w, state=None, timeout=0.2):
    await w.heartbeat(
        {"from": "Primary", "clusterState": state or coupled(), "heartbeatTimeout": timeout}
    )


async def test_untaught_watch_refuses_until_a_user_confirms_the_loss(watch):
    with pytest.raises(Problem) as err:
        await watch.consent(failover())
    assert err.value.code == "UntaughtClusterWatch"
    await watch.confirm_node_loss("Primary")
    assert (await watch.consent(failover()))["activeId"] == "Backup"
    assert watch.known["TYPE"] == "FailedOver"


async def test_no_fail_over_while_the_active_is_still_heard(watch):
    await teach(watch, timeout=30)
    with pytest.raises(Problem) as err:
        await watch.consent(failover())
    assert err.value.code == "ClusterWatchActiveStillAlive"


async def test_fail_over_after_silence_and_only_once(watch):
    await teach(watch, timeout=0.2)
    watch.heard["Primary"] = time.monotonic() - 1  # silent for longer than the timeout
    assert (await watch.consent(failover()))["activeId"] == "Backup"
    # The old active now asks to lose its passive: refused (it halts then).
    with pytest.raises(Problem) as err:
        await watch.consent(
            {
                "TYPE": "ClusterWatchConsent",
                "from": "Primary",
                "clusterState": coupled(),
                "event": {"TYPE": "ClusterPassiveLost", "id": "Backup"},
            }
        )
    assert err.value.code == "ClusterWatchRequestDoesNotMatch"
    # And its stale heartbeat cannot undo the consent.
    reply = await watch.heartbeat({"from": "Primary", "clusterState": coupled()})
    assert reply["activeId"] == "Backup"


async def test_of_two_conflicting_consents_asked_at_once_only_one_wins(watch):
    """Break it: the restarted active asks to go on alone while its passive
    asks to fail over, both in the same instant (the Controller reads both
    Directors at once). Without one judgement at a time both were granted."""
    await teach(watch, timeout=0.2)
    watch.heard["Primary"] = time.monotonic() - 1
    passive_lost = {
        "TYPE": "ClusterWatchConsent",
        "from": "Primary",
        "clusterState": coupled(),
        "event": {"TYPE": "ClusterPassiveLost", "id": "Backup"},
    }
    answers = await asyncio.gather(
        watch.consent(passive_lost), watch.consent(failover()), return_exceptions=True
    )
    granted = [a for a in answers if isinstance(a, dict)]
    assert len(granted) == 1, answers
    assert isinstance(next(a for a in answers if a not in granted), Problem)


async def test_passive_lost_only_for_the_known_active_and_then_no_fail_over(watch):
    await teach(watch)
    with pytest.raises(Problem) as err:
        await watch.consent(
            {
                "TYPE": "ClusterWatchConsent",
                "from": "Backup",
                "clusterState": coupled(),
                "event": {"TYPE": "ClusterPassiveLost", "id": "Primary"},
            }
        )
    assert err.value.code == "ClusterWatchRequestDoesNotMatch"
    await watch.consent(
        {
            "TYPE": "ClusterWatchConsent",
            "from": "Primary",
            "clusterState": coupled(),
            "event": {"TYPE": "ClusterPassiveLost", "id": "Backup"},
        }
    )
    watch.heard["Primary"] = time.monotonic() - 100
    with pytest.raises(Problem) as err:  # not Coupled any more: the passive may not take over
        await watch.consent(failover())
    assert err.value.code == "ClusterWatchRequestDoesNotMatch"


async def test_a_newer_replicated_state_in_a_request_teaches_the_watch(watch):
    await teach(watch, {**coupled(gen=2), "TYPE": "PreparedToBeCoupled"})
    watch.heard["Primary"] = time.monotonic() - 100
    # The passive's copy of the active's journal already says Coupled (gen 3).
    assert (await watch.consent(failover(state=coupled(gen=3))))["activeId"] == "Backup"


async def test_the_watch_remembers_across_a_restart_and_forgets_with_its_state(tmp_path):
    j = await Journal.open(tmp_path / "w.sqlite")
    await teach(ClusterWatch(j))
    await j.close()
    j = await Journal.open(tmp_path / "w.sqlite")
    try:
        assert ClusterWatch(j).known["TYPE"] == "Coupled"
    finally:
        await j.close()
    fresh = await Journal.open(tmp_path / "other.sqlite")
    try:
        assert ClusterWatch(fresh).known is None
    finally:
        await fresh.close()


async def test_a_watch_without_journal_learns_in_memory_and_is_untaught_when_new():
    # The Controller's Watch of a Director pair, as JS7's: untaught at each start.
    w = ClusterWatch(None)
    await teach(w)
    assert w.known["TYPE"] == "Coupled"
    assert ClusterWatch(None).known is None


async def test_a_confirmed_untaught_consent_counts_on_from_the_requesters_state(watch):
    # The replaced Primary (generation 7) must find the Watch's state newer.
    with pytest.raises(Problem):
        await watch.consent(failover(state=coupled(gen=7)))
    await watch.confirm_node_loss("Primary")
    consent = await watch.consent(failover(state=coupled(gen=7)))
    assert consent["manuallyConfirmed"] is True
    assert watch.known["generation"] == 8 and watch.known["activeId"] == "Backup"


async def test_an_unconfirmed_consent_is_not_manual(watch):
    await teach(watch, timeout=0.2)
    watch.heard["Primary"] = time.monotonic() - 100
    assert (await watch.consent(failover()))["manuallyConfirmed"] is False


async def test_a_loss_nobody_asked_to_confirm_is_refused(watch):
    with pytest.raises(Problem) as err:
        await watch.confirm_node_loss("Primary")
    assert err.value.code == "ClusterNodeIsNotLost"


async def test_the_lost_nodes_heartbeat_voids_the_confirmation(watch):
    with pytest.raises(Problem):
        await watch.consent(failover())
    await watch.confirm_node_loss("Primary")
    await teach(watch, timeout=30)  # the Primary is alive after all
    with pytest.raises(Problem) as err:
        await watch.consent(failover())
    assert err.value.code == "ClusterWatchActiveStillAlive"
