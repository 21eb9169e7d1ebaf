"""``agent_cluster``: the Director pair's links and the configs the role
specs write for it (each Director through its own proxy to every Subagent,
the Backup no Agent of its own for the Controller)."""

import json
from pathlib import Path

import pytest

from harness.components import NodeContext
from harness.js7topo import agent_cluster
from harness.profiles import REFERENCE
from harness.specs import agent, controller


def context(topo, name: str, tmp_path: Path) -> NodeContext:
    peers = {
        link.target: f"127.0.0.1:{9000 + i}"
        for i, link in enumerate(topo.links)
        if link.source == name
    }
    return NodeContext(
        node=topo.node(name),
        topology=topo,
        profile=REFERENCE,
        data_dir=tmp_path / name,
        host="127.0.0.1",
        port=8000,
        peers=peers,
    )


def conf(ctx: NodeContext, name: str) -> dict:
    return json.loads((ctx.config_dir / name).read_text())


def test_every_director_has_its_own_link_to_every_subagent():
    topo = agent_cluster(2, 2)
    links = {(lk.source, lk.target) for lk in topo.links}
    directors = ("agent-1", "agent-1-backup")
    assert {("controller", d) for d in directors} <= links
    assert {("agent-1", "agent-1-backup"), ("agent-1-backup", "agent-1")} <= links
    assert {(d, s) for d in directors for s in ("subagent-1", "subagent-2")} <= links
    assert not any(src.startswith("subagent") for src, _ in links)  # AGT-NO-CONNECT


def test_one_director_is_agent_with_subagents_and_three_are_refused():
    assert {n.name for n in agent_cluster(1, 2).nodes} == {
        "controller",
        "agent-1",
        "subagent-1",
        "subagent-2",
    }
    with pytest.raises(ValueError):
        agent_cluster(3, 1)


def test_the_specs_configure_the_pair(tmp_path):
    topo = agent_cluster(2, 1)
    ctl = context(topo, "controller", tmp_path)
    controller.SPEC.write_config(ctl)
    assert list(conf(ctl, "controller.conf")["js7"]["controller"]["agents"]) == ["agent-1"]
    primary, backup = (context(topo, n, tmp_path) for n in ("agent-1", "agent-1-backup"))
    for ctx in (primary, backup):
        agent.SPEC.write_config(ctx)
    p, b = conf(primary, "agent.conf")["js7"], conf(backup, "agent.conf")["js7"]
    assert set(p["journal"]["cluster"]["nodes"]) == {"Primary", "Backup"}
    assert b["journal"]["cluster"]["node"] == {"is-backup": True}
    assert p["journal"]["cluster"]["heartbeat-timeout"] == 1.0
    # Each Director reaches the Subagent through its own link's proxy.
    uris = {p["subagent-driver"]["uris"]["subagent-1"], b["subagent-driver"]["uris"]["subagent-1"]}
    assert len(uris) == 2
    assert "Cluster" in conf(primary, "private.conf")["js7"]["auth"]["users"]
