"""Topologies of the JS7 reference components that suites start from.

Names follow the roles: ``controller``, ``agent-1``, ``agent-2``, … Links are
the real directions of JS7: the Controller connects to its Agents, never the
reverse (``agent_to_controller=True`` adds the reverse links anyway, so a test
can prove from their counters that nobody ever uses them).
"""

from __future__ import annotations

from typing import Any

from harness.topology import Link, Node, Topology


def controller_and_agents(
    agents: int = 1,
    *,
    controller_config: dict[str, Any] | None = None,
    agent_to_controller: bool = False,
) -> Topology:
    names = [f"agent-{i}" for i in range(1, agents + 1)]
    nodes = [Node("controller", "controller", controller_config or {})]
    nodes += [Node(a, "agent") for a in names]
    links = [Link("controller", a) for a in names]
    if agent_to_controller:
        links += [Link(a, "controller") for a in names]
    return Topology.build(nodes, links)


def shell_job(agent: str, script: str, **executable: Any) -> dict[str, Any]:
    """JS7's ``Execute.Anonymous`` of a shell script on ``agent``;
    ``executable`` adds fields such as ``returnCodeMeaning``."""
    return {
        "TYPE": "Execute.Anonymous",
        "job": {
            "agentPath": agent,
            "executable": {"TYPE": "ShellScriptExecutable", "script": script, **executable},
        },
    }


def block(*instructions: dict[str, Any]) -> dict[str, Any]:
    """A nested block (``then``, ``else``, ``try``, ``catch``) as JS7 writes it."""
    return {"instructions": list(instructions)}


def workflow(path: str, *instructions: dict[str, Any], version: str = "1") -> dict[str, Any]:
    return {
        "TYPE": "Workflow",
        "path": path,
        "versionId": version,
        "instructions": list(instructions),
    }


def shell_workflow(path: str, *steps: tuple[str, str], version: str = "1") -> dict[str, Any]:
    """A workflow of shell jobs: ``steps`` are (agentPath, script)."""
    return workflow(path, *(shell_job(agent, script) for agent, script in steps), version=version)


def internal_workflow(path: str, *steps: tuple[str, str], version: str = "1") -> dict[str, Any]:
    """A workflow of in-process jobs: ``steps`` are (agentPath, className)."""
    return {
        "TYPE": "Workflow",
        "path": path,
        "versionId": version,
        "instructions": [
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": agent,
                    "executable": {"TYPE": "InternalExecutable", "className": cls},
                },
            }
            for agent, cls in steps
        ],
    }


def controller_cluster(
    agents: int = 1,
    *,
    backup_is_backup: bool = True,
    controller_config: dict[str, Any] | None = None,
    watch: str = "cluster-watch",
) -> Topology:
    """A Primary and a Backup Controller, their Cluster Watch (``watch``) and
    ``agents`` Agents; each Controller has links to the other and to every
    Agent. ``watch`` is what the Watch is: ``cluster-watch`` (JS7's
    standalone Cluster Watch, as JS7 2.5 and later have it: it connects to
    each Controller — links ``watch--primary``, ``watch--backup``) or
    ``agent`` (the seeds' JS7: an Agent hosts it and the Controllers connect
    to it — ``primary--watch``, ``backup--watch``; reference-only today) or
    ``none`` (no ``watch`` node: the caller adds one, e.g. JOC).
    ``backup_is_backup=False`` leaves out the Backup's ``is-backup`` setting
    (seed 002's misconfiguration)."""
    if watch not in ("cluster-watch", "agent", "none"):
        raise ValueError(f"a Controller cluster's Watch is cluster-watch, agent or none: {watch}")
    names = [f"agent-{i}" for i in range(1, agents + 1)]
    extra = controller_config or {}
    hosted = {"watch": "watch"} if watch == "agent" else {}
    nodes = [
        Node(
            "primary",
            "controller",
            {**extra, "cluster": {"role": "primary", "peer": "backup", **hosted}},
        ),
        Node(
            "backup",
            "controller",
            {
                **extra,
                "cluster": {
                    "role": "backup",
                    "peer": "primary",
                    **hosted,
                    "is_backup": backup_is_backup,
                },
            },
        ),
        *([Node("watch", watch)] if watch != "none" else []),
        *[Node(a, "agent") for a in names],
    ]
    links = [Link("primary", "backup"), Link("backup", "primary")]
    if watch == "agent":
        links += [Link("primary", "watch"), Link("backup", "watch")]
    elif watch == "cluster-watch":
        links += [Link("watch", "primary"), Link("watch", "backup")]
    links += [Link(c, a) for c in ("primary", "backup") for a in names]
    return Topology.build(nodes, links)


def local_subagent_id(agent: str) -> str:
    """The SubagentId of a Director Agent's own Subagent (JS7's tests: ``AGENT-0``)."""
    return f"{agent}-0"


