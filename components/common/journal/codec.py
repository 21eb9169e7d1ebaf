"""The JSON the journal writes: compact, UTF-8 as is, no NaN or Infinity, and
storable by SQLite (no lone surrogates) — checked before a value is queued,
so a bad value fails its own caller only."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

# Compact JSON, UTF-8 kept as is, NaN/Infinity refused (they are not JSON).
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# JSONEncoder.encode builds its C encoder anew on every call; persist() encodes
# several values per call, so build it once. No circular check: a cycle ends
# in RecursionError instead, which is reported like any other encoding error.
_iterencode: Callable[[Any, int], Sequence[str]] = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
)


def _encode(value: Any) -> str:
    return "".join(_iterencode(value, 0))


_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> Any:
    """Decode JSON text this module encoded (compact, no surrounding blanks);
    skips json.loads' whitespace handling, which costs more than the scan."""
    return _scan_once(text, 0)[0]


# A str as a JSON string, exactly as _encode would write it (the C function).
_quote: Callable[[str], str] = json.encoder.encode_basestring


def _check_utf8(*texts: str) -> None:
    """SQLite stores UTF-8: a lone surrogate would fail inside the transaction,
    failing the whole group; refuse it before."""
    for text in texts:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise _Invalid(f"text cannot be stored as UTF-8: {exc}") from None


class _Invalid(ValueError):
    """An argument persist() refuses before queueing."""


def _stamp(event_id: int, timestamp: int, body: str) -> str:
    # eventId first, so a reader can see the id without parsing the line.
    if body == "{}":
        return f'{{"eventId":{event_id},"timestamp":{timestamp}}}'
    return f'{{"eventId":{event_id},"timestamp":{timestamp},{body[1:]}'


def _json_text(value: Any, *what: object) -> str:
    """``value`` as compact JSON that SQLite can store, or TypeError/ValueError
    naming ``what``. Done before enqueueing, so a bad value fails its caller
    only and never the group it would have joined."""
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        name = " ".join(map(str, what))  # built only on failure: persist() is hot
        raise type(exc)(f"{name} is not JSON-serialisable: {exc}") from None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            name = " ".join(map(str, what))
            raise ValueError(f"{name} cannot be stored as UTF-8: {exc}") from None
    return text
