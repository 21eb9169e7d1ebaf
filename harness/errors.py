"""The harness's one exception hierarchy, split by cause.

Guarantee violations are *results* (``CheckResult(valid=False)``), never
exceptions. Everything here means the harness itself could not do what it was
asked, so a test that raises one of these is a harness error, not a
conformance failure.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A topology, profile or option is invalid. Raised before anything starts."""


class BackendError(HarnessError):
    """The backend could not carry out an operation on a node or a link."""


class NodeStartError(BackendError):
    """A node did not become ready within the profile's start-up deadline.

    The message carries the tail of the node's log, so the cause is visible in
    the test report without opening the artifacts.
    """

    def __init__(self, node: str, reason: str, log_tail: str = "") -> None:
        self.node = node
        self.reason = reason
        self.log_tail = log_tail
        text = f"node {node!r} did not start: {reason}"
        if log_tail:
            text += f"\n--- last lines of {node}'s log ---\n{log_tail.rstrip()}\n---"
        super().__init__(text)


class NodeStateError(BackendError):
    """An operation needs the node in another state (e.g. resume a running node)."""


class NetworkError(BackendError):
    """The network proxy refused or failed an operation on a link."""


class PostgresError(HarnessError):
    """The throwaway PostgreSQL cluster could not be created, started or reached."""


class HealthCheckError(HarnessError):
    """The topology was not healthy before a fault (pre-check) or did not return
    to health after healing it (post-check).

    A failed pre-check means the test never started its experiment; it is
    reported as a harness error, never as a broken guarantee.
    """

    def __init__(self, phase: str, unhealthy: dict[str, str]) -> None:
        self.phase = phase
        self.unhealthy = dict(unhealthy)
        parts = ", ".join(f"{n}: {why}" for n, why in sorted(self.unhealthy.items()))
        super().__init__(f"health check {phase} failed: {parts}")


class DeadlineExceeded(HarnessError):
    """A condition the harness waited for did not hold before its deadline."""
