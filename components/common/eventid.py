"""JS7 EventIds: epoch milliseconds * 1000 + a counter, strictly increasing.

What must hold:

* every id handed out by one ``EventIdGenerator`` is greater than every id it
  handed out before and greater than the ``last`` it was seeded with — also
  when the clock stalls or goes back (then the next id is simply last + 1);
* an id never reaches 2**53, so it survives a round trip through a JSON
  number in any client (JavaScript doubles); the generator raises
  ``EventIdOverflow`` rather than hand out a larger one;
* ``EventId.BeforeFirst`` (0) is "before the first event" and never an
  event's id.

Seeding a generator with the journal's last persisted id is what keeps ids
increasing across restarts (``js7-data/.../event/EventIdGenerator.scala``).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Final


class EventId:
    """Constants of the EventId space."""

    BeforeFirst: Final = 0
    """The position before the first event; ``after=0`` reads from the start."""

    Max: Final = 2**53 - 1
    """The largest id that may be handed out (ids stay below 2**53)."""

    Factor: Final = 1000
    """Ids per millisecond."""


class EventIdOverflow(ValueError):
    """Raised when the next id would reach 2**53 (a clock far in the future,
    or more than a thousand ids per millisecond for a very long time)."""


def event_id_to_epoch_ms(event_id: int) -> int:
    """The epoch milliseconds an id was derived from (its counter part dropped).

    For ids handed out while the clock stalled or went back this is later than
    the wall time at which they were handed out; it is never earlier.
    """
    return event_id // EventId.Factor


def new_journal_id() -> str:
    """A new JS7 ``JournalId`` (what a ``ControllerRunId`` or ``AgentRunId``
    is): a random UUID in unpadded base64url, 22 characters."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def event_id_string(event_id: int) -> str:
    """JS7's ``EventId.toString``: ``<id>/<ISO timestamp>`` (``BeforeFirst``
    for 0), as in problem arguments."""
    if event_id == EventId.BeforeFirst:
        return f"{event_id}/BeforeFirst"
    ms = event_id_to_epoch_ms(event_id)
    t = time.gmtime(ms // 1000)
    frac = f".{ms % 1000:03d}" if ms % 1000 else ""
    return f"{event_id}/{time.strftime('%Y-%m-%dT%H:%M:%S', t)}{frac}Z"


def epoch_ms_to_event_id(epoch_ms: int) -> int:
    """The smallest id belonging to that millisecond."""
    return epoch_ms * EventId.Factor


class EventIdGenerator:
    """Hands out strictly increasing EventIds; not thread-safe (one owner)."""

    def __init__(self, last: int = EventId.BeforeFirst, clock: Callable[[], float] = time.time):
        if not 0 <= last <= EventId.Max:
            raise EventIdOverflow(f"last EventId {last} is outside 0..2**53-1")
        self._last = last
        self._clock = clock

    def next(self) -> int:
        """The next id: ``max(clock_ms * 1000, last + 1)``."""
        candidate = max(int(self._clock() * 1000) * EventId.Factor, self._last + 1)
        if candidate > EventId.Max:
            raise EventIdOverflow(
                f"EventId {candidate} would reach 2**53 (last={self._last}); is the clock sane?"
            )
        self._last = candidate
        return candidate

    def peek_last(self) -> int:
        """The last id handed out (or the seed); ``next()`` returns more than this."""
        return self._last

    def advance_to(self, event_id: int) -> None:
        """Make sure the next id is greater than ``event_id`` (ids taken elsewhere,
        e.g. replicated from another node); never moves backwards."""
        if event_id > EventId.Max:
            raise EventIdOverflow(f"EventId {event_id} is not below 2**53")
        self._last = max(self._last, event_id)
