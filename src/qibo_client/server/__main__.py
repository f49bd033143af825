"""``python -m qibo_client.server``: the same as ``qibo-client serve``."""

from __future__ import annotations

import argparse
import sys

from qibo_client.server.cli import add_serve_arguments, run_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qibo_client.server",
        description="Run a local Qibo server over HTTP: it runs circuits on qibo's simulators "
        "and speaks the Qibo cloud's protocol.",
    )
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
