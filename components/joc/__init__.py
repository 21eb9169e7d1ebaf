"""The reference JOC Cockpit: REST API, database-backed cluster service,
History Service, Cleanup Service and Daily Plan, on PostgreSQL.

Several instances against one database form an active/standby cluster
(JS7-FACTS section 4). What must hold: at most one instance runs the
active-only services at any time — by the database's clock, a compare-and-set
take-over and a fencing epoch that every active-only write checks in its own
transaction.
"""
