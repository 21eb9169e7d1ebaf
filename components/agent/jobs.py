"""Running one job step: a real child process for shell jobs, or an
in-process job (``js7ha.*``) for high order rates.

Output is reported through ``on_output(stream, chunk)`` as it arrives; the
result is a JS7 outcome: ``{"TYPE": "Succeeded"|"Failed", "namedValues":
{"returnCode": n}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Output = Callable[[str, str], Awaitable[None]]
CHUNK = 64 * 1024


def outcome(return_code: int) -> dict[str, Any]:
    kind = "Succeeded" if return_code == 0 else "Failed"
    return {"TYPE": kind, "namedValues": {"returnCode": return_code}}


class Step:
    """One running job step; ``kill()`` ends it early (a cancel with kill)."""

    def __init__(
        self,
        executable: Mapping[str, Any],
        env: Mapping[str, str],
        arguments: Mapping[str, Any],
        on_output: Output,
    ) -> None:
        self.executable = executable
        self.env = env
        self.arguments = arguments
        self.on_output = on_output
        self._proc: asyncio.subprocess.Process | None = None
        self._killed = asyncio.Event()

    async def run(self) -> dict[str, Any]:
        if self.executable["TYPE"] == "ShellScriptExecutable":
            return await self._shell(self.executable["script"])
        return await self._internal(self.executable["className"])

    def kill(self) -> None:
        """SIGKILL the job's whole process group (the shell and what it started)."""
        self._killed.set()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def _shell(self, script: str) -> dict[str, Any]:
        # Each job is its own process group, so a kill reaches what the shell
        # started too. (A crash of the Agent's host still takes the jobs along:
        # they inherit the node's environment label, by which the harness kills.)
        self._proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            script,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        await asyncio.gather(
            self._pump("stdout", self._proc.stdout), self._pump("stderr", self._proc.stderr)
        )
        rc = await self._proc.wait()
        return outcome(rc if rc >= 0 else 128 - rc)

    async def _pump(self, stream: str, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            await self.on_output(stream, data.decode(errors="replace"))

    async def _internal(self, class_name: str) -> dict[str, Any]:
        if class_name == "js7ha.Echo":
            await self.on_output("stdout", str(self.arguments.get("text", "hello")) + "\n")
        elif class_name == "js7ha.Sleep":
            seconds = float(self.arguments.get("sleep", 1.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._killed.wait(), seconds)
            if self._killed.is_set():
                return outcome(137)
        elif class_name == "js7ha.Fail":
            await self.on_output("stderr", "failing on purpose\n")
            return outcome(1)
        return outcome(0)
