"""Claims and take-overs against a real PostgreSQL (the ``postgres_server``
fixture): the conditional UPDATEs of JS7-FACTS §6 decide, not timing."""

import uuid
from pathlib import Path

import pytest

from components.jobscheduler1 import store
from components.jobscheduler1.cluster import Cluster
from components.jobscheduler1.db import Db, migrate
from components.jobscheduler1.options import Options, Timing

SID = "js1"
OPEN: list[Db] = []  # connections of the in-process cluster members, closed per test


@pytest.fixture
def db_url(postgres_server):
    name = f"u_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def db(db_url):
    d = Db(db_url, "test", 2)
    d.run(migrate)
    d.run(migrate)  # idempotent
    yield d
    d.close()
    while OPEN:
        OPEN.pop().close()


def member_row(db, sid=SID, member="m1", exclusive=False):
    db.run(
        lambda c: c.execute(
            "INSERT INTO scheduler_clusters (member_id, scheduler_id, last_heart_beat,"
            " next_heart_beat, active, exclusive) VALUES (%s, %s, 1, 2, true, %s)",
            (member, sid, exclusive),
        )
    )


def one_order(db, run_time=None):
    def tx(c):
        store.put_job(c, SID, "j", "true", None, False)
        store.put_job_chain(
            c, SID, "chain", True, [{"state": "a", "job": "j"}, {"state": "b", "job": "j"}]
        )
        return store.add_order(c, SID, "chain", "o1", run_time, None, False, "m1")

    return db.run(tx)


def due_step(db, member="m1"):
    steps = db.run(lambda c: store.candidates(c, SID, member, True, 10))
    assert len(steps) == 1
    return steps[0]


def test_exactly_one_of_two_members_claims_a_step(db):
    member_row(db, member="m1")
    member_row(db, member="m2")
    one_order(db)
    step = due_step(db)
    t = step["distributed_next_time"]
    claim = lambda m, when: db.run(  # noqa: E731
        lambda c: store.claim(c, SID, "chain", "o1", m, when, exclusive=False)
    )
    assert claim("m1", t) is True
    assert claim("m2", t) is False  # occupied
    assert db.run(lambda c: store.candidates(c, SID, "m2", True, 10)) == []
    assert db.run(lambda c: store.advance(c, SID, "m2", step, ok=True)) is False  # not its order
    assert db.run(lambda c: store.advance(c, SID, "m1", step, ok=True)) is True
    order = db.run(lambda c: store.get_order(c, SID, "chain", "o1"))
    assert (order["state"], order["occupying_cluster_member_id"]) == ("b", None)
    assert claim("m2", t) is False  # the step's time token moved on


def test_a_dead_or_non_exclusive_member_cannot_claim(db):
    member_row(db, member="m1")
    one_order(db)
    step = due_step(db)
    t = step["distributed_next_time"]
    assert not db.run(lambda c: store.claim(c, SID, "chain", "o1", "m1", t, exclusive=True))
    db.run(lambda c: c.execute("UPDATE scheduler_clusters SET dead = true"))
    assert not db.run(lambda c: store.claim(c, SID, "chain", "o1", "m1", t, exclusive=False))


def test_freeing_a_dead_member_hands_its_step_on_and_marks_the_task_disrupted(db):
    member_row(db, member="m1")
    member_row(db, member="m2")
    one_order(db)
    step = due_step(db)
    t = step["distributed_next_time"]

    def claim_and_start(c):
        assert store.claim(c, SID, "chain", "o1", "m1", t, exclusive=False)
        return store.start_task(c, SID, "m1", step, exclusive=False)

    task_id, _ = db.run(claim_and_start)
    assert db.run(lambda c: store.free_member(c, SID, "m1")) == (1, 1)
    again = due_step(db, "m2")
    assert db.run(
        lambda c: store.claim(
            c, SID, "chain", "o1", "m2", again["distributed_next_time"], exclusive=False
        )
    )
    # The lost member's late completion does not override the verdict.
    db.run(lambda c: store.end_task(c, task_id, 0, "ok", ""))
    assert [t["result"] for t in db.run(lambda c: store.tasks(c, SID, None, None, 0))] == [
        "disrupted"
    ]


