"""NDJSON lines from an HTTP response body, of any length a node may write.

aiohttp's ``StreamReader.readline`` (and ``async for line in content``)
refuses a line longer than 512 KiB since aiohttp 3.14 (``LineTooLong``). A
journal commit or an event is one line, and a valid one can be longer — an
order whose arguments hold a long list (the hostile suite's 2 MB list): the
passive stopped replicating at that commit and History stopped reading at
that event, each for good. Lines are read here from the raw chunks instead,
up to ``MAX_LINE`` (far above the 16 MiB a request body may have, so any
line a node could have accepted fits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

MAX_LINE = 64 * 1024 * 1024


class LineTooLong(ValueError):
    pass


class NdjsonReader:
    def __init__(self, stream: aiohttp.StreamReader, max_line: int = MAX_LINE) -> None:
        self._stream = stream
        self._max = max_line
        self._buf = bytearray()
        self._scanned = 0  # no newline in _buf[:_scanned]
        self._eof = False

    async def readline(self) -> bytes:
        """The next line with its newline; the rest at the end; b"" after it."""
        while True:
            i = self._buf.find(b"\n", self._scanned)
            if i >= 0:
                line = bytes(self._buf[: i + 1])
                del self._buf[: i + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._buf)
            if self._eof:
                line = bytes(self._buf)
                self._buf.clear()
                self._scanned = 0
                return line
            if len(self._buf) > self._max:
                raise LineTooLong(f"an NDJSON line longer than {self._max} bytes")
            chunk = await self._stream.readany()
            if chunk:
                self._buf += chunk
            else:
                self._eof = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while line := await self.readline():
            yield line
