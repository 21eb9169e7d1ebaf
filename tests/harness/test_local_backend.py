"""The local backend's node life cycle on real processes."""

import pytest

from harness.backends.base import NodeState
from harness.components import ComponentSpec, register
from harness.errors import ConfigError, NodeStartError, NodeStateError
from harness.procs import labelled_processes, process_start_time
from harness.topology import Node, Topology

from .topologies import single, triangle


async def test_deploy_gives_each_node_a_js7_data_dir_and_health(deploy):
    dep = await deploy(triangle())
    for n in ("a", "b", "c"):
        d = dep.backend.data_dir(n)
        assert {p.name for p in d.iterdir()} >= {"config", "state", "logs"}
        assert (d / "config" / "echo.conf").exists()
        assert "listening on" in dep.backend.logs(n)
        assert (await dep.get_json(n, "/health"))["node"] == n
    assert await dep.health() == {}


async def test_peers_are_reached_through_their_own_proxy_not_directly(deploy):
    dep = await deploy(triangle())
    cfg = (dep.backend.data_dir("a") / "config" / "echo.conf").read_text()
    b_port = dep.url("b").rsplit(":", 1)[1]
    assert dep.backend.link_address("a--b") in cfg
    assert f':{b_port}"' not in cfg
    before = (await dep.backend.connection_counts())["a--b"]
    assert (await dep.get_json("a", "/peer/b"))["ok"] is True
    assert (await dep.backend.connection_counts())["a--b"] > before


async def test_stop_is_graceful_and_start_brings_the_same_node_back(deploy):
    dep = await deploy(single())
    be = dep.backend
    pid = be.pid("a")
    assert await be.stop("a") == 0  # SIGTERM handled: clean exit status
    assert be.state("a") is NodeState.STOPPED and process_start_time(pid) is None
    assert "stopping on signal" in be.logs("a")
    await be.start("a")
    assert be.state("a") is NodeState.RUNNING and be.pid("a") != pid
    assert await be.healthy("a") == ""


async def test_kill_removes_the_whole_process_group(deploy):
    dep = await deploy(single())
    be = dep.backend
    pid = be.pid("a")
    await be.kill("a")
    assert be.state("a") is NodeState.STOPPED
    assert process_start_time(pid) is None
    assert pid not in labelled_processes()
    with pytest.raises(NodeStateError):
        await be.kill("a")


async def test_pause_and_resume_states(deploy):
    dep = await deploy(single())
    be = dep.backend
    await be.pause("a")
    assert be.state("a") is NodeState.PAUSED
    assert open(f"/proc/{be.pid('a')}/stat").read().split(") ")[1][0] == "T"
    assert await be.healthy("a") == "paused"
    with pytest.raises(NodeStateError):
        await be.pause("a")
    await be.resume("a")
    assert await be.healthy("a") == ""


async def test_wipe_state_needs_a_stopped_node_and_empties_state(deploy):
    dep = await deploy(single())
    be = dep.backend
    async with dep.http.post(dep.url("a") + "/state", json={"value": 7}) as r:
        assert r.status == 200
    with pytest.raises(NodeStateError):
        await be.wipe_state("a")
    await be.stop("a")
    await be.wipe_state("a")
    assert list((be.data_dir("a") / "state").iterdir()) == []
    await be.start("a")
    assert (await dep.get_json("a", "/state"))["value"] is None


async def test_a_node_that_dies_at_start_reports_its_log_tail(deploy):
    def bad_config(ctx):
        (ctx.config_dir / "echo.conf").write_text('js7ha { node-name = "x", port = "nope" }')

    register(ComponentSpec(role="broken-echo", module="components.echo", write_config=bad_config))
    with pytest.raises(NodeStartError) as err:
        await deploy(Topology.build([Node("x", "broken-echo")]))
    # The config error names the setting, and it is in the harness's error.
    assert "setting 'js7ha.port'" in str(err.value)
    assert "exited with status 2" in str(err.value)


async def test_a_node_that_never_gets_healthy_times_out_with_its_log(deploy, profile):
    register(
        ComponentSpec(
            role="silent",
            module="components.echo",
            write_config=lambda ctx: (ctx.config_dir / "echo.conf").write_text(
                f'js7ha {{ node-name = "s", port = {ctx.port} }}'
            ),
            health_path="/no-such-path",
        )
    )
    with pytest.raises(NodeStartError, match=r"did not answer within 5\.0s") as err:
        await deploy(
            Topology.build([Node("s", "silent")]), profile=profile.with_(startup_deadline=5.0)
        )
    assert "listening on" in err.value.log_tail


async def test_unknown_role_is_a_config_error(deploy):
    with pytest.raises(ConfigError, match="unknown role 'nope'"):
        await deploy(Topology.build([Node("x", "nope")]))


async def test_teardown_leaves_no_node_process(deploy):
    dep = await deploy(triangle())
    pids = [dep.backend.pid(n) for n in dep.nodes]
    await dep.backend.pause("b")
    await dep.aclose()
    await dep.aclose()  # twice is harmless
    assert all(process_start_time(p) is None for p in pids)
    assert not any(p in labelled_processes() for p in pids)
