"""The ``qibo-client`` console script: parse the command line, run one command, exit cleanly.

Start-up stays fast: this module imports only the standard library, and a
command's code (with qibo, requests or rich) is imported when that command
runs. Every error becomes one line on stderr (``--debug`` adds the traceback).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from qibo_client.cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    OutputClosed,
    describe,
)

PROG = "qibo-client"

STATUSES = ("queueing", "pending", "running", "postprocessing", "success", "error")

#: How many outcomes ``run`` and ``result`` list before they sum up the rest.
TOP_OUTCOMES = 16

#: Global options that take a value (used to find the command word before parsing).
_VALUE_OPTIONS = frozenset({"--url", "--token", "--profile", "--ui"})


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def top_outcomes(text: str) -> int | None:
    """An argparse type: how many outcomes to list, a whole number >= 1 or ``all`` (``None``)."""
    if text.strip().lower() == "all":
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of outcomes: give a whole number >= 1, or 'all'"
        ) from None


def _global_options(*, client: bool = True) -> argparse.ArgumentParser:
    """The options every command takes; absent ones stay unset so either position works.

    ``client=False`` gives only ``--debug``: for ``serve``, which is a server, not a
    client, and has a repeatable ``--token`` of its own.
    """
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    if not client:
        parent.add_argument("--debug", action="store_true", help="show tracebacks of errors")
        return parent
    group = parent.add_argument_group("server and display")
    group.add_argument(
        "--url",
        help="server URL, e.g. https://cloud.qibo.science or local:///folder "
        "(default: $QIBO_CLIENT_URL, the profile's URL, else the embedded local server)",
    )
    group.add_argument(
        "--token",
        help="API token (default: $QIBO_CLIENT_TOKEN, else the profile's); "
        "prefer those: a token on the command line is visible to other local users",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="saved profile to use (default: $QIBO_CLIENT_PROFILE, else 'default')",
    )
    group.add_argument(
        "--ui",
        metavar="NAME",
        help="renderer for progress and messages: rich, logging, or any registered one "
        "(see 'qibo-client plugins'; default: $QIBO_CLIENT_UI, else detected)",
    )
    group.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return parent


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="stop waiting after this long (the job stays on the server)",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="folder to store results in (default: $RESULTS_BASE_FOLDER or the user cache)",
    )
    parser.add_argument(
        "--top",
        type=top_outcomes,
        default=TOP_OUTCOMES,
        metavar="N",
        help=f"list the N most frequent outcomes and sum up the rest (default: {TOP_OUTCOMES}; "
        "'all' lists every one; --json always gives every one)",
    )
    _add_json(parser, "the result")


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="a .py defining `circuit`, a .json of circuit.raw, or a .qasm"
    )
    parser.add_argument("--device", default="numpy", help="device to run on (default: numpy)")
    parser.add_argument("--nshots", type=positive_int, help="number of shots")
    parser.add_argument("--project", default="personal", help="project (default: personal)")
    parser.add_argument(
        "--verbatim", action="store_true", help="run the circuit as written, without transpiling"
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="print the job id and return without waiting"
    )
    _add_wait_options(parser)


def _jobs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=STATUSES, help="only jobs in this status")
    parser.add_argument("--device", help="only jobs on this device")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="at most N jobs")
    _add_json(parser, "one JSON object per line")


def _job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pid", metavar="PID", help="the job's id")
    _add_json(parser, "the job")


def _result_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pid", metavar="PID", help="the job's id")
    _add_wait_options(parser)


def _delete_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pid", metavar="PID", nargs="?", help="the job to delete")
    parser.add_argument("--all", action="store_true", help="delete every job of this account")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask before --all")
    parser.add_argument(
        "--keep-local",
        action="store_true",
        help="keep the result stored on this machine (by default it goes with the job)",
    )


def _cache_arguments(parser: argparse.ArgumentParser) -> None:
    importlib.import_module("qibo_client.cli.cache").add_cache_arguments(parser)


def _json_only(what: str) -> Callable[[argparse.ArgumentParser], None]:
    return lambda parser: _add_json(parser, what)


def _login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-verify", action="store_true", help="save without asking the server first"
    )


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        serve_command = importlib.import_module("qibo_client.cli.serve")
    except ImportError as error:
        parser.set_defaults(serve_import_error=str(error))
        return
    serve_command.add_serve_arguments(parser)


#: name -> (summary, argument builder, "module:function" run lazily)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {
    "run": ("submit a circuit file and print its result", _run_arguments, "commands:run"),
    "jobs": ("list your jobs", _jobs_arguments, "commands:jobs"),
    "job": ("show one job", _job_arguments, "commands:job"),
    "result": ("download and print a job's result", _result_arguments, "commands:result"),
    "delete": ("delete a job, or all jobs", _delete_arguments, "commands:delete"),
    "quota": ("show your disk and project quotas", _json_only("the quotas"), "commands:quota"),
    "cache": (
        "list, clear or prune the results stored on this machine",
        _cache_arguments,
        "cache:cache",
    ),
    "serve": ("run a Qibo server over HTTP", _serve_arguments, "commands:serve"),
    "plugins": (
        "list transports, stores and renderers",
        _json_only("one JSON object per line"),
        "commands:plugins",
    ),
    "login": ("check a token and save it in a profile", _login_arguments, "account:login"),
    "version": (
        "show client, qibo and server versions",
        _json_only("the versions"),
        "commands:version",
    ),
}


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (skipping global options and their values)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--":
            return None
        elif token in _VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-"):
            return token
    return None


class CommandLineParser(argparse.ArgumentParser):
    """An argument parser that answers an unknown option with the closest known one.

    Python 3.11's argparse has no ``suggest_on_error``; :meth:`parse_command_line`
    adds ``(did you mean --nshots?)`` to its "unrecognized arguments" error, said
    by the chosen command's parser so its usage line is the one shown.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def parse_command_line(self, args: Sequence[str]) -> argparse.Namespace:
        """``parse_args``, with a close match named for an unknown option."""
        parsed, unknown = self.parse_known_args(args)
        if unknown:
            said_by = self.commands.get(getattr(parsed, "command", None) or "", self)
            said_by.error(f"unrecognized arguments: {' '.join(unknown)}{_hint(unknown, said_by)}")
        return parsed


