"""Seeded streams of hostile requests, made from valid ones.

Each ``Seed`` is one valid request of a component's public API (a JSON
body, an NDJSON body or a query). ``HostileRequests`` turns seeds into
hostile variants, reproducibly from its random seed, the way a fuzzer
mutates a corpus:

* one value anywhere in the body replaced by something hostile: numbers
  beyond every range (``1e400``, ``2**64``, 5,000 digits), ``NaN``, a NUL, a
  lone surrogate, 200 kB of text, 999 levels of nesting, the wrong type;
* or by a near miss of its own kind, where parsers are tried hardest: an
  integer at the edges of every range, a relative date (``-1d``) a billion
  days away, an ISO date on February 30th, a list ten thousand long;
* a field left out, an unknown one added, ``TYPE`` unknown;
* the body itself broken: truncated, not UTF-8, empty, garbage, an array
  where an object belongs;
* a query parameter replaced by garbage.

What must hold of a request made here: it is one a logged-in client can
send over HTTP, and it never names anything outside the ``hostile-`` ids
of its seeds, so a variant that is still valid changes nothing but
hostile objects (a suite's own load is never its target).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

# JSON texts of hostile values (raw: some are not what json.dumps can write).
HOSTILE_VALUES: tuple[str, ...] = (
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "18446744073709551616",
    "-9223372036854775809",
    "9" * 5000,
    "-1",
    "0",
    "1.5",
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\udc80"',
    '"\\ud83d"',
    '"' + "x" * 200_000 + '"',
    "[" * 999 + "]" * 999,
    '{"a":' * 500 + "1" + "}" * 500,
    "{}",
    "[]",
    "null",
    "true",
    '""',
    '"🙂"',
    '"../../../etc/passwd"',
    '"#%2F?\\n\\t"',
    '"hostile-\\u202e"',
    '{"TYPE":"Xyz"}',
    # dates and durations, as JOC's relative and ISO forms would have them
    '"-99999999d"',
    '"+99999999999w"',
    '"9999-12-31T23:59:59Z"',
    '"0000-00-00"',
    '"1d"',
)
HOSTILE_QUERY_VALUES: tuple[str, ...] = (
    "-1",
    "abc",
    "1e400",
    "99999999999999999999999",
    "",
    "\x00",
    "0x10",
    "NaN",
    "1" * 400,
    "🙂",
)
_RELATIVE = re.compile(r"^([+-]?)\d+([smhdw])$")


def near_misses(value: Any) -> list[str]:
    """JSON texts of values of ``value``'s own kind at or beyond its edges."""
    if isinstance(value, bool) or value is None:
        return ["0", '"true"', "2"]
    if isinstance(value, int | float):
        return [str(2**63), str(-(2**63) - 1), str(2**64), "-1", "1e308", "0.5", "-0"]
    if isinstance(value, str):
        m = _RELATIVE.match(value)
        if m:
            return [
                json.dumps(f"{sign}{n}{m.group(2)}")
                for sign in ("", "-", "+")
                for n in ("99999999", "99999999999999999999")
            ]
        if len(value) >= 10 and value[:4].isdigit() and value[4:5] == "-":
            return ['"2024-02-30T00:00:00Z"', '"9999-12-31T23:59:59+14:00"', '"0001-01-01"']
        return [
            json.dumps(value + "\u0000"),
            json.dumps(value * 5000),
            json.dumps(f"{value}/../.."),
        ]
    if isinstance(value, list):
        return ["[]", json.dumps(value * 10_000)[:2_000_000]]
    return ["{}"]


# A placeholder json.dumps writes as-is (a private-use character, escaped).
_HOLE = "\ue000hostile\ue000"
_HOLE_JSON = json.dumps(_HOLE)


@dataclass(frozen=True)
class Seed:
    """One valid request: ``api`` names who answers and how it refuses
    (``js7`` or ``joc``); ``node`` the target; ``body`` a JSON value (for
    ``ndjson``: a list of them, one per line) or None; ``query`` for GET."""

    api: str
    node: str
    method: str
    path: str
    body: Any = None
    ndjson: bool = False
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostileRequest:
    seed: Seed
    path: str  # with the query
    body: bytes | None
    content_type: str
    mutation: str


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*at, i))


def _set(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    head, rest = at[0], at[1:]
    if isinstance(value, dict):
        return {**value, head: _set(value[head], rest, new)}
    copy = list(value)
    copy[head] = _set(copy[head], rest, new)
    return copy


def _delete(value: Any, at: tuple[Any, ...]) -> Any:
    if len(at) == 1:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != at[0]}
        return [v for i, v in enumerate(value) if i != at[0]]
    head = at[0]
    if isinstance(value, dict):
        return {**value, head: _delete(value[head], at[1:])}
    copy = list(value)
    copy[head] = _delete(copy[head], at[1:])
    return copy


def _get(value: Any, at: tuple[Any, ...]) -> Any:
    for k in at:
        value = value[k]
    return value


