"""Snapshots: how a node takes over another node's journal when it cannot
replicate event by event (behind the torn id, or its own tail diverged)."""

import pytest

from components.common.journal import EventSeqTorn, Journal


async def test_installed_snapshot_replaces_everything_and_replication_continues(tmp_path):
    active = await Journal.open(tmp_path / "a.sqlite")
    passive = await Journal.open(tmp_path / "p.sqlite")
    try:
        for i in range(20):
            await active.persist(
                [{"TYPE": "X", "Key": str(i)}], [("order", str(i), {"n": i})], meta={"m": i}
            )
        await active.release(active.last_event_id - 5)
        # The passive diverged: it has events the active never had.
        await passive.persist([{"TYPE": "Stray"}] * 3, [("order", "stray", {"n": -1})])
        with pytest.raises(EventSeqTorn):
            active.commits_after(0)
        snap = active.snapshot()
        await passive.install_snapshot(snap)
        assert passive.last_event_id == active.last_event_id
        # The events the active still retained are retained here too.
        assert passive.torn_event_id == active.torn_event_id
        assert passive.read(active.torn_event_id) == active.read(active.torn_event_id)
        assert passive.commits_after(passive.last_event_id) == []
        assert dict(passive.state("order")) == dict(active.state("order"))
        assert passive.meta("m") == 19 and passive.get("order", "stray") is None
        await active.persist([{"TYPE": "Y"}], [("order", "new", {"n": 99})])
        await passive.apply_replicated(active.commits_after(passive.last_event_id))
        assert passive.read(passive.torn_event_id) == active.read(passive.torn_event_id)
        assert passive.get("order", "new") == {"n": 99}
    finally:
        await active.close()
        await passive.close()
    reopened = await Journal.open(tmp_path / "p.sqlite")
    try:
        assert reopened.get("order", "new") == {"n": 99}
        assert reopened.torn_event_id == snap["torn"]
        assert len(reopened.read(snap["torn"])) == len(snap["events"]) + 1  # + the later "Y"
        assert reopened.last_event_id == active.last_event_id
    finally:
        await reopened.close()


async def test_a_malformed_snapshot_changes_nothing(tmp_path):
    j = await Journal.open(tmp_path / "j.sqlite")
    try:
        await j.persist([{"TYPE": "X"}], [("order", "a", 1)])
        before = (j.last_event_id, dict(j.state("order")))
        for bad in (
            {},
            {"position": -1, "state": {}, "meta": {}},
            {"position": 5, "state": {"k": {"x": float("nan")}}, "meta": {}},
        ):
            with pytest.raises(ValueError, match="malformed snapshot"):
                await j.install_snapshot(bad)
        assert (j.last_event_id, dict(j.state("order"))) == before
    finally:
        await j.close()
