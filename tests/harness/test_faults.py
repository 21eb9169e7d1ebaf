"""Every fault family on real processes: it does what it says, it records its
window, and it heals. These are the harness's own acceptance tests."""

import time

import aiohttp
import pytest

from harness import faults
from harness.backends.base import NodeState
from harness.errors import ConfigError, HealthCheckError
from harness.history import fault_windows
from harness.procs import labelled_processes, process_start_time

from .topologies import single, triangle


async def peer_ok(dep, src, dst, timeout=1.0):
    """Can ``src`` reach ``dst`` over its link right now?"""
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


async def test_kill_leaves_no_process_and_heals_by_restarting(deploy):
    dep = await deploy(triangle())
    pid = dep.backend.pid("b")
    async with faults.kill(dep, "b"):
        assert process_start_time(pid) is None
        assert pid not in labelled_processes()
        assert dep.backend.state("b") is NodeState.STOPPED
        assert not await peer_ok(dep, "a", "b")
    assert dep.backend.pid("b") not in (None, pid)
    assert await peer_ok(dep, "a", "b")
    ((start, stop),) = fault_windows(dep.history.records)
    assert start["f"] == "kill" and start["value"]["nodes"] == ["b"]
    assert stop is not None and stop["time"] >= start["time"]
    # Jepsen's window: start, in effect, healing begins, healed — in that order.
    marks = [r["type"] for r in dep.history.records if r.get("kind") == "fault"]
    assert marks == ["start", "in-effect", "heal", "stop"]


async def test_stop_is_graceful(deploy):
    dep = await deploy(single())
    async with faults.stop(dep, "a") as f:
        assert dep.backend.state("a") is NodeState.STOPPED
    assert f.exit_codes == {"a": 0}
    assert "stopping on signal" in dep.backend.logs("a")


@pytest.mark.parametrize("how", ["pause", "sigstop"])
async def test_pause_stops_progress_and_resume_restores_it(deploy, how):
    dep = await deploy(single())
    before = (await dep.get_json("a", "/tick"))["ticks"]
    async with faults.pause(dep, "a", how=how):
        assert dep.backend.state("a") is NodeState.PAUSED
        t0 = time.monotonic()
        with pytest.raises((aiohttp.ClientError, TimeoutError)):
            async with dep.http.get(
                dep.url("a") + "/tick", timeout=aiohttp.ClientTimeout(total=0.5)
            ):
                pass
        while time.monotonic() - t0 < 1.0:  # keep it frozen for a measurable while
            await dep.backend.healthy("a")
        paused_for = time.monotonic() - t0
    after = (await dep.get_json("a", "/tick"))["ticks"]
    # A ticker at 100 Hz that ran through the pause would have gained ~paused_for*100.
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


async def test_split_and_bridge_shapes(deploy):
    dep = await deploy(triangle())
    async with faults.split(dep, ["a"], ["b", "c"]):
        reach = await reachability(dep)
    assert reach == {pair: "a" not in pair for pair in reach}
    async with faults.bridge(dep, ["a"], "b", ["c"]):
        reach = await reachability(dep)
    assert reach == {pair: set(pair) != {"a", "c"} for pair in reach}


async def test_one_way_partition_loses_only_one_direction_of_traffic(deploy):
    dep = await deploy(triangle())
    async with faults.one_way(dep, ["a"], ["b"]) as f:
        # a -> b: the request is lost; b -> a: the request arrives but the
        # answer (a's message to b) is lost. Both calls fail, for different
        # reasons, and the cut streams say which.
        assert f.cuts == {"a--b": "upstream", "b--a": "downstream"}
        reach = await reachability(dep)
    assert reach == {pair: set(pair) != {"a", "b"} for pair in reach}


async def test_refuse_mode_refuses_connections(deploy):
    dep = await deploy(triangle())
    async with faults.partition(dep, ["a--b"], mode="refuse"):
        t0 = time.monotonic()
        assert not await peer_ok(dep, "a", "b", timeout=5)
        assert time.monotonic() - t0 < 2, "a refused connection must fail fast"
    assert await peer_ok(dep, "a", "b")


async def test_latency_delays_by_the_measured_amount(deploy):
    dep = await deploy(triangle())

    async def peer_seconds():
        return (await dep.get_json("a", "/peer/b"))["seconds"]

    base = min([await peer_seconds() for _ in range(5)])
    async with faults.latency(dep, ["a--b"], 150):
        slow = min([await peer_seconds() for _ in range(3)])
    # 150 ms each way on a request and its response
    assert slow - base >= 0.29, (base, slow)
    healed = min([await peer_seconds() for _ in range(5)])
    assert healed < base + 0.1


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


async def test_healing_twice_is_harmless_and_early_heal_ends_the_window(deploy):
    dep = await deploy(triangle())
    async with faults.isolate(dep, "c") as f:
        await f.heal()
        await f.heal()
        assert await peer_ok(dep, "a", "c")
    windows = fault_windows(dep.history.records)
    assert len(windows) == 1 and windows[0][1] is not None


async def test_a_failed_pre_check_is_a_harness_error_and_records_no_window(deploy, profile):
    dep = await deploy(triangle())
    # Start-up used the normal deadline; only the pre-check wait is shortened.
    dep.backend.profile = profile.with_(startup_deadline=0.5)
    await dep.backend.pause("a")
    with pytest.raises(HealthCheckError, match="pre-check failed: a: paused"):
        async with faults.kill(dep, "b"):
            pytest.fail("the experiment must not start on an unhealthy topology")
    assert fault_windows(dep.history.records) == []
    await dep.backend.resume("a")


async def test_pre_and_post_checks_are_separate(deploy, profile):
    """Off, the pre-check lets a fault start on a topology an earlier fault
    left unhealthy; off, the post-check leaves a node that must stay down to
    the test; on, a post-check failure is a harness error."""
    dep = await deploy(triangle())
    dep.backend.profile = profile.with_(startup_deadline=0.5, heal_deadline=0.5)
    await dep.backend.pause("a")
    async with faults.isolate(dep, "b", pre_check=False, post_check=False):
        pass
    with pytest.raises(HealthCheckError, match="post-check failed: a: paused"):
        async with faults.isolate(dep, "b", pre_check=False):
            pass
    await dep.backend.resume("a")
    assert len(fault_windows(dep.history.records)) == 2


async def test_fault_is_healed_even_when_the_block_fails(deploy):
    dep = await deploy(triangle())
    with pytest.raises(RuntimeError):
        async with faults.partition(dep, ["a--b"]):
            raise RuntimeError("the test body failed")
    assert await peer_ok(dep, "a", "b")
    ((_, stop),) = fault_windows(dep.history.records)
    assert stop is not None


async def test_unknown_links_and_nodes_are_refused(deploy):
    dep = await deploy(triangle())
    with pytest.raises(ConfigError):
        async with faults.partition(dep, ["a--zz"]):
            pass
    with pytest.raises(ConfigError):
        faults.split(dep, ["a"], ["a", "b"])
    with pytest.raises(ConfigError):
        async with faults.db_outage(dep):
            pass
