"""The limits every JSON request body must keep, checked once at each
component's edge (``components.wire.codec.decode`` and
``components.common.web.read_json``) before any handler sees it.

What must hold: a value that passes can be journaled (JSON with
``allow_nan=False``), replicated, sent to an Agent and written to
PostgreSQL, so no request can stop a node or a service by its content:

* nesting at most ``MAX_DEPTH`` deep (JS7's own values nest a few levels);
* integers within a signed 64-bit long, JS7's ``Long`` and PostgreSQL's
  ``bigint`` (JS7 reads larger numbers as ``BigDecimal``; the reference
  refuses them — a documented difference);
* no NUL character in any string or key (PostgreSQL's ``text`` cannot hold
  it; JS7 itself would accept it);
* floats finite and strings free of lone surrogates — both already refused
  by the JSON parser (msgspec), which also refuses ``NaN`` and ``Infinity``.

A refusal is a ``LimitExceeded`` naming the place (``$.order.id``), which
the edge answers with a 400 ``InvalidJson`` problem.
"""

from __future__ import annotations

from typing import Any

import msgspec

MAX_DEPTH = 64


class LimitExceeded(ValueError):
    """The body is not JSON, or a value in it is beyond the limits."""


LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


def parse(raw: bytes | str) -> Any:
    """``raw`` as a JSON value within the limits, or ``LimitExceeded``."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise LimitExceeded(f"request body is not valid JSON: {exc}") from None
    except msgspec.ValidationError as exc:  # a number beyond what JSON values hold here
        raise LimitExceeded(f"request body: {exc}") from None
    except RecursionError:
        raise LimitExceeded(f"request body nests deeper than {MAX_DEPTH} levels") from None
    check(value)
    return value


def check(value: Any) -> None:
    """Raise the problem for the first place in ``value`` beyond the limits
    (iteratively: a deep value must not exhaust the checker's stack)."""
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        v, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise LimitExceeded(f"{where}: nests deeper than {MAX_DEPTH} levels")
        if isinstance(v, str):
            if "\x00" in v:
                raise LimitExceeded(f"{where}: a NUL character is not allowed")
        elif isinstance(v, bool):
            pass
        elif isinstance(v, int):
            if not LONG_MIN <= v <= LONG_MAX:
                raise LimitExceeded(f"{where}: {v} is beyond a 64-bit integer's range")
        elif isinstance(v, dict):
            for key, item in v.items():
                if "\x00" in key:
                    raise LimitExceeded(f"{where}: a NUL character is not allowed in a key")
                stack.append((item, f"{where}.{key[:40]}", depth + 1))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                stack.append((item, f"{where}[{i}]", depth + 1))
