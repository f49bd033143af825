"""``python -m qibo_client.server``: the same as ``qibo-client serve``.

A launcher run by ``python -m``, never imported by the server itself: the
command line lives in :mod:`qibo_client.cli.serve`. It is the one import from
the server package up into the CLI, allowed by name in the import rules
(``[tool.importlinter]`` in ``pyproject.toml``).
"""

from __future__ import annotations

import sys

from qibo_client.cli.serve import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
