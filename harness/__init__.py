"""js7ha harness: topologies on backends, faults, histories and checkers."""
