"""The components' NDJSON reader takes lines of any length a node may write
(aiohttp's own refuses lines over 512 KiB: a passive stopped replicating at
an order with a 2 MB argument list)."""

import json

import pytest

from components.common.ndjson import LineTooLong, NdjsonReader
from tests.chunked_server import chunked_server

BIG = json.dumps({"a": ["x" * 100] * 20_000}).encode()  # ~2 MB, one line


async def test_lines_longer_than_aiohttps_limit_split_anywhere_are_read_whole():
    payload = b"{}\n" + BIG + b"\n" + b'{"b":1}'
    chunks = [payload[i : i + 7777] for i in range(0, len(payload), 7777)]
    async with chunked_server(chunks) as client, client.get("/") as resp:
        lines = [line async for line in NdjsonReader(resp.content)]
    assert lines == [b"{}\n", BIG + b"\n", b'{"b":1}']


async def test_readline_answers_empty_at_the_end():
    async with chunked_server([b"1\n2\n"]) as client, client.get("/") as resp:
        reader = NdjsonReader(resp.content)
        assert [await reader.readline() for _ in range(3)] == [b"1\n", b"2\n", b""]


async def test_a_line_beyond_the_limit_is_refused_by_name():
    async with chunked_server([b"x" * 5000]) as client, client.get("/") as resp:
        with pytest.raises(LineTooLong):
            await NdjsonReader(resp.content, max_line=1000).readline()
