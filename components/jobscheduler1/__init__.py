"""A reference JobScheduler 1.x engine with its two cluster modes (seed 003).

* **Passive cluster** (``-exclusive``, backups ``-exclusive -backup
  [-backup-precedence=N]``): one member — the primary once all started — is
  active; a backup takes over only after the active member's heartbeat is
  dead, never after a normal termination; precedence orders the backups.
* **Active cluster** (``-distributed-orders``): every member is active and
  any member may run any step of an order of a distributed job chain; steps
  are claimed with a conditional UPDATE so each runs once.

Everything — jobs, job chains and their nodes, orders and their states, the
cluster table and the task history — lives in PostgreSQL, so any member knows
it all. See ``cluster`` (heartbeats, take-over, watchdog), ``engine`` (order
steps), ``store`` (the SQL), and the HTTP interface, JobScheduler 1.x's XML
commands: ``api`` (routes), ``xml_wire`` (parsing, schema, answer envelope,
errors), ``xml_api`` (the commands) and ``xml_answers`` (answer elements).

Delivery of a step: exactly once, except a step that was running on a member
that died, was fenced by its watchdog or was stopped while the step ran. That
step's task row stays marked ``disrupted`` (or ``killed``), and the step runs
again on another member — at least once per disrupted step. The job may then
have run partly or wholly twice; jobs must tolerate that, as in the real
engine.
"""
