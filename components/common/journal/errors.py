"""What the journal raises on purpose, split by cause."""

from __future__ import annotations


class JournalError(Exception):
    """Base of everything the journal raises on purpose."""


class EventSeqTorn(JournalError):
    """``after`` lies before ``torn_event_id``: those events were released."""

    def __init__(self, after: int, oldest: int) -> None:
        super().__init__(
            f"Requested EventId after={after} is not available."
            f" Oldest available EventId is {oldest}"
        )
        self.after = after
        self.oldest = oldest


class UnknownEventId(JournalError):
    """``after`` is not an id this journal ever had (from the future, in a gap
    between ids, or negative)."""

    def __init__(self, after: int, detail: str = "") -> None:
        super().__init__(
            f"An unknown EventId has been requested: after={after}"
            + (f" ({detail})" if detail else "")
        )
        self.after = after


class JournalClosed(JournalError):
    """The journal was closed by its owner; open it again to use it."""


class JournalWriteFailed(JournalError):
    """The transaction failed before COMMIT and was rolled back: nothing of it
    is on disk or in memory; the journal keeps working. Cause chained."""


class JournalBroken(JournalError):
    """The journal can no longer say what is on disk (a COMMIT failed, so its
    outcome is unknown, or the writer thread died). Every later call raises
    this; close and reopen to learn what survived. Cause chained."""
