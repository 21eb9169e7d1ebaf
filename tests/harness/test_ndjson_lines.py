"""The judge's NDJSON reader: lines of any length, split anywhere."""

import json

import pytest

from harness.clients.ndjson import ndjson_lines
from tests.chunked_server import chunked_server

BIG = json.dumps({"a": ["y" * 100] * 20_000}).encode()


async def test_a_two_megabyte_line_split_across_chunks_comes_whole():
    payload = BIG + b"\n{}\n" + b"tail"
    chunks = [payload[i : i + 4096] for i in range(0, len(payload), 4096)]
    async with chunked_server(chunks) as client, client.get("/") as resp:
        assert [line async for line in ndjson_lines(resp.content)] == [BIG, b"{}", b"tail"]


async def test_a_line_beyond_the_limit_is_an_error():
    async with chunked_server([b"z" * 3000]) as client, client.get("/") as resp:
        with pytest.raises(ValueError, match="longer than 100 bytes"):
            [line async for line in ndjson_lines(resp.content, limit=100)]