def agent_with_subagents(
    subagents: int = 3,
    *,
    agent: str = "agent-1",
    controller_config: dict[str, Any] | None = None,
    agent_config: dict[str, Any] | None = None,
    subagent_config: dict[str, Any] | None = None,
    subagent_to_director: bool = False,
) -> Topology:
    """A Controller, one Director Agent and ``subagents`` Subagents
    (``subagent-1``…). The Director reaches each Subagent through its own
    link ``<agent>--subagent-i``, so each can be cut alone; a Subagent has no
    link out (it never connects to its Director) — ``subagent_to_director``
    adds them anyway, to prove from their counters that nobody uses them.
    Which Subagent gets which priority is an item, not topology: see
    ``subagent_cluster_items``. ``agent_config``/``subagent_config``: the
    role specs' node config keys."""
    names = [f"subagent-{i}" for i in range(1, subagents + 1)]
    nodes = [
        Node("controller", "controller", controller_config or {}),
        Node(agent, "agent", agent_config or {}),
        *[
            Node(s, "subagent", {"director": local_subagent_id(agent), **(subagent_config or {})})
            for s in names
        ],
    ]
    links = [Link("controller", agent), *[Link(agent, s) for s in names]]
    if subagent_to_director:
        links += [Link(s, agent) for s in names]
    return Topology.build(nodes, links)


def backup_director(agent: str) -> str:
    """The node name of ``agent``'s Backup Director."""
    return f"{agent}-backup"


def agent_cluster(
    directors: int = 2,
    subagents: int = 3,
    *,
    agent: str = "agent-1",
    controller_config: dict[str, Any] | None = None,
    agent_config: dict[str, Any] | None = None,
    subagent_config: dict[str, Any] | None = None,
) -> Topology:
    """``agent_with_subagents`` with a Director pair: ``agent`` is the Primary
    Director, ``<agent>-backup`` the Backup (``is-backup``); the Controller
    has a link to each (it is their Cluster Watch and follows the active),
    each Director one to the other and one to every Subagent, so any one of
    them can be cut alone. ``directors=1`` is ``agent_with_subagents``."""
    if directors == 1:
        return agent_with_subagents(
            subagents,
            agent=agent,
            controller_config=controller_config,
            agent_config=agent_config,
            subagent_config=subagent_config,
        )
    if directors != 2:
        raise ValueError("an Agent has one or two Directors")
    backup = backup_director(agent)
    names = [f"subagent-{i}" for i in range(1, subagents + 1)]
    pair = {agent: ("primary", backup), backup: ("backup", agent)}
    nodes = [
        Node("controller", "controller", controller_config or {}),
        *[
            Node(d, "agent", {**(agent_config or {}), "cluster": {"role": role, "peer": peer}})
            for d, (role, peer) in pair.items()
        ],
        *[
            Node(s, "subagent", {"director": local_subagent_id(agent), **(subagent_config or {})})
            for s in names
        ],
    ]
    links = [Link("controller", d) for d in pair]
    links += [Link(agent, backup), Link(backup, agent)]
    links += [Link(d, s) for d in pair for s in names]
    return Topology.build(nodes, links)


def subagent_cluster_items(
    director_uri: str,
    subagent_uris: dict[str, str],
    priorities: dict[str, int | float | str],
    *,
    agent: str = "agent-1",
    bundle: str = "BUNDLE",
    backup_uri: str | None = None,
) -> list[dict[str, Any]]:
    """The ``AddOrChangeSimple`` operations of a Subagent cluster, as JS7
    writes the items: the Director's own ``SubagentItem``, the ``AgentRef``
    naming it as Director, one ``SubagentItem`` per Subagent (``subagent_uris``:
    SubagentId → the URI the Director uses, i.e. its link's proxy) and the
    ``SubagentBundle`` with ``priorities`` (numbers or expressions).
    ``backup_uri``: a Backup Director too (``<agent>-1``, the second of
    ``AgentRef.directors``); the Directors' URIs are the Controller's."""
    local = local_subagent_id(agent)
    directors = [(local, director_uri)]
    if backup_uri is not None:
        directors.append((f"{agent}-1", backup_uri))
    items: list[dict[str, Any]] = [
        *[
            {"TYPE": "SubagentItem", "id": sid, "agentPath": agent, "uri": uri}
            for sid, uri in directors
        ],
        {"TYPE": "AgentRef", "path": agent, "directors": [sid for sid, _ in directors]},
        *[
            {"TYPE": "SubagentItem", "id": sid, "agentPath": agent, "uri": uri}
            for sid, uri in subagent_uris.items()
        ],
        {"TYPE": "SubagentBundle", "id": bundle, "subagentToPriority": dict(priorities)},
    ]
    return [{"TYPE": "AddOrChangeSimple", "item": item} for item in items]


def bundle_job(agent: str, script: str, bundle: str = "BUNDLE") -> dict[str, Any]:
    """A shell job whose ``subagentBundleIdExpr`` names ``bundle``."""
    job = shell_job(agent, script)
    job["job"]["subagentBundleIdExpr"] = f"'{bundle}'"
    return job
