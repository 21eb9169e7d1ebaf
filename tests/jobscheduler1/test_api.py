"""The HTTP API of one member: bad input gets 4xx JSON problems, never a
traceback; jobs run as real shell processes in their own process group."""

import pytest

from harness.topology import Database, Node, Topology


@pytest.fixture
async def member(deploy, profile):
    topo = Topology.build(
        [Node("js", "jobscheduler1", {"id": "api"})], database=Database(clients=("js",))
    )
    dep = await deploy(topo)
    return dep


async def call(dep, method, path, body=None, raw=None):
    kwargs = {"data": raw} if raw is not None else {"json": body}
    async with dep.http.request(method, dep.url("js") + path, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.mark.parametrize(
    ("method", "path", "body", "raw", "status", "code"),
    [
        ("POST", "/orders", None, b"{not json", 400, "InvalidJson"),
        ("POST", "/orders", [1], None, 400, "BadRequest"),
        ("POST", "/orders", {"job_chain": "nope", "id": "o"}, None, 404, "UnknownItem"),
        ("POST", "/orders", {"job_chain": "c", "id": "bad id!"}, None, 400, "InvalidName"),
        ("POST", "/orders", {"job_chain": "c", "id": "o", "x": 1}, None, 400, "BadRequest"),
        (
            "POST",
            "/orders",
            {"job_chain": "c", "id": "o2", "run_time": {"repeat": 0}},
            None,
            400,
            "InvalidRunTime",
        ),
        ("PUT", "/jobs/j2", {"command": "true", "noop": 1}, None, 400, "BadRequest"),
        (
            "PUT",
            "/job_chains/c2",
            {"nodes": [{"state": "a", "job": "missing"}]},
            None,
            404,
            "UnknownItem",
        ),
        (
            "PUT",
            "/job_chains/c2",
            {"nodes": [{"state": "a", "job": "j", "action": "x"}]},
            None,
            400,
            "BadRequest",
        ),
        ("POST", "/jobs/j/explode", None, None, 404, "UnknownCommand"),
        ("POST", "/orders/c/none/suspend", None, None, 404, "UnknownItem"),
        ("GET", "/tasks?after=x", None, None, 400, "BadRequest"),
        ("GET", "/no/such/path", None, None, 404, "NotFound"),
    ],
)
async def test_bad_input_gets_a_problem(member, method, path, body, raw, status, code):
    assert (await call(member, "PUT", "/jobs/j", {"command": "true"}))[0] == 201
    assert (await call(member, "PUT", "/job_chains/c", {"nodes": [{"state": "a", "job": "j"}]}))[
        0
    ] == 201
    got, answer = await call(member, method, path, body, raw)
    assert (got, answer.get("TYPE"), answer.get("code")) == (status, "Problem", code), answer
    assert "Traceback" not in str(answer)


async def test_a_job_is_a_shell_process_in_its_own_group_and_a_duplicate_is_refused(
    member, profile
):
    cmd = 'echo "$SCHEDULER_ORDER_ID pid=$$ pgid=$(ps -o pgid= -p $$ | tr -d " ")"'
    assert (await call(member, "PUT", "/jobs/j", {"command": cmd}))[0] == 201
    assert (await call(member, "PUT", "/job_chains/c", {"nodes": [{"state": "a", "job": "j"}]}))[
        0
    ] == 201
    assert (await call(member, "POST", "/orders", {"job_chain": "c", "id": "o1"}))[0] == 201
    status, answer = await call(member, "POST", "/orders", {"job_chain": "c", "id": "o1"})
    assert (status, answer["code"]) == (409, "Duplicate")

    async def tasks():
        return (await call(member, "GET", "/tasks?order_id=o1"))[1]["tasks"]

    done = await member.wait_for("o1 ran", tasks, accept=lambda ts: ts and ts[0]["result"])
    out = done[0]["output"].split()
    assert done[0]["result"] == "ok" and out[0] == "o1"
    pid, pgid = out[1].removeprefix("pid="), out[2].removeprefix("pgid=")
    assert pid == pgid  # the job leads its own process group


async def test_a_normal_stop_kills_running_jobs_and_their_step_runs_again(member, tmp_path):
    """SIGTERM: the running job is killed (its process group with it), its task
    recorded ``killed``, the order given back; after the restart the step runs
    again from the start."""
    marker = tmp_path / "first-run"
    cmd = f"if [ -e {marker} ]; then echo second; else touch {marker}; sleep 60; fi"
    await call(member, "PUT", "/jobs/j", {"command": cmd})
    await call(member, "PUT", "/job_chains/c", {"nodes": [{"state": "a", "job": "j"}]})
    await call(member, "POST", "/orders", {"job_chain": "c", "id": "o1"})

    async def tasks():
        return (await call(member, "GET", "/tasks?order_id=o1"))[1]["tasks"]

    await member.wait_for("the long job started", tasks, accept=bool)
    code = await member.backend.stop("js")
    await member.backend.start("js")
    done = await member.wait_for(
        "the step ran again", tasks, accept=lambda ts: len(ts) == 2 and ts[1]["result"]
    )
    assert code == 0
    assert [t["result"] for t in done] == ["killed", "ok"]
    assert done[1]["output"].strip() == "second"