def test_missed_scheduled_starts_are_moved_to_the_next_start(db):
    member_row(db)
    o = one_order(db, run_time={"repeat": 10, "begin": 1})
    now = db.run(store.now_ms)
    skipped = db.run(lambda c: store.skip_missed_starts(c, SID, now + 25_000))
    assert len(skipped) == 1
    nxt = db.run(lambda c: store.get_order(c, SID, "chain", "o1"))
    assert nxt["run_due"] >= now + 25_000 and (nxt["run_due"] - 1000) % 10_000 == 0
    assert nxt["run_due"] > o["run_due"]


def test_the_database_allows_one_exclusive_row_per_scheduler_id(db):
    import psycopg

    member_row(db, member="a", exclusive=True)
    member_row(db, sid="other", member="b", exclusive=True)
    with pytest.raises(psycopg.errors.UniqueViolation):
        member_row(db, member="c", exclusive=True)


# -- take-over, in process (no threads): each step is one call -------------


class Fenced(Exception):
    pass


def cluster(db_url, member, *, backup=False, precedence=None, exclusive=True):
    opts = Options(
        data_dir=Path("/nonexistent"),
        scheduler_id=SID,
        member_id=member,
        db_url=db_url,
        host="127.0.0.1",
        port=1,
        exclusive=exclusive,
        backup=backup,
        precedence=(1 if backup else 0) if precedence is None else precedence,
        distributed=False,
        timing=Timing(1.0, 2.0),
        max_tasks=1,
    )
    c = Cluster(opts, kill_tasks=lambda: 0)

    def fence(why):
        raise Fenced(why)

    c.fence = fence
    OPEN.append(c.db)
    c._register()
    return c


def kill(db, member):
    """What a SIGKILL looks like in the table: the heartbeat stops (aged here)."""
    db.run(
        lambda c: c.execute(
            "UPDATE scheduler_clusters SET next_heart_beat = next_heart_beat - 60000"
            " WHERE member_id = %s",
            (member,),
        )
    )


def test_backup_takes_over_only_from_a_dead_holder(db, db_url):
    primary, backup = cluster(db_url, "primary"), cluster(db_url, "backup", backup=True)
    backup._evaluate()
    assert not backup.active  # nobody holds it, and a backup never takes it from nobody
    primary._evaluate()
    backup._evaluate()
    assert primary.active and not backup.active
    kill(db, "primary")
    backup._evaluate()
    assert backup.active
    backup._evaluate()
    rows = {r["member_id"]: r for r in backup.rows}
    assert rows["primary"]["dead"] and not rows["primary"]["exclusive"]
    assert rows["backup"]["exclusive"]
    with pytest.raises(Fenced, match="declared dead"):
        primary._heartbeat()  # it comes back: it learns it was declared dead


def test_normal_termination_hands_over_to_nobody(db, db_url):
    primary, backup = cluster(db_url, "primary"), cluster(db_url, "backup", backup=True)
    primary._evaluate()
    primary.terminate()
    kill(db, "primary")  # its heartbeat also stops: still no take-over
    backup._evaluate()
    assert not backup.active


def test_lowest_precedence_backup_takes_over(db, db_url):
    primary = cluster(db_url, "primary")
    b_hi = cluster(db_url, "b-hi", backup=True, precedence=5)
    b_lo = cluster(db_url, "b-lo", backup=True, precedence=2)
    primary._evaluate()
    kill(db, "primary")
    b_hi._evaluate()
    assert not b_hi.active  # b-lo is alive and comes first
    b_lo._evaluate()
    assert b_lo.active
    kill(db, "b-lo")
    b_hi._evaluate()
    assert b_hi.active


def test_take_over_is_conditional_on_the_old_heartbeat(db, db_url):
    primary, backup = cluster(db_url, "primary"), cluster(db_url, "backup", backup=True)
    primary._evaluate()
    kill(db, "primary")
    stale = next(
        r
        for r in db.run(
            lambda c: c.execute(
                "SELECT * FROM scheduler_clusters WHERE member_id='primary'"
            ).fetchall()
        )
    )
    primary._heartbeat()  # it was only slow: its heartbeat lands first
    backup._take_over(stale)
    assert not backup.active and primary.active


def test_a_restarted_primary_stays_passive_while_the_backup_is_active(db, db_url):
    primary, backup = cluster(db_url, "primary"), cluster(db_url, "backup", backup=True)
    primary._evaluate()
    kill(db, "primary")
    backup._evaluate()
    again = cluster(db_url, "primary")
    again._evaluate()
    assert not again.active
    backup._heartbeat()
    backup.terminate()
    again._evaluate()
    assert again.active