def _hint(unknown: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """`` (did you mean --nshots?)`` for the first unknown option close to a known one."""
    known = [
        option
        for action in parser._actions  # argparse keeps its options nowhere public
        for option in action.option_strings
        if option.startswith("--")
    ]
    for word in unknown:
        if not word.startswith("--"):
            continue
        close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]}?)"
    return ""


def build_parser(argv: Sequence[str] = ()) -> CommandLineParser:
    """The argument parser; a command's own arguments are built only when it is chosen."""
    common = _global_options()
    server_only = _global_options(client=False)
    parser = CommandLineParser(
        prog=PROG,
        description="Send Qibo circuits to a Qibo server, follow the jobs, get the results.",
        epilog="Exit status: 0 done, 1 job failed or server refused, 2 usage error. "
        "'qibo-client COMMAND --help' shows a command's options.",
        parents=[common],
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=argparse.ArgumentParser
    )
    chosen = _command_word(argv)
    for name, (summary, add_arguments, handler) in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            parents=[server_only if name == "serve" else common],
        )
        sub.set_defaults(handler=handler)
        parser.commands[name] = sub
        if name == chosen:
            add_arguments(sub)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _handler(spec: str) -> Callable[[argparse.Namespace], int]:
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(f"qibo_client.cli.{module}"), function)


def _interrupted(args: argparse.Namespace | None) -> int:
    """The one line Ctrl-C gets: what was left running and how to pick it up."""
    pid = getattr(args, "pending_pid", None)
    resume = f"; job {pid} is still on the server: qibo-client result {pid}" if pid else ""
    start = "\n" if sys.stderr.isatty() else ""  # past the ^C the terminal echoed
    print(f"{start}{PROG}: interrupted{resume}", file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def _stdout_gone() -> int:
    """Stdout's reader left (``| head -1``): what it read is all it wanted, so exit 0.

    Stdout is pointed at the null device, so Python's last flush at exit finds
    no broken pipe to complain about.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (AttributeError, OSError, ValueError):  # a stdout without a file (tests capture it)
        pass
    return EXIT_OK


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; errors become one line on stderr and an exit status."""
    debug = getattr(args, "debug", False)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return _handler(args.handler)(args)
    except KeyboardInterrupt:
        return _interrupted(args)
    except OutputClosed:
        return _stdout_gone()
    except Exception as error:
        code, message = describe(error)
        if debug:
            traceback.print_exception(error, file=sys.stderr)
            message = message.replace(" (run again with --debug to see the traceback)", "")
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``qibo-client``; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        parser = build_parser(arguments)
        try:
            args = parser.parse_command_line(arguments)
        except SystemExit as stop:  # --help, or a usage error argparse already printed
            code = stop.code
            return code if isinstance(code, int) else (EXIT_USAGE if code else 0)
        return run_command(args)
    except KeyboardInterrupt:  # before a command ran, or while it was being imported
        return _interrupted(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
