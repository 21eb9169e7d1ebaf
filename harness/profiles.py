"""Timing profiles.

One owner for every duration the harness and the components use. A test never
types a literal timeout: it takes it from the profile, so the same suite runs
tight against the reference components (``reference``) and with the seeds'
own numbers (``js7-documented``), whose checks then use the documented bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from harness.errors import ConfigError


def _frozen(d: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Profile:
    """Durations in seconds.

    ``startup_deadline``: a node must answer its health endpoint within it.
    ``stop_deadline``: a SIGTERM'd node must be gone within it (then SIGKILL).
    ``heal_deadline``: after a fault heals, the topology must be healthy again.
    ``op_timeout``: one client request; past it the outcome is *info*.
    ``poll_interval``: how often a waiting loop re-checks its condition.
    ``schedule_tolerance``: how late a scheduled start may be and still be
    "on time".
    ``components``: timing settings handed to the components' configs
    (heartbeats, take-over intervals...), keyed by setting name.
    ``bounds``: seconds a guarantee allows, by guarantee id (the checks take
    their bound from here: the documented figure in ``js7-documented``, the
    reference target in ``reference``).
    """

    name: str
    startup_deadline: float
    stop_deadline: float
    heal_deadline: float
    op_timeout: float
    poll_interval: float
    schedule_tolerance: float
    components: MappingProxyType[str, Any] = field(default_factory=lambda: _frozen({}))
    bounds: MappingProxyType[str, float] = field(default_factory=lambda: _frozen({}))

    def bound(self, guarantee: str) -> float:
        try:
            return float(self.bounds[guarantee])
        except KeyError:
            raise ConfigError(f"profile {self.name} has no bound for {guarantee}") from None

    def with_(self, **changes: Any) -> Profile:
        return replace(self, **changes)


REFERENCE = Profile(
    name="reference",
    startup_deadline=30.0,
    stop_deadline=10.0,
    heal_deadline=30.0,
    op_timeout=5.0,
    poll_interval=0.05,
    schedule_tolerance=1.0,
    components=_frozen(
        {
            # Controller cluster (JS7-FACTS 3): tight so fail-over takes ~1 s.
            "controller.cluster.heartbeat": 0.25,
            "controller.cluster.heartbeat_timeout": 1.0,
            # JOC cluster service (JS7-FACTS 4).
            "joc.cluster.polling_interval": 0.5,
            "joc.cluster.heart_beat_exceeded_interval": 2.0,
            # JobScheduler 1.x (JS7-FACTS 6).
            "js1.heartbeat_period": 1.0,
            "js1.heartbeat_timeout": 2.0,
            # Director → Subagent (AGENT-CLUSTER.md A.5: JS7's 3 s / 10 s).
            "agent.subagent.heartbeat": 0.5,
            "agent.subagent.heartbeat_timeout": 2.0,
            # Director cluster (AGENT-CLUSTER.md A.4: the Controller's settings).
            "agent.cluster.heartbeat": 0.25,
            "agent.cluster.heartbeat_timeout": 1.0,
        }
    ),
    bounds=_frozen(
        {
            "CTL-FAILOVER": 2.0,
            "CTL-COUPLING": 5.0,
            "CTL-RECOVERY": 10.0,
            "CTL-RECOVERY-2": 10.0,
            "JOC-FAILOVER": 5.0,
            "JOC-SWITCHOVER": 3.0,
            "HIS-LATENCY": 1.0,
            "HIS-CTL-FAILOVER": 2.0,
            "HIS-LIVE": 1.0,  # issue 16: p99 in a real browser on the active instance
            "AGT-DIRECTOR-FAILOVER": 2.0,  # issue 15: reference target p99
        }
    ),
)

JS7_DOCUMENTED = Profile(
    name="js7-documented",
    startup_deadline=120.0,
    stop_deadline=60.0,
    heal_deadline=300.0,
    op_timeout=30.0,
    poll_interval=0.25,
    schedule_tolerance=5.0,
    components=_frozen(
        {
            "controller.cluster.heartbeat": 3.0,
            "controller.cluster.heartbeat_timeout": 10.0,
            "joc.cluster.polling_interval": 30.0,
            "joc.cluster.heart_beat_exceeded_interval": 60.0,
            "js1.heartbeat_period": 60.0,
            "js1.heartbeat_timeout": 60.0,
            "agent.subagent.heartbeat": 3.0,
            "agent.subagent.heartbeat_timeout": 10.0,
            "agent.cluster.heartbeat": 3.0,
            "agent.cluster.heartbeat_timeout": 10.0,
        }
    ),
    bounds=_frozen(
        {
            "CTL-FAILOVER": 3.0,  # the seed: "around 3s"
            "CTL-COUPLING": 60.0,
            "CTL-RECOVERY": 120.0,  # seed 002: "not coupled after approx. 120s"
            "CTL-RECOVERY-2": 60.0,  # seed 002: "should occur within 60s"
            "JOC-FAILOVER": 180.0,  # seed 000: "up to 2-3 minutes"
            "JOC-SWITCHOVER": 180.0,  # seed 000: "as fail-over"
            "HIS-LATENCY": 3.0,  # seed 004: "2-3 s at 30 tasks/s"
            "HIS-CTL-FAILOVER": 10.0,  # seed 004: "within 10s"
            "HIS-LIVE": 3.0,  # seed 004: "visibility ... with the History View in 2-3s"
            "AGT-DIRECTOR-FAILOVER": 3.0,  # Director fail-over page: "typically in 2-3s"
        }
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (REFERENCE, JS7_DOCUMENTED)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"unknown profile {name!r}; choose one of {', '.join(sorted(PROFILES))}"
        ) from None
