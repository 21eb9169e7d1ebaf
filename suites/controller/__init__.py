"""CTL-*: the Controller active/passive cluster with its Cluster Watch."""
