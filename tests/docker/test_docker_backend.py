"""What only the Docker backend has: containers, the cgroup freezer, cuts by
iptables inside the nodes' namespaces, and clean-up of containers and
networks. The backend-neutral fault checks run here too, from
``test_faults_on_docker.py``."""

import asyncio
import os

import aiohttp
import docker
import pytest

from harness import faults, procs
from harness.backends.base import NodeState
from harness.backends.docker.backend import DockerBackend
from harness.backends.docker.labels import DEPLOYMENT_LABEL, SESSION_LABEL
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.history import fault_windows
from harness.js7topo import controller_cluster

from ..harness.test_faults import peer_ok, reachability
from ..harness.topologies import single, triangle


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


async def test_pause_is_the_cgroup_freezer(deploy):
    dep = await deploy(single())
    async with faults.pause(dep, "a"):
        assert dep.backend.state("a") is NodeState.PAUSED
        assert container(dep, "a").status == "paused"
    assert container(dep, "a").status == "running"


async def test_sigstop_pause_stops_the_processes_not_the_cgroup(deploy):
    dep = await deploy(single())
    async with faults.pause(dep, "a", how="sigstop"):
        c = container(dep, "a")
        assert c.status == "running"  # no freezer involved
        code, out = c.exec_run(["ps", "-eo", "pid=,stat="])
        assert code == 0, out
        stats = dict(line.split() for line in out.decode().split("\n") if line.strip())
        # Everything but init (pid 1) and our own ps is stopped.
        running = {pid for pid, st in stats.items() if not st.startswith("T")}
        assert len(running) == 2 and "1" in running and len(stats) >= 3, stats
    assert await dep.backend.healthy("a") == ""


def rules_in(dep, node):
    """The node's own cut rules, read from its network namespace."""
    code, out = container(dep, node).exec_run(["iptables-save", "-t", "filter"])
    assert code == 0, out
    return [
        line
        for line in out.decode().splitlines()
        if line.startswith(("-A JS7HA-IN", "-A JS7HA-OUT"))
    ]


async def test_a_cut_is_a_rule_in_the_source_nodes_namespace_only(deploy):
    dep = await deploy(triangle())
    port = dep.backend.link_address("a--b").rsplit(":", 1)[1]
    async with faults.partition(dep, ["a--b"]):
        a_rules = rules_in(dep, "a")
        assert len(a_rules) == 2 and all(
            f"--{d}port {port} " in r for r, d in zip(sorted(a_rules), ["s", "d"], strict=True)
        ), a_rules
        assert rules_in(dep, "b") == [] and rules_in(dep, "c") == []
        assert not await peer_ok(dep, "a", "b")
    assert rules_in(dep, "a") == []
    assert await peer_ok(dep, "a", "b")


async def test_a_node_restarted_during_a_cut_comes_back_still_cut(deploy):
    # A container restart gets a fresh network namespace: the entry must
    # reinstall the cut before the component runs, or the partition would
    # silently heal for the restarted node.
    dep = await deploy(triangle())
    async with faults.partition(dep, ["a--b"]):
        await dep.backend.kill("a")
        await dep.backend.start("a")
        assert len(rules_in(dep, "a")) == 2
        assert not await peer_ok(dep, "a", "b")
        assert await peer_ok(dep, "a", "c")
    assert await peer_ok(dep, "a", "b")


async def test_a_cut_made_while_the_node_is_frozen_holds_after_it_thaws(deploy):
    dep = await deploy(triangle())
    await dep.backend.pause("a")
    async with faults.partition(dep, ["a--b"], pre_check=False, post_check=False):
        await dep.backend.resume("a")
        assert not await peer_ok(dep, "a", "b")
        assert await peer_ok(dep, "a", "c")
    assert await peer_ok(dep, "a", "b")


async def test_isolation_shows_in_the_components_behaviour_not_only_in_rules(deploy):
    # The echo node's peer call is the component's own traffic: a cut that
    # merely exists as a rule but misses its packets would leave it working.
    dep = await deploy(triangle())
    async with faults.isolate(dep, "b"):
        before = await dep.backend.connection_counts()
        reach = await reachability(dep)
        during = await dep.backend.connection_counts()
    assert reach == {pair: "b" not in pair for pair in reach}
    # The packets die in the nodes' kernels: not one new connection of b's
    # links reached the proxy (a proxy cut would have accepted them).
    b_links = [lk for lk in before if "b" in lk.split("--")]
    assert {lk: during[lk] for lk in b_links} == {lk: before[lk] for lk in b_links}


async def peer_status(http, backend, src, dst):
    try:
        async with http.get(
            backend.url(src) + f"/peer/{dst}", timeout=aiohttp.ClientTimeout(total=4)
        ) as r:
            return r.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__


async def test_proxy_cuts_remain_available(docker_image, profile, tmp_path):
    backend = DockerBackend(triangle(), profile, tmp_path / "w", image=docker_image, cuts="proxy")
    try:
        await backend.deploy()
        await backend.cut(["a--b"])
        code, out = await asyncio.to_thread(
            docker.from_env().containers.get(backend.container_id("a")).exec_run,
            ["iptables", "-S"],
        )
        # Without NET_ADMIN the node cannot even read rules: in this mode no
        # iptables is involved.
        assert code != 0, out
        async with aiohttp.ClientSession() as http:
            assert await peer_status(http, backend, "a", "b") != 200
            assert await peer_status(http, backend, "a", "c") == 200
            await backend.heal(["a--b"])
            assert await peer_status(http, backend, "a", "b") == 200
    finally:
        await backend.teardown()


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


async def test_disconnect_takes_a_node_off_the_network_and_back(deploy):
    dep = await deploy(triangle())
    async with faults.disconnect(dep, "b"):
        reach = await reachability(dep)
        # The harness's own path goes too: a pulled cable, not cut links.
        assert await dep.backend.healthy("b") != ""
    assert reach == {pair: "b" not in pair for pair in reach}
    assert all((await reachability(dep)).values())


async def test_a_disconnected_active_controller_is_replaced(deploy, profile):
    # The cut shows in the components' behaviour: the backup and the Watch
    # stop hearing the primary, and the backup takes over.
    dep = await deploy(controller_cluster(1))
    client = ClusterClient(dep)
    await wait_cluster(dep, client)
    assert await client.find_active() == "primary"
    async with faults.disconnect(dep, "primary", post_check=False):
        states = await dep.wait_for(
            "the backup active",
            client.states,
            accept=lambda st: (st["backup"] or {}).get("isActive") is True,
        )
    assert (states["backup"] or {}).get("TYPE") == "FailedOver", states
    # Back on the network the old active learns from the Watch that it was
    # replaced and halts (as JS7's does); restarted, it rejoins as passive.
    await dep.wait_for(
        "the old active halted",
        lambda: asyncio.to_thread(dep.backend.state, "primary"),
        accept=lambda st: st is NodeState.STOPPED,
    )
    assert "HALT" in dep.backend.logs("primary")
    await dep.backend.start("primary")
    await wait_cluster(dep, client)
    assert await client.find_active() == "backup"


async def test_local_backend_refuses_disconnect_clearly(tmp_path, profile, link_control):
    from harness.backends.local import LocalBackend
    from harness.deployment import Deployment
    from harness.errors import ConfigError
    from harness.history import History

    backend = LocalBackend(single(), profile, tmp_path / "w", link_control)
    dep = Deployment(backend, History())
    with pytest.raises(ConfigError, match="cannot take a node off its network"):
        async with faults.disconnect(dep, "a"):
            pass
