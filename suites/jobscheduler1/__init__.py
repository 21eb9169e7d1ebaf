"""JS1-*: the JobScheduler 1.x passive (-exclusive/-backup) and active
(-distributed-orders) clusters (seed 003)."""
