"""The one table from an API's error answer to an operation's outcome, for
every client of the harness (Jepsen's invoke → ok / fail / info).

``fail`` only when the answer proves the request did nothing; ``info``
(outcome unknown) whenever the server may have begun acting before it failed.
"""

from __future__ import annotations

from typing import Literal

Outcome = Literal["fail", "info"]

# JS7 problems answered with a 5xx before the node acted: it is not the
# active cluster node, so it took nothing on.
JS7_REFUSED_BEFORE_ACTING = frozenset({"ClusterNodeIsNotActive", "NoActiveClusterNode"})

# Codes of the reference JOC with which a state-changing call's outcome is
# unknown: it may have reached the Controller before failing. JOC answers
# both kinds with 420; every other error refused the call before it acted.
JOC_OUTCOME_UNKNOWN = frozenset({"ControllerUnreachable", "InternalError"})


def js7_problem(status: int, code: str) -> Outcome:
    """A Controller's or Agent's problem answer: a 4xx refused the request; a
    5xx is unknown, but for the codes that say nothing was taken on."""
    if status < 500 or code in JS7_REFUSED_BEFORE_ACTING:
        return "fail"
    return "info"


def joc_error(status: int, code: str) -> Outcome:
    """JOC's error answer (420 with ``error.code``, 401/403/419/440): unknown
    for the codes that may have acted, and for any 5xx (not JOC's own
    answer: a proxy or a crash in between); else refused."""
    if status >= 500 or code in JOC_OUTCOME_UNKNOWN:
        return "info"
    return "fail"


def http_answer(status: int) -> Outcome:
    """An API with no problem codes of its own (the JobScheduler 1.x
    reference's): a 4xx refused the request, a 5xx is unknown."""
    return "fail" if status < 500 else "info"
