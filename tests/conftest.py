"""Which tests form the integration run (``-m slow``) rather than the fast default run.

Most integration tests carry ``@pytest.mark.slow`` in their own module. The
modules and tests listed here are marked the same way from one place: they
start real worker processes (the local server), subprocesses or kernels, or
wait out real deadlines, and together they would take the fast run well past
a minute. They still run in CI (`.ci/run` runs both).
"""

from __future__ import annotations

import pytest

#: Whole modules that exercise real servers, workers or subprocesses.
INTEGRATION_MODULES = frozenset(
    {
        "test_contract_faces.py",  # one contract suite on the in-process and HTTP faces
        "test_server_cancel.py",  # stopping busy workers
        "test_server_core.py",  # the server core with real workers
        "test_server_hostile.py",  # attacks and fuzzing against a running server
        "test_cli_process.py",  # the installed command in real processes
        "test_testing_plugin.py",  # the testing guide's example under a nested pytest
        "test_plotting.py",  # matplotlib and a notebook kernel
        "test_server_edges.py",  # the server's limits, with real workers
        "test_server_http_edges.py",  # slow and surplus connections, held long-polls
        "test_server_dry_run.py",  # dry runs against a running server
        "test_server_devices.py",  # emulated chips: transpiled, noisy runs
    }
)

#: Single tests, by node id prefix, that run real jobs or wait out real time.
INTEGRATION_TESTS = (
    "test_results_store.py::test_a_large_result_streams_through_in_bounded_memory",
    "test_results_loader.py::test_the_first_loads_of_a_process_may_run_at_once",
    "test_testing_contracts.py::TestLocalServerTransport",
    "test_quiet_loops.py::test_a_queued_jobs_panel_shows_its_position_change_and_counts_down",
    "test_renderers_rich.py::test_terminal_runs_a_live_panel_that_ticks_on_its_own",
    "test_deadlines.py::test_result_timeout_is_one_deadline",
    "test_async_client.py::test_result_timeout_is_one_deadline",
    "test_async_client.py::test_a_timeout_on_local_leaves_the_job_to_finish",
    "test_async_client.py::test_twenty_jobs_awaited_concurrently_on_local",
    "test_async_client.py::test_a_sync_result_inside_a_running_loop_works_and_warns_nothing",
    "test_cli.py::test_jobs_table_json_and_filters",
    "test_cli.py::test_run_a_python_file_prints_the_bell_frequencies",
    "test_futures.py::test_futures_on_the_embedded_local_server",
    "test_local_transport.py",
    "test_server_http_edges.py::test_one_users_many_long_polls_do_not_delay_anothers",
    "test_server_edges.py::test_the_job_list_leaves_frequencies_out_unless_asked",
    "test_cli_cache.py::test_delete",
    "test_cli.py::test_run_a_json_circuit_prints_json_frequencies",
    "test_cli.py::test_version_says_when_the_server_is_unreachable",
    "test_async_client.py::test_a_timeout_raises_job_timeout_error_and_leaves_the_job",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow = pytest.mark.slow
    for item in items:
        module = item.path.name
        node = f"{module}::{item.nodeid.split('::', 1)[1]}" if "::" in item.nodeid else module
        if module in INTEGRATION_MODULES or node.startswith(INTEGRATION_TESTS):
            item.add_marker(slow)