class HostileRequests:
    """An endless, reproducible stream of hostile variants of ``seeds``."""

    def __init__(self, seeds: list[Seed], seed: int) -> None:
        if not seeds:
            raise ValueError("no seed requests to mutate")
        self.seeds = seeds
        self.rng = random.Random(seed)

    def __iter__(self) -> Iterator[HostileRequest]:
        while True:
            yield self.next()

    def next(self) -> HostileRequest:
        seed = self.rng.choice(self.seeds)
        if seed.body is None:
            return self._query(seed)
        if self.rng.random() < 0.15:
            return self._broken_body(seed)
        return self._mutated_body(seed)

    def _query(self, seed: Seed) -> HostileRequest:
        query = dict(seed.query)
        if query and self.rng.random() < 0.8:
            name = self.rng.choice(sorted(query))
            query[name] = self.rng.choice(HOSTILE_QUERY_VALUES)
            what = f"query {name}={query[name][:20]!r}"
        else:
            query["x" * self.rng.choice((1, 300))] = "1"
            what = "an unknown query parameter"
        path = f"{seed.path}?{urlencode(query)}" if query else seed.path
        return HostileRequest(seed, path, None, "", what)

    def _mutated_body(self, seed: Seed) -> HostileRequest:
        lines = list(seed.body) if seed.ndjson else [seed.body]
        n = self.rng.randrange(len(lines))
        value = lines[n]
        # Mostly a value inside (where a parser looks closest), now and then
        # the whole body.
        paths = list(_paths(value))
        at = self.rng.choice(paths[1:] if len(paths) > 1 and self.rng.random() < 0.9 else paths)
        target = _get(value, at)
        ops = ["replace"] * 4 + ["near"] * 4
        if at:
            ops.append("delete")
        if isinstance(target, dict):
            ops.append("unknown-field")
            if "TYPE" in target:
                ops.append("unknown-TYPE")
        op = self.rng.choice(ops)
        raw = None
        where = "$" + "".join(f"[{k!r}]" for k in at)
        if op in ("replace", "near"):
            raw = self.rng.choice(near_misses(target) if op == "near" else HOSTILE_VALUES)
            value = _set(value, at, _HOLE)
            what = f"{where} = {raw[:30]}"
        elif op == "delete":
            value = _delete(value, at)
            what = f"{where} left out"
        elif op == "unknown-field":
            value = _set(value, at, {**target, "hostileUnknown": 1})
            what = f"{where} with an unknown field"
        else:
            value = _set(value, at, {**target, "TYPE": "HostileUnknown"})
            what = f"{where} of an unknown TYPE"
        lines[n] = value
        texts = [json.dumps(v) for v in lines]
        if raw is not None:
            texts[n] = texts[n].replace(_HOLE_JSON, raw)
        body = ("\n".join(texts) + "\n" if seed.ndjson else texts[0]).encode("utf-8", "replace")
        kind = "application/x-ndjson" if seed.ndjson else "application/json"
        return HostileRequest(seed, seed.path, body, kind, what)

    def _broken_body(self, seed: Seed) -> HostileRequest:
        text = json.dumps(seed.body).encode()
        choice = self.rng.randrange(6)
        if choice == 0:
            cut = self.rng.randrange(len(text))
            body, what = text[:cut], f"truncated at {cut}"
        elif choice == 1:
            body, what = bytes(self.rng.randrange(256) for _ in range(64)), "64 random bytes"
        elif choice == 2:
            body, what = b"\xff\xfe" + text, "not UTF-8"
        elif choice == 3:
            body, what = b"", "empty"
        elif choice == 4:
            body, what = b"[" + text + b"]", "an array around it"
        else:
            body, what = text.replace(b"{", b"{" + b'"a":1,' * 3, 1), "duplicate keys"
        return HostileRequest(seed, seed.path, body, "application/json", what)


# JS7's 503 answers of a node that is not the one to serve (a passive): a
# refusal, not a failure.
NOT_SERVING = frozenset({"ClusterNodeIsNotActive"})


def classify(api: str, status: int, text: str) -> str:
    """What an answer says about the edge: ``accepted`` (2xx), ``refused``
    (the API's own refusal: JS7's problem JSON with a 4xx, or a 503
    ``ClusterNodeIsNotActive``; JOC's 420 with ``error``, or 401/403/419/440),
    ``server-error`` (a 5xx, JOC's ``InternalError``) or ``unframed``
    (anything else)."""
    if 200 <= status < 300:
        return "accepted"
    try:
        body = json.loads(text)
    except ValueError:
        return "unframed"
    if not isinstance(body, dict):
        return "unframed"
    if api == "js7" and status == 503 and body.get("code") in NOT_SERVING:
        return "refused"
    if status >= 500:
        return "server-error"
    if api == "js7":
        ok = body.get("TYPE") == "Problem" and bool(body.get("message"))
        return "refused" if 400 <= status < 500 and ok else "unframed"
    error = body.get("error")
    if status == 420 and isinstance(error, dict):
        return "server-error" if error.get("code") == "InternalError" else "refused"
    if status in (401, 403, 419, 440):
        return "refused"
    return "unframed"
