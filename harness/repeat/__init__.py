"""Repeated conformance runs: the flake hunt (issue 14, item 4).

``js7ha repeat`` runs the same selection N times on one or both backends,
each run a whole ``js7ha run`` in its own process and run folder, and tallies
what every test said each time. On unmutated components any verdict but
*held* is a false alarm (or a harness problem) to be explained; the tally
names each one with its reason, the checks that said false and the run
folder whose artifacts show it.

Modules: ``tally`` (reading run folders' ``results.json`` into counts per
test, family and backend), ``command`` (``js7ha repeat``).
"""
