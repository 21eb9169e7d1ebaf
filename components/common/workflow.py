"""Workflows and order positions, in JS7's JSON shape.

A workflow is a list of jobs, each assigned to an Agent::

    {"TYPE": "Workflow", "path": "w1", "versionId": "1",
     "instructions": [
       {"TYPE": "Execute.Anonymous",
        "job": {"agentPath": "agent-1",
                "executable": {"TYPE": "ShellScriptExecutable", "script": "echo hi"}}},
       {"TYPE": "Execute.Anonymous",
        "job": {"agentPath": "agent-2",
                "executable": {"TYPE": "InternalExecutable", "className": "js7ha.Noop"}}}]}

Positions are JSON arrays (``[0]``, ``[1]``) as in JS7; position
``[len(instructions)]`` is the end of the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.web import Problem

INTERNAL_CLASSES = ("js7ha.Noop", "js7ha.Echo", "js7ha.Sleep", "js7ha.Fail")


@dataclass(frozen=True)
class Job:
    agent_path: str
    executable: dict[str, Any]


@dataclass(frozen=True)
class Workflow:
    path: str
    version_id: str
    jobs: tuple[Job, ...]
    raw: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.path}~{self.version_id}"

    @property
    def id_json(self) -> dict[str, str]:
        return {"path": self.path, "versionId": self.version_id}

    def agent_at(self, position: int) -> str | None:
        """The Agent of the job at ``position``; None at the end."""
        return self.jobs[position].agent_path if 0 <= position < len(self.jobs) else None

    @property
    def agents(self) -> set[str]:
        return {j.agent_path for j in self.jobs}

    @classmethod
    def from_json(cls, data: Any) -> Workflow:
        """Parse and validate; every defect is a 400 problem naming the field."""

        def bad(msg: str) -> Problem:
            return Problem(400, "InvalidWorkflow", msg)

        if not isinstance(data, dict) or data.get("TYPE", "Workflow") != "Workflow":
            raise bad('a workflow is an object {"TYPE":"Workflow", ...}')
        path, version = data.get("path"), data.get("versionId", "1")
        if not isinstance(path, str) or not path or not isinstance(version, str):
            raise bad("workflow 'path' and 'versionId' must be non-empty strings")
        instructions = data.get("instructions")
        if not isinstance(instructions, list) or not instructions:
            raise bad(f"workflow {path}: 'instructions' must be a non-empty list")
        jobs = []
        for i, ins in enumerate(instructions):
            where = f"workflow {path} instruction [{i}]"
            if not isinstance(ins, dict) or ins.get("TYPE") != "Execute.Anonymous":
                raise bad(f"{where}: only Execute.Anonymous is supported")
            job = ins.get("job")
            if not isinstance(job, dict) or not isinstance(job.get("agentPath"), str):
                raise bad(f"{where}: job.agentPath is required")
            exe = job.get("executable")
            if not isinstance(exe, dict):
                raise bad(f"{where}: job.executable is required")
            kind = exe.get("TYPE")
            if kind == "ShellScriptExecutable":
                if not isinstance(exe.get("script"), str):
                    raise bad(f"{where}: executable.script must be a string")
            elif kind == "InternalExecutable":
                if exe.get("className") not in INTERNAL_CLASSES:
                    raise bad(f"{where}: className must be one of {', '.join(INTERNAL_CLASSES)}")
            else:
                raise bad(
                    f"{where}: executable TYPE must be ShellScriptExecutable or InternalExecutable"
                )
            jobs.append(Job(job["agentPath"], exe))
        return cls(path, version, tuple(jobs), {**data, "TYPE": "Workflow", "versionId": version})


def position_json(position: int) -> list[int]:
    return [position]


def parse_position(value: Any) -> int:
    if (
        isinstance(value, list)
        and len(value) == 1
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
        and value[0] >= 0
    ):
        return value[0]
    raise Problem(400, "InvalidPosition", f"position {value!r} must be [n] with n >= 0")
