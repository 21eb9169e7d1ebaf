"""The Docker backend: every node is a container of the project image.

Mirrors ``harness.backends.local`` operation for operation, so faults and
suites cannot tell the two apart. One module per idea:

* ``backend``: ``DockerBackend`` — the deployment (one Docker network, the
  link proxy, the database, a container per node) and each node's life
  cycle: start, stop, signals, pause, disconnection, teardown.
* ``containers``: starting labelled containers, running commands in them,
  awaiting their exit, reading their logs.
* ``labels``: the labels every container and network carries, and the
  removal by label (teardown, reaper, sweeps).
* ``linkproxy``: the Toxiproxy-compatible server and one proxy per link.
* ``database``: PostgreSQL in its own container, and its outages.
* ``iptables`` and ``netfilter``: link cuts as iptables rules in the source
  node's network namespace (``netfilter``: the rules; ``iptables``: keeping
  each node's rules in step with the cuts).
* ``signals``: SIGSTOP/SIGCONT to every process of a container but its init.
* ``connections``: the TCP connections a node's processes opened.
"""
