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


def shell_workflow(path: str, *steps: tuple[str, str], version: str = "1") -> dict[str, Any]:
    """A workflow of shell jobs: ``steps`` are (agentPath, script)."""
    return {
        "TYPE": "Workflow",
        "path": path,
        "versionId": version,
        "instructions": [
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": agent,
                    "executable": {"TYPE": "ShellScriptExecutable", "script": script},
                },
            }
            for agent, script in steps
        ],
    }


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
