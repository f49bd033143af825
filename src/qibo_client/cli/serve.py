"""``qibo-client serve``: run the local Qibo server over HTTP.

The command line of the server in :mod:`qibo_client.server`, which lives here,
in the command-line layer, so that the server never imports the CLI.
:func:`add_serve_arguments` and :func:`run_serve` are shared by the
``qibo-client`` command and ``python -m qibo_client.server`` (:func:`main`).
This module imports nothing heavy; FastAPI and uvicorn (the ``server`` extra)
are imported only when the server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from qibo_client.cli.main import positive_int
from qibo_client.cli.serve_users import TOKENS_ENV, parse_user, server_users

# The names the serve tests use.
_user, _users = parse_user, server_users

if TYPE_CHECKING:
    import uvicorn

    from qibo_client.server.config import ServerConfig

PROG = "qibo-client serve"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
#: Connection bounds (see ``qibo_client.server.connections``).
DEFAULT_REQUEST_TIMEOUT = 15.0
DEFAULT_MAX_CONNECTIONS = 512
DEFAULT_WAITING_PER_CLIENT = 32
#: Seconds held requests (long-polls) get to finish once a stop is asked for.
GRACEFUL_SECONDS = 3
_EXTRA_HINT = "pip install 'qibo-client[server]'"


def default_data_dir() -> Path:
    """``<user data dir>/qibo-client/server``, e.g. ``~/.local/share/qibo-client/server``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("qibo-client")) / "server"


