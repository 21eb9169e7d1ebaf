"""A tiny networked node for exercising the harness before (and besides) the
real components: it has a health endpoint, visible progress, peer calls over
its links and a database probe — enough to show that a kill kills, a pause
pauses, a partition cuts exactly the chosen links and a DB outage bites."""
