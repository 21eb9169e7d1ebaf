"""Workflows and order positions, in JS7's JSON shape.

A workflow is a list of jobs, each assigned to an Agent — ``Execute.Anonymous``
with its job inline, or ``Execute.Named`` naming one of the workflow's
``jobs``; executables ``ShellScriptExecutable``, ``CommandLineExecutable``,
``PathExecutable`` (relative to the Agent's ``config/executables``) and the
reference's ``InternalExecutable`` classes, each with its
``returnCodeMeaning`` (js7-data/.../workflow/instructions/ExecuteTest.scala,
job/ExecutableTest.scala, job/ReturnCodeMeaningTest.scala)::

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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.common.web import Problem

INTERNAL_CLASSES = ("js7ha.Noop", "js7ha.Echo", "js7ha.Sleep", "js7ha.Fail")


@dataclass(frozen=True)
class ReturnCodeMeaning:
    """Which return codes mean success (``success``) or failure (not)."""

    success: bool
    codes: tuple[tuple[int, int], ...]

    def succeeded(self, return_code: int) -> bool:
        listed = any(lo <= return_code <= hi for lo, hi in self.codes)
        return listed if self.success else not listed


@dataclass(frozen=True)
class Job:
    agent_path: str
    executable: dict[str, Any]
    return_code_meaning: ReturnCodeMeaning = ReturnCodeMeaning(True, ((0, 0),))


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
        if not isinstance(instructions, list):
            raise bad(f"workflow {path}: 'instructions' must be a list")
        named = data.get("jobs", {})
        if not isinstance(named, dict):
            raise bad(f"workflow {path}: 'jobs' must be an object of job name to job")
        jobs = []
        for i, ins in enumerate(instructions):
            where = f"workflow {path} instruction [{i}]"
            kind = ins.get("TYPE") if isinstance(ins, dict) else None
            if kind == "Execute.Anonymous":
                job = ins.get("job")
            elif kind == "Execute.Named":
                name = ins.get("jobName")
                if not isinstance(name, str) or name not in named:
                    raise bad(f"{where}: jobName {name!r} is not one of the workflow's jobs")
                job = named[name]
                where = f"workflow {path} job {name!r}"
            else:
                raise bad(
                    f"{where}: the reference runs Execute.Anonymous and Execute.Named, not {kind!r}"
                )
            jobs.append(_job(job, where, bad))
        return cls(path, version, tuple(jobs), {**data, "TYPE": "Workflow", "versionId": version})


EXECUTABLES = (
    "ShellScriptExecutable",
    "CommandLineExecutable",
    "PathExecutable",
    "InternalExecutable",
)


def _job(job: Any, where: str, bad: Callable[[str], Problem]) -> Job:
    if not isinstance(job, dict) or not isinstance(job.get("agentPath"), str):
        raise bad(f"{where}: job.agentPath is required")
    exe = job.get("executable")
    if not isinstance(exe, dict):
        raise bad(f"{where}: job.executable is required")
    kind = exe.get("TYPE")
    field = {
        "ShellScriptExecutable": "script",
        "CommandLineExecutable": "command",
        "PathExecutable": "path",
    }.get(str(kind))
    if field is not None:
        if not isinstance(exe.get(field), str) or not exe[field]:
            raise bad(f"{where}: executable.{field} must be a non-empty string")
        if kind == "PathExecutable" and ".." in Path(exe["path"]).parts:
            raise bad(f"{where}: executable.path must not leave the executables directory")
    elif kind == "InternalExecutable":
        if exe.get("className") not in INTERNAL_CLASSES:
            raise bad(f"{where}: className must be one of {', '.join(INTERNAL_CLASSES)}")
    else:
        raise bad(f"{where}: executable TYPE must be one of {', '.join(EXECUTABLES)}")
    return Job(
        job["agentPath"], exe, parse_return_code_meaning(exe.get("returnCodeMeaning"), where)
    )


def parse_return_code_meaning(value: Any, where: str = "") -> ReturnCodeMeaning:
    """JS7's ``returnCodeMeaning``: ``{"success": …}`` or ``{"failure": …}``,
    each a list of codes and ``[from, to]`` ranges or the same as a string
    (``"0,3..9"``); absent: success is 0."""
    if value is None:
        return ReturnCodeMeaning(success=True, codes=((0, 0),))
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or next(iter(value))
        not in (
            "success",
            "failure",
        )
    ):
        raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning is success or failure")
    key, raw = next(iter(value.items()))
    ranges: list[tuple[int, int]] = []
    items: list[Any]
    if isinstance(raw, str):
        items = []
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            lo, _, hi = part.partition("..")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning {raw!r}")
            items.append([int(lo), int(hi)] if hi else int(lo))
    elif isinstance(raw, list):
        items = raw
    else:
        raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning {raw!r}")
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            ranges.append((item, item))
        elif (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            ranges.append((item[0], item[1]))
        else:
            raise Problem(400, "InvalidWorkflow", f"{where}: returnCodeMeaning {raw!r}")
    return ReturnCodeMeaning(success=key == "success", codes=tuple(ranges))


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