def _device(text: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME:MAX_QUBITS``."""
    name, sep, qubits = text.partition(":")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: give a device name, e.g. numpy or numpy:20")
    if not sep:
        return name.strip(), None
    if not qubits.isdigit() or int(qubits) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the maximum number of qubits after ':' must be a whole number >= 1"
        )
    return name.strip(), int(qubits)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"give a number of seconds above 0, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535 (0: any free port), got {value}")
    return value


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to ``parser``."""
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on; 0 picks a free one (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder for jobs, results and the token (default: the user data folder, "
        "e.g. ~/.local/share/qibo-client/server)",
    )
    parser.add_argument(
        "--token",
        dest="token",
        action="append",
        type=parse_user,
        metavar="TOKEN[=EMAIL]",
        help="a user's API token, with its email; repeat for more users. Other users of "
        "this machine can read a command line (ps): prefer --token-file or "
        f"${TOKENS_ENV}. Without any, the token stored in DIR/token is used, or a new one "
        "is made, printed once and stored",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="read users' tokens from FILE, one TOKEN[=EMAIL] a line (# starts a comment); "
        "keep it readable by you alone",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes running circuits in parallel (default: 1)",
    )
    parser.add_argument(
        "--device",
        dest="devices",
        action="append",
        type=_device,
        metavar="NAME[:MAX_QUBITS]",
        help="a device to offer (numpy, qibojit), optionally with its maximum number of "
        "qubits; repeat for more (default: every simulator installed)",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=positive_int,
        default=DEFAULT_MAX_REQUEST_BYTES,
        metavar="N",
        help=f"largest request body accepted (default: {DEFAULT_MAX_REQUEST_BYTES})",
    )
    parser.add_argument(
        "--request-timeout",
        type=_seconds,
        default=DEFAULT_REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="a request (head and body) must arrive whole within this long, else 408 "
        f"(default: {DEFAULT_REQUEST_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=positive_int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="open connections in all; past it, new requests answer 503 "
        f"(default: {DEFAULT_MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--max-waiting-per-client",
        type=positive_int,
        default=DEFAULT_WAITING_PER_CLIENT,
        metavar="N",
        help="connections one address may keep open without a whole request; past it, its "
        f"oldest is closed (default: {DEFAULT_WAITING_PER_CLIENT})",
    )
    parser.add_argument(
        "--runner",
        metavar="MODULE:FUNCTION",
        help="run each job with this function instead of qibo's default run (for "
        "deployments and tests); it gets the task dict and returns a dict",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="server log level (default: info); logs show paths, never tokens",
    )


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _load_config(data_dir: Path, devices: list[tuple[str, int | None]] | None) -> ServerConfig:
    """``server.toml`` with the ``--device`` flags applied; only the named devices, if any."""
    from qibo_client.server.config import ServerConfig

    if not devices:
        return ServerConfig.load(data_dir)
    wanted = {
        name: ({"max_num_qubits": qubits} if qubits is not None else {}) for name, qubits in devices
    }
    config = ServerConfig.load(data_dir, {"devices": wanted})
    missing = [name for name in wanted if config.device(name) is None]
    if missing:
        raise ValueError(
            f"device(s) {', '.join(missing)}: the qibo backend is not installed here "
            f"(e.g. pip install {missing[0]})"
        )
    config.devices = [d for d in config.devices if d.name in wanted]
    config.aliases = {}  # a named alias (--device sim) was made a device of its own
    return config


def _allow_open_files(connections: int) -> None:
    """Raise the open-file limit (up to its hard limit) to fit ``connections`` and the rest."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    if os.name != "nt":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the server's own logger; the access log shows no headers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["qibo_client"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[int], None]) -> Iterator[None]:
    """Route SIGINT/SIGTERM to ``stop`` for the whole run (uvicorn's own handlers nest inside)."""
    signals = [signal.SIGINT, signal.SIGTERM]

    def handler(signum: int, frame: FrameType | None) -> None:
        stop(signum)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _stopping_server(app: Any, config: uvicorn.Config) -> uvicorn.Server:
    """A uvicorn server that, asked to stop, first lets held long-polls answer."""
    import uvicorn

    from qibo_client.server.app import release_held_requests

    class StoppingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            release_held_requests(app)
            super().handle_exit(sig, frame)

    return StoppingServer(config)


async def _serve(server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[], None]) -> None:
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        on_ready()
    await task


def run_serve(args: argparse.Namespace) -> int:
    """Run the server until SIGINT/SIGTERM; the exit status (2: bad flags or no ``server`` extra)."""
    if getattr(args, "serve_import_error", None):
        return _fail(f"{args.serve_import_error}; {_EXTRA_HINT}", 2)
    try:
        import uvicorn

        from qibo_client.server.app import create_app
        from qibo_client.server.connections import guarded_protocol
    except ImportError as error:
        return _fail(f"serving over HTTP needs the 'server' extra ({error}): {_EXTRA_HINT}", 2)
    from qibo_client.server.core import QiboServer

    data_dir = Path(args.data_dir or default_data_dir()).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        config = _load_config(data_dir, args.devices)
        users = server_users(args, data_dir)
    except ValueError as error:
        return _fail(str(error), 2)
    except OSError as error:
        return _fail(f"cannot use the data folder {data_dir}: {error}", 1)
    try:
        sock = _bind(args.host, args.port)
    except socket.gaierror as error:
        return _fail(f"cannot listen on {args.host!r}: no such address ({error.strerror})", 2)
    except OSError as error:
        return _fail(
            f"cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
            "is another server using it? Choose another --port (0 picks a free one)",
            1,
        )
    _allow_open_files(args.max_connections)
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    if not _is_loopback(host):
        print(
            f"{PROG}: warning: listening on {host}, beyond this machine; tokens and circuits "
            "travel unencrypted over HTTP: put a TLS proxy in front or use 127.0.0.1",
            file=sys.stderr,
        )
    core = QiboServer(
        data_dir, config=config, workers=args.workers, runner=getattr(args, "runner", None)
    )
    uv_server: uvicorn.Server | None = None
    stopping: list[int] = []

    def stop(signum: int) -> None:
        stopping.append(signum)
        if uv_server is not None:
            uv_server.should_exit = True

    def ready() -> None:
        print(f"Serving the Qibo protocol on {url} (data: {data_dir})", flush=True)

    with _stop_on_signals(stop), contextlib.closing(sock):
        try:
            for token, email in users:
                core.add_user(token, email)
            core.start()
            app = create_app(core, max_request_bytes=args.max_request_bytes)
            uv_server = _stopping_server(
                app,
                uvicorn.Config(
                    app,
                    log_config=_log_config(args.log_level),
                    log_level=args.log_level,
                    timeout_graceful_shutdown=GRACEFUL_SECONDS,
                    lifespan="off",
                    ws="none",
                    http=guarded_protocol(
                        request_timeout=args.request_timeout,
                        per_client=args.max_waiting_per_client,
                        total=args.max_connections,
                    ),
                    limit_concurrency=args.max_connections,
                ),
            )
            if not stopping:
                asyncio.run(_serve(uv_server, sock, ready))
        finally:
            core.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m qibo_client.server``: parse ``argv`` and serve; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m qibo_client.server",
        description="Run a local Qibo server over HTTP: it runs circuits on qibo's simulators "
        "and speaks the Qibo cloud's protocol.",
    )
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
