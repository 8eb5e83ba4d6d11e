"""How work is mapped: pure functions from (workload, hardware config) to a schedule."""
