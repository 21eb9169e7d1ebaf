"""The backend-neutral fault checks of ``tests/harness/test_faults.py``, run
on containers: the same test functions, here with ``deploy`` giving a
``DockerBackend`` (cuts by iptables). Only the kill check differs per backend
(a process there, a container here) and lives in each backend's own module."""

from ..harness.test_faults import (  # noqa: F401 - collected here a second time
    test_a_failed_pre_check_is_a_harness_error_and_records_no_window,
    test_db_outage_makes_connections_fail_and_healing_restores_them,
    test_fault_is_healed_even_when_the_block_fails,
    test_healing_twice_is_harmless_and_early_heal_ends_the_window,
    test_isolate_cuts_every_link_of_one_node_and_nothing_else,
    test_latency_delays_by_the_measured_amount,
    test_lose_state_wipes_the_node_state,
    test_one_way_partition_loses_only_one_direction_of_traffic,
    test_partition_cuts_exactly_the_chosen_links,
    test_pause_stops_progress_and_resume_restores_it,
    test_refuse_mode_refuses_connections,
    test_split_and_bridge_shapes,
    test_stop_is_graceful,
    test_unknown_links_and_nodes_are_refused,
)
