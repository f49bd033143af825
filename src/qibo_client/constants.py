"""The published client's settings, as ``qibo_client.constants`` exposes them.

Code written for qibo-client 0.2.x reads these names; they keep their
meaning. Each is read from the environment when this module is first
imported, as in 0.2.x. One difference on purpose: ``RESULTS_BASE_FOLDER``
defaults to the user's own cache folder, not a ``/tmp`` folder every local
user can write to (see ``docs/migrating.md``).
"""

from __future__ import annotations

import os
from pathlib import Path


def _results_base_folder() -> Path:
    configured = os.environ.get("RESULTS_BASE_FOLDER")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("qibo-client")) / "results"


def _seconds_between_checks() -> float:
    text = os.environ.get("SECONDS_BETWEEN_CHECKS", "").strip()
    try:
        return float(text) if text else 2.0
    except ValueError:
        return 2.0


#: Where job results are stored: ``$RESULTS_BASE_FOLDER``, else the user cache folder.
RESULTS_BASE_FOLDER: Path = _results_base_folder()
#: Seconds between status checks for ``result(wait=None)``: ``$SECONDS_BETWEEN_CHECKS``, else 2.
SECONDS_BETWEEN_CHECKS: float = _seconds_between_checks()
#: Seconds a single API request may take (the read timeout of ``QiboApiRequest``).
TIMEOUT = 60
