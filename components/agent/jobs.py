"""Running one job step: a real child process (a shell script, a command
line started without a shell, or a program from the Agent's
``config/executables``), or an in-process job (``js7ha.*``) for high order
rates.

Output is reported through ``on_output(stream, chunk)`` as it arrives; the
result is a JS7 outcome: ``{"TYPE": "Succeeded"|"Failed", "namedValues":
{"returnCode": n}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from components.common.workflow import ReturnCodeMeaning

Output = Callable[[str, str], Awaitable[None]]
CHUNK = 64 * 1024


def outcome(return_code: int, meaning: ReturnCodeMeaning | None = None) -> dict[str, Any]:
    ok = return_code == 0 if meaning is None else meaning.succeeded(return_code)
    return {"TYPE": "Succeeded" if ok else "Failed", "namedValues": {"returnCode": return_code}}


class Step:
    """One running job step; ``kill()`` ends it early (a cancel with kill)."""

    def __init__(
        self,
        executable: Mapping[str, Any],
        env: Mapping[str, str],
        arguments: Mapping[str, Any],
        on_output: Output,
        *,
        executables: Path = Path("config/executables"),
        meaning: ReturnCodeMeaning | None = None,
    ) -> None:
        self.executables = executables  # where a relative PathExecutable lies
        self.meaning = meaning
        self.executable = executable
        self.env = env
        self.arguments = arguments
        self.on_output = on_output
        self._proc: asyncio.subprocess.Process | None = None
        self._killed = asyncio.Event()

    async def run(self) -> dict[str, Any]:
        exe = self.executable
        kind = exe["TYPE"]
        if kind == "ShellScriptExecutable":
            return await self._process(["/bin/sh", "-c", exe["script"]])
        if kind == "CommandLineExecutable":
            # JS7 splits the command line itself and starts the program without a shell.
            return await self._process(shlex.split(exe["command"]))
        if kind == "PathExecutable":
            path = Path(exe["path"])
            return await self._process(
                [str(path if path.is_absolute() else self.executables / path)]
            )
        return await self._internal(exe["className"])

    def kill(self) -> None:
        """SIGKILL the job's whole process group (the shell and what it started)."""
        self._killed.set()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def _process(self, argv: list[str]) -> dict[str, Any]:
        # Each job is its own process group, so a kill reaches what the shell
        # started too. (A crash of the Agent's host still takes the jobs along:
        # they inherit the node's environment label, by which the harness kills.)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        except OSError as exc:
            # JS7: a job that cannot start fails the order with the problem.
            await self.on_output("stderr", f"cannot start {argv[0]}: {exc}\n")
            return {"TYPE": "Failed", "namedValues": {"returnCode": -1}, "message": str(exc)}
        return await self._communicate()

    async def _communicate(self) -> dict[str, Any]:
        assert self._proc is not None
        assert self._proc.stdout is not None and self._proc.stderr is not None
        await asyncio.gather(
            self._pump("stdout", self._proc.stdout), self._pump("stderr", self._proc.stderr)
        )
        rc = await self._proc.wait()
        return outcome(rc if rc >= 0 else 128 - rc, self.meaning)

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
