"""``qibo-client cache``: list, clear and prune the results kept on this machine.

The store is the one jobs save into (``$QIBO_CLIENT_STORE``, by default the
results folder: ``$RESULTS_BASE_FOLDER``, else the user cache folder), or the
folder ``--folder DIR`` names. Nothing here talks to a server.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qibo_client.cli.errors import EXIT_OK, CommandFailed, UsageError

if TYPE_CHECKING:
    from qibo_client.ports.result_store import CachedResult, ResultStore

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([smhdw])\s*$", re.IGNORECASE)
COLUMNS = ("SERVER", "PID", "SIZE", "LAST USED")


def duration(text: str) -> float:
    """An argparse type: ``7d``, ``12h``, ``30m``, ``90s`` or ``2w`` as seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write a number and a unit, e.g. 7d, 12h, 30m, 90s or 2w"
        )
    return float(match.group(1)) * _SECONDS[match.group(2).lower()]


def size(text: str) -> int:
    """An argparse type: ``1GB``, ``500MB``, ``1.5GiB`` as bytes (steps of 1024)."""
    from qibo_client.adapters.filesystem_cache import parse_size

    try:
        found = parse_size(text)
    except ValueError:
        found = None
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: write it as 1GB, 500MB or 1.5GiB"
        )
    return found


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """``list``, ``clear`` and ``prune``, each with ``--folder``."""
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the stored results: server, pid, size, age")
    listing.add_argument("--json", action="store_true", help="print one JSON object per line")
    clearing = actions.add_parser("clear", help="remove every stored result (asks first)")
    clearing.add_argument("-y", "--yes", action="store_true", help="do not ask first")
    pruning = actions.add_parser(
        "prune", help="remove results unused for a while, or the oldest past a size"
    )
    pruning.add_argument(
        "--older-than",
        type=duration,
        metavar="DURATION",
        help="remove results not used for this long (7d, 12h, 30m)",
    )
    pruning.add_argument(
        "--max-size",
        type=size,
        metavar="SIZE",
        help="then remove the least recently used until the rest fit in SIZE (1GB, 500MB)",
    )
    for action in (listing, clearing, pruning):
        action.add_argument(
            "--folder",
            metavar="DIR",
            help="a results folder (default: the store jobs save into, see 'qibo-client plugins')",
        )
        action.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
        )


def _store(args: argparse.Namespace) -> ResultStore:
    if args.folder:
        from qibo_client.adapters.filesystem_store import FilesystemResultStore

        return FilesystemResultStore(args.folder, max_cache_bytes="none")
    from qibo_client.bootstrap import build_result_store

    return build_result_store()


def _listed(store: ResultStore) -> list[CachedResult]:
    entries = store.cached()
    if entries is None:
        raise CommandFailed(f"the result store {store!r} cannot list what it keeps")
    return sorted(entries, key=lambda e: e.last_used, reverse=True)


def _where(store: ResultStore) -> str:
    """The store's folder, else its repr, for messages."""
    return str(getattr(store, "base_folder", None) or repr(store))


def _size(count: int) -> str:
    from qibo_client.presentation.tables import human_size

    return human_size(count / 1024)


def age(seconds: float) -> str:
    """How long ago, in its largest whole unit: ``just now``, ``12m ago``, ``3d ago``."""
    for unit, length in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{int(seconds // length)}{unit} ago"
    return "just now"


def _summary(entries: Sequence[CachedResult]) -> str:
    count = len(entries)
    return f"{count} result{'' if count == 1 else 's'}, {_size(sum(e.size for e in entries))}"


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cache(args: argparse.Namespace) -> int:
    """Run ``cache list``, ``cache clear`` or ``cache prune``."""
    store = _store(args)
    return {"list": _list, "clear": _clear, "prune": _prune}[args.cache_action](store, args)


def _list(store: ResultStore, args: argparse.Namespace) -> int:
    from qibo_client.cli import output

    entries = _listed(store)
    now = time.time()
    if args.json:
        for entry in entries:
            output.emit_json(
                {
                    "server": entry.server,
                    "pid": entry.pid,
                    "size": entry.size,
                    "last_used": entry.last_used,
                    "age_seconds": round(max(0.0, now - entry.last_used), 3),
                    "folder": str(entry.folder) if entry.folder else None,
                }
            )
        return EXIT_OK
    if not entries:
        _note(f"No stored results in {_where(store)}.")
        return EXIT_OK
    rows = [(e.server, e.pid, _size(e.size), age(max(0.0, now - e.last_used))) for e in entries]
    output.emit(output.table(COLUMNS, rows))
    _note(f"{_summary(entries)} in {_where(store)}")
    return EXIT_OK


def _clear(store: ResultStore, args: argparse.Namespace) -> int:
    from qibo_client.cli import output

    entries = _listed(store)
    if not entries:
        _note(f"No stored results in {_where(store)}.")
        return EXIT_OK
    if not args.yes and not _confirm(f"Remove {_summary(entries)} from {_where(store)}?"):
        _note("Nothing removed.")  # the user said no: that is an answer, not a failure
        return EXIT_OK
    removed = store.discard(entries)
    output.emit(f"Removed {_summary(removed)}")
    if len(removed) < len(entries):
        _note(f"{len(entries) - len(removed)} in use meanwhile were kept")
    return EXIT_OK


def _prune(store: ResultStore, args: argparse.Namespace) -> int:
    from qibo_client.cli import output

    if args.older_than is None and args.max_size is None:
        raise UsageError("cache prune needs --older-than DURATION, --max-size SIZE, or both")
    from qibo_client.ports.result_store import RECENT_USE_SECONDS

    _listed(store)  # a store that cannot list says so
    removed = store.prune(older_than=args.older_than, max_bytes=args.max_size)
    output.emit(f"Removed {_summary(removed)}")
    kept = _listed(store)
    now = time.time()
    recent = sum(1 for entry in kept if now - entry.last_used < RECENT_USE_SECONDS)
    spared = f" ({recent} used in the last minute, never pruned)" if recent else ""
    _note(f"Kept {_summary(kept)}{spared}")
    return EXIT_OK


def _confirm(question: str) -> bool:
    """True when the person at the terminal said yes."""
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(
            "refusing to clear the results without confirmation: input is not a terminal; "
            "pass --yes to clear them"
        )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
