"""One member's jobs, driven through JobScheduler 1.x's XML commands: a job
is a real shell process in its own process group, and a normal stop kills
a running job — its task ends killed (SCHEDULER-279) — and its step runs
again after the restart. (The commands' shapes and errors:
``tests/components/test_js1_xml_contract.py``.)"""

import pytest

from harness.clients.jobscheduler1 import Js1
from harness.topology import Database, Node, Topology


@pytest.fixture
async def member(deploy, profile):
    topo = Topology.build(
        [Node("js", "jobscheduler1", {"id": "api"})], database=Database(clients=("js",))
    )
    dep = await deploy(topo)
    await Js1(dep).wait_role("js", "active", profile.startup_deadline)
    return dep


def data(dep, name):
    return dep.backend.data_dir("js") / name


async def test_a_job_is_a_shell_process_in_its_own_group(member, history):
    js1 = Js1(member)
    out = '"$SCHEDULER_CONFIGURATION_DIRECTORY/../../out"'
    await js1.job(
        "js", "j", f'echo "$SCHEDULER_ORDER_ID $$ $(ps -o pgid= -p $$ | tr -d " ")" > {out}'
    )
    await js1.chain("js", "c", [{"state": "a", "job": "j"}])
    await js1.add_order(history, "js", "c", "o1")
    done = await member.wait_for(
        "o1 ran",
        lambda: js1.task_history("js", "j"),
        accept=lambda ts: ts and ts[0]["end_time"],
    )
    assert (done[0]["exit_code"], done[0]["error"]) == (0, False)
    order, pid, pgid = data(member, "out").read_text().split()
    assert order == "o1" and pid == pgid  # the job leads its own process group


async def test_a_normal_stop_kills_running_jobs_and_their_step_runs_again(member, history):
    """SIGTERM: the running job is killed (its process group with it), its
    task ends killed, the order is given back; after the restart the step
    runs again from the start."""
    js1 = Js1(member)
    marker, out = data(member, "first-run"), data(member, "second")
    cmd = f"if [ -e {marker} ]; then echo second > {out}; else touch {marker}; sleep 60; fi"
    await js1.job("js", "j", cmd)
    await js1.chain("js", "c", [{"state": "a", "job": "j"}])
    await js1.add_order(history, "js", "c", "o1")

    async def started():
        return marker.exists()

    await member.wait_for("the long job started", started)
    code = await member.backend.stop("js")
    await member.backend.start("js")
    done = await member.wait_for(
        "the step ran again",
        lambda: js1.task_history("js", "j"),
        accept=lambda ts: len(ts) == 2 and ts[1]["end_time"],
    )
    assert code == 0
    assert [(t["error"], t["error_code"]) for t in done] == [
        (True, "SCHEDULER-279"),
        (False, None),
    ]
    assert out.read_text().strip() == "second"
