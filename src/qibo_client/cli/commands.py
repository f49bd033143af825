"""The commands that talk to a server: run, jobs, job, result, delete, quota, version; plugins, serve.

Each takes the parsed options and returns the exit status; errors are left to
:func:`qibo_client.cli.main.run_command`, which prints them as one line.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from typing import TYPE_CHECKING, Any

from qibo_client.cli import output
from qibo_client.cli.errors import EXIT_FAILED, EXIT_OK, CommandFailed, UsageError
from qibo_client.cli.session import open_client
from qibo_client.domain.status import QiboJobStatus
from qibo_client.qibo_job import QiboJob

if TYPE_CHECKING:
    from qibo_client.ports import ResultStore


def _pid(text: str) -> str:
    from qibo_client.exceptions import MalformedResponseError
    from qibo_client.protocol.readers import validate_pid

    try:
        return validate_pid(text)
    except MalformedResponseError as error:
        raise UsageError(str(error)) from None


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Submit a circuit file; unless ``--no-wait``, wait and print its result."""
    from qibo_client.cli.circuits import load_circuit

    circuit = load_circuit(args.file)  # a bad file fails before any server starts
    with open_client(args) as client:
        job = client.run_circuit(
            circuit, args.device, args.project, args.nshots, bool(args.verbatim)
        )
        args.pending_pid = job.pid
        if args.no_wait:
            if args.json:
                output.emit_json({"pid": job.pid, "device": args.device, "url": client.base_url})
            else:
                output.emit(job.pid)
            _note(f"Submitted job {job.pid}; get its result with: qibo-client result {job.pid}")
            return EXIT_OK
        return _print_result(job, args)


def result(args: argparse.Namespace) -> int:
    """Wait for a job if needed, download its result, print it."""
    pid = _pid(args.pid)
    args.pending_pid = pid
    with open_client(args) as client:
        job = QiboJob(
            pid,
            client.base_url,
            client.headers,
            transport=client.transport,
            result_store=client.result_store,
            renderer=client.renderer,
        )
        return _print_result(job, args)


def _print_result(job: QiboJob, args: argparse.Namespace) -> int:
    # With --json, stdout is for the JSON alone: no progress display (Rich draws on stdout).
    value = job.result(verbose=not args.json, timeout=args.timeout)
    folder = str(job.results_folder) if job.results_folder else None
    if value is None:
        if job.info is not None and job.info.job_status is QiboJobStatus.ERROR:
            raise CommandFailed(f"job {job.pid} ended in error; its logs are in {folder}")
        raise CommandFailed(
            f"job {job.pid} gave no readable result; what it sent is in {folder or 'no folder'}"
        )
    record = output.result_record(job.pid, value, folder)
    if args.json:
        output.emit_json(record)
    else:
        output.emit(output.result_text(record, args.top))
        _note(f"Results folder: {folder}")
    return EXIT_OK


def jobs(args: argparse.Namespace) -> int:
    """List this account's jobs, newest first."""
    with open_client(args) as client:
        found = client.jobs(status=args.status, device=args.device, limit=args.limit)
    infos = [job.info for job in found if job.info is not None]
    if args.json:
        for info in infos:
            output.emit_json(output.job_record(info))
    elif infos:
        output.emit(output.table(output.JOB_COLUMNS, map(output.job_row, infos)))
    else:
        _note("No jobs found.")
    return EXIT_OK


def job(args: argparse.Namespace) -> int:
    """Show one job's details."""
    pid = _pid(args.pid)
    with open_client(args) as client:
        info = client.get_job(pid).info
        stored = client.result_store.lookup(client.base_url, pid)
        folder = str(stored.folder) if stored else None
    assert info is not None  # get_job refreshes
    record = output.job_record(info, folder)
    if args.json:
        output.emit_json(record)
    else:
        output.emit(output.job_details(record))
    return EXIT_OK


