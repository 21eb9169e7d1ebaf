"""The Docker backend does what the local one does: the fault checks of
``tests/harness/test_faults.py`` on ``echo`` containers, plus clean-up."""

import os
import time

import aiohttp
import docker
import pytest

from harness import faults, procs
from harness.backends.base import NodeState
from harness.backends.docker import DEPLOYMENT_LABEL, SESSION_LABEL, DockerBackend
from harness.history import fault_windows

from ..harness.topologies import single, triangle


async def peer_ok(dep, src, dst, timeout=1.0):
    try:
        async with dep.http.get(
            dep.url(src) + f"/peer/{dst}", timeout=aiohttp.ClientTimeout(total=timeout + 2)
        ) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def reachability(dep):
    names = dep.nodes
    return {(a, b): await peer_ok(dep, a, b) for a in names for b in names if a != b}


def container(dep, node):
    return docker.from_env().containers.get(dep.backend.container_id(node))


async def test_every_link_works_and_nodes_see_peers_through_the_proxy(deploy):
    dep = await deploy(triangle())
    assert all((await reachability(dep)).values())
    counts = await dep.backend.connection_counts()
    assert all(counts[f"{a}--{b}"] >= 1 for a, b in (await reachability(dep)))


async def test_kill_leaves_no_process_and_heals_by_restarting(deploy):
    dep = await deploy(triangle())
    async with faults.kill(dep, "b"):
        c = container(dep, "b")
        assert c.status == "exited" and c.attrs["State"]["Pid"] == 0
        assert dep.backend.state("b") is NodeState.STOPPED
        assert not await peer_ok(dep, "a", "b")
    assert container(dep, "b").status == "running"
    assert await peer_ok(dep, "a", "b")
    ((start, stop),) = fault_windows(dep.history.records)
    assert start["f"] == "kill" and start["value"]["nodes"] == ["b"]
    assert stop is not None and stop["time"] >= start["time"]


async def test_stop_is_graceful(deploy):
    dep = await deploy(single())
    async with faults.stop(dep, "a") as f:
        assert dep.backend.state("a") is NodeState.STOPPED
    assert f.exit_codes == {"a": 0}
    assert "stopping on signal" in dep.backend.logs("a")


async def test_pause_stops_progress_and_resume_restores_it(deploy):
    dep = await deploy(single())
    before = (await dep.get_json("a", "/tick"))["ticks"]
    async with faults.pause(dep, "a"):
        assert dep.backend.state("a") is NodeState.PAUSED
        assert container(dep, "a").status == "paused"
        t0 = time.monotonic()
        with pytest.raises((aiohttp.ClientError, TimeoutError)):
            async with dep.http.get(
                dep.url("a") + "/tick", timeout=aiohttp.ClientTimeout(total=0.5)
            ):
                pass
        while time.monotonic() - t0 < 1.0:
            await dep.backend.healthy("a")
        paused_for = time.monotonic() - t0
    after = (await dep.get_json("a", "/tick"))["ticks"]
    assert after - before < paused_for * 100 * 0.5, (before, after, paused_for)
    later = await dep.wait_for(
        "ticks advance after resume",
        lambda: dep.get_json("a", "/tick"),
        accept=lambda v: v["ticks"] > after + 10,
    )
    assert later["ticks"] > after


async def test_partition_cuts_exactly_the_chosen_links(deploy):
    dep = await deploy(triangle())
    assert all((await reachability(dep)).values())
    async with faults.partition(dep, ["a--b"]):
        reach = await reachability(dep)
    assert reach == {pair: pair != ("a", "b") for pair in reach}
    assert all((await reachability(dep)).values())


async def test_isolate_cuts_every_link_of_one_node_and_nothing_else(deploy):
    dep = await deploy(triangle())
    async with faults.isolate(dep, "b"):
        reach = await reachability(dep)
    assert reach == {pair: "b" not in pair for pair in reach}


@pytest.mark.parametrize("mode", ["stop", "hang", "cut"])
async def test_db_outage_makes_connections_fail_and_healing_restores_them(deploy, mode):
    dep = await deploy(single(db=True))

    async def db_status():
        async with dep.http.get(dep.url("a") + "/db") as r:
            return r.status

    assert await db_status() == 200
    async with faults.db_outage(dep, mode):
        assert await db_status() == 503
    assert await dep.wait_for("database back", db_status, accept=lambda s: s == 200) == 200


async def test_lose_state_wipes_the_node_state(deploy):
    dep = await deploy(single())
    async with dep.http.post(dep.url("a") + "/state", json={"value": "kept?"}) as r:
        assert r.status == 200
    async with faults.lose_state(dep, "a"):
        assert dep.backend.state("a") is NodeState.STOPPED
    assert (await dep.get_json("a", "/state"))["value"] is None


async def test_outbound_connections_are_read_inside_the_container(deploy):
    dep = await deploy(triangle())
    assert await peer_ok(dep, "a", "b")  # a keeps its client connection alive
    out = await dep.backend.outbound_connections("a")
    assert out, "a's connection to its link proxy should show"
    assert all("-> " in c for c in out)


async def test_nothing_labelled_is_left_after_teardown(docker_image, profile, tmp_path):
    backend = DockerBackend(triangle(db=True), profile, tmp_path / "w", image=docker_image)
    try:
        await backend.deploy()
        assert await backend.healthy("a") == ""
    finally:
        await backend.teardown()
    await backend.teardown()  # safe twice
    client = docker.from_env()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Sibling workers share the session: look at this deployment only.
        label = f"{DEPLOYMENT_LABEL}={backend.deployment}"
    else:
        label = f"{SESSION_LABEL}={procs.session_id()}"
    assert client.containers.list(all=True, filters={"label": label}) == []
    assert client.networks.list(filters={"label": label}) == []
