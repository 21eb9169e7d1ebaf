"""Decoding and encoding JS7 JSON with the wire structs.

What must hold: a body that is not JSON, has an unknown ``TYPE``, lacks a
required field or carries a field of the wrong type is refused with a 400
problem naming where (``$.order.id``) — never a traceback, never a handler
run on half-checked input. Encoding omits fields at their JS7 default, as
JS7's encoders do for optional fields.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from components.common import limits
from components.common.web import Problem

T = TypeVar("T")

_UNKNOWN_TAG = re.compile(r"Invalid value '([^']*)' - at `\$((?:\.\w+|\[\d+\])*)\.TYPE`")


def decode(raw: bytes | str, into: Any, what: str) -> Any:
    """``raw`` JSON as the wire type ``into`` (a Struct or a tagged union),
    within the edge's limits (``components.common.limits``); ``what`` names
    the JS7 superclass in problems (``ControllerCommand``)."""
    try:
        value = limits.parse(raw)
    except limits.LimitExceeded as exc:
        raise Problem(400, "InvalidJson", str(exc)) from None
    return convert(value, into, what)


def convert(value: Any, into: type[T] | Any, what: str) -> Any:
    """Like ``decode`` for an already parsed JSON value."""
    try:
        return msgspec.convert(value, type=into)
    except msgspec.ValidationError as exc:
        raise decoding_problem(exc, what) from None


def decoding_problem(exc: msgspec.ValidationError, what: str) -> Problem:
    """JS7's answer to JSON it cannot decode: circe's ``DecodingFailure``
    message. JS7 sends no code with it; the reference adds one
    (``UnknownCommand`` for a command's unknown TYPE, ``UnknownType`` for a
    nested one's, ``InvalidCommand`` for a body without TYPE or no object,
    ``MissingField``, ``InvalidField``)."""
    text = str(exc)
    m = _UNKNOWN_TAG.match(text)
    if m:
        top = not m.group(2)
        return Problem(
            400,
            "UnknownCommand" if top and what.endswith("Command") else "UnknownType",
            f"JSON DecodingFailure at {m.group(2) or ':'}: Unexpected JSON "
            f'{{"TYPE": "{m.group(1)}", ...}} for {what}',
        )
    if text.startswith("Expected `object`, got") and "` - at `$" not in text:
        return Problem(400, "InvalidCommand", f"JSON DecodingFailure: {what} must be an object")
    if text == "Object missing required field `TYPE`":
        return Problem(400, "InvalidCommand", f"JSON DecodingFailure: {what} lacks its TYPE")
    code = "MissingField" if text.startswith("Object missing required field") else "InvalidField"
    return Problem(400, code, f"JSON DecodingFailure in {what}: {text}")


def to_json(value: Any) -> Any:
    """A wire struct (or a structure of them) as plain JSON values."""
    return msgspec.to_builtins(value)