def delete(args: argparse.Namespace) -> int:
    """Delete one job, or (after confirmation) all of them."""
    if args.all == bool(args.pid):
        raise UsageError("delete needs a PID or --all (not both)")
    with open_client(args) as client:
        if args.pid:
            pid = _pid(args.pid)
            # asking first gives a clear error for an unknown pid
            client.get_job(pid).delete(keep_local=args.keep_local)
            output.emit(f"Deleted job {pid}")
            return EXIT_OK
        if not args.yes and not _confirm_delete_all(len(client.jobs()), client.base_url):
            _note("Nothing deleted.")  # the user said no: that is an answer, not a failure
            return EXIT_OK
        store = None if args.keep_local else client.result_store  # built before deleting
        deleted = client.transport.delete_all_jobs()
        if store is not None:
            _forget(store, client.base_url, deleted)
    output.emit(f"Deleted {len(deleted)} jobs")
    return EXIT_OK


def _forget(store: ResultStore, server: str, pids: list[str]) -> None:
    """Remove the stored results of these deleted jobs."""
    for pid in pids:
        try:
            store.forget(server, _pid(pid))
        except UsageError:  # a pid unfit for a folder name has no folder
            continue


def _confirm_delete_all(count: int, url: str) -> bool:
    """True when the person at the terminal said yes."""
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(
            "refusing to delete all jobs without confirmation: input is not a terminal; "
            "pass --yes to delete them"
        )
    sys.stderr.write(f"Delete all {count} jobs on {output.shown_url(url)}? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def quota(args: argparse.Namespace) -> int:
    """Show the disk quota and each project's quota."""
    from qibo_client.presentation import tables

    with open_client(args) as client:
        disk = client.transport.disk_quota()
        projects = client.transport.project_quotas()
    if args.json:
        output.emit_json(
            {
                "disk": {"email": disk.email, "kbs_left": disk.kbs_left, "kbs_max": disk.kbs_max},
                "projects": [dict(project.raw) for project in projects],
            }
        )
        return EXIT_OK
    output.emit(tables.disk_usage(disk))
    output.emit(output.table(output.QUOTA_COLUMNS, map(output.quota_row, projects)))
    return EXIT_OK


def plugins(args: argparse.Namespace) -> int:
    """List every registered transport, result store and renderer with its package."""
    from qibo_client.plugins import list_plugins

    rows = list_plugins()
    if args.json:
        for row in rows:
            output.emit_json(
                {
                    "kind": row.kind,
                    "name": row.name,
                    "package": row.package,
                    "description": row.description,
                }
            )
    else:
        output.emit(
            output.table(
                ("KIND", "NAME", "PACKAGE", "DESCRIPTION"),
                ((r.kind, r.name, r.package, r.description or "-") for r in rows),
            )
        )
    return EXIT_OK


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version(args: argparse.Namespace) -> int:
    """Print the client's, the installed qibo's and (when reachable) the server's versions."""
    from qibo_client.exceptions import ConfigurationError, MalformedResponseError, QiboApiError

    server: dict[str, Any] = {}
    try:
        with open_client(args) as client:
            server["url"] = output.shown_url(client.base_url)
            answer = client.transport.server_version()
            server["qibo_version"] = answer.server_qibo_version
            server["minimum_client_qibo_version"] = answer.minimum_client_qibo_version
    except QiboApiError as error:
        server["error"] = f"not reachable: {error.summary()}"
    except (ConfigurationError, MalformedResponseError) as error:
        server["error"] = str(error)
    record = {
        "client": _installed("qibo-client") or "unknown",
        "qibo": _installed("qibo") or "not installed",
        "server": server,
    }
    if args.json:
        output.emit_json(record)
        return EXIT_OK
    output.emit(f"qibo-client {record['client']}")
    output.emit(f"qibo {record['qibo']}")
    where = server.get("url", "-")
    if "error" in server:
        output.emit(f"server {where}: {server['error']}")
    else:
        output.emit(
            f"server {where}: qibo {server['qibo_version']} "
            f"(accepts clients with qibo >= {server['minimum_client_qibo_version']})"
        )
    return EXIT_OK


def serve(args: argparse.Namespace) -> int:
    """Hand over to the server's own command line."""
    problem = getattr(args, "serve_import_error", None)
    if problem is not None:
        _note(f"qibo-client: error: 'serve' is not available here ({problem})")
        return EXIT_FAILED
    from qibo_client.cli.serve import run_serve

    return int(run_serve(args))
