"""The journal: a component's events and materialised state, crash-safe.

What must hold
--------------
* When ``persist()`` returns, its events, state changes and meta changes are
  committed in one SQLite transaction and the WAL is fsynced. A SIGKILL of the
  process at any instant afterwards loses none of it; a SIGKILL at any instant
  before leaves all of it or none of it, never part of a commit (a commit
  whose persist() had not yet returned may or may not be there: its outcome
  was unknown to the caller). ``synchronous=FULL`` extends this to power loss
  and kernel crashes, provided the disk honours fsync (no lying write cache).
* Event ids are strictly increasing, also across restarts and when the clock
  goes back; ``last_event_id`` never decreases.
* ``read(after)`` answers exactly the committed events after ``after``,
  without gaps, or says why it cannot: ``EventSeqTorn`` (released) or
  ``UnknownEventId`` (never existed).
* A transaction that fails before COMMIT is rolled back: nothing of it is on
  disk or in memory, its callers get ``JournalWriteFailed``, the journal goes
  on. If COMMIT itself fails, its frames may or may not be in the WAL, so the
  outcome is unknown: callers get ``JournalBroken`` and so does every later
  write until the journal is reopened (which shows what survived).
* Not covered: damage to committed data in the middle of the files (a bad
  disk, another program writing them). Damage at the *tail* of the WAL — a
  torn last write — loses only the transactions from the damaged frame on.

Why SQLite in WAL mode, and not a hand-rolled checksummed log
-------------------------------------------------------------
* A commit is durable when ``COMMIT`` returns: with ``journal_mode=WAL`` and
  ``synchronous=FULL`` SQLite fsyncs the WAL at every commit, and the
  directory when it creates the WAL; a checkpoint fsyncs the database before
  the WAL is reused or truncated.
* WAL frames carry a cumulative checksum and the WAL generation's salt;
  recovery reads frames only up to the last valid *commit* frame, so a torn or
  partly written last transaction is discarded whole, never half-read. A
  hand-rolled log has to get all of that right itself — framing, checksums,
  cutting the torn tail before appending again, fsyncing the directory — and
  each detail is a place to lose data; SQLite's recovery is among the most
  tested code there is.
* One transaction holds events, commit descriptors, state changes and meta
  together. The Controller needs this to persist an Agent's events together
  with the Agent's event id; a log would need a snapshot format and replay on
  top to offer the same. Here the ``state`` table *is* the snapshot: events
  are kept only until they are released.
* Group commit amortises the fsync: the writer thread drains everything queued
  while it was busy into its next transaction, so one fsync serves many
  callers (about 40 per transaction with 50 concurrent callers).
* Release is a range ``DELETE`` plus ``torn_event_id`` in the same
  transaction, in chunks ending on commit boundaries; freed pages are reused,
  and given back by incremental vacuum when most of the file is free, and the
  WAL is checkpointed and truncated: the files stay bounded.

Threads: all writing happens on ONE writer thread with its own connection;
reads not served from memory use a second connection on the event loop
thread. Everything in memory (state, meta, the tail cache, ``last_event_id``,
``torn_event_id``) changes only on the event loop thread, after the
transaction committed, in commit order. A lock file ``<path>.lock`` (flock,
dropped by the kernel when the process dies) keeps a second Journal — in this
process or another — from writing the same file.
"""

from components.common.journal.base import REPLICATION_BASE, SCHEMA_VERSION, Event, StateChange
from components.common.journal.errors import (
    EventSeqTorn,
    JournalBroken,
    JournalClosed,
    JournalError,
    JournalWriteFailed,
    UnknownEventId,
)
from components.common.journal.journal import Journal

__all__ = [
    "REPLICATION_BASE",
    "SCHEMA_VERSION",
    "Event",
    "EventSeqTorn",
    "Journal",
    "JournalBroken",
    "JournalClosed",
    "JournalError",
    "JournalWriteFailed",
    "StateChange",
    "UnknownEventId",
]
