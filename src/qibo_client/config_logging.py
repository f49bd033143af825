"""The published client's logger, as ``qibo_client.config_logging.logger``.

Our plain renderer logs through this same logger (``qibo_client``), so code
that adjusts it (``logger.setLevel(...)``, a handler) adjusts what the client
prints. ``$QIBO_CLIENT_LOGGER_LEVEL``, when set, sets its level, as in 0.2.x;
unlike 0.2.x, importing this module configures no root logging.
"""

from __future__ import annotations

import logging
import os

#: The client's logger; the plain renderer writes every line through it.
logger = logging.getLogger("qibo_client")

if os.environ.get("QIBO_CLIENT_LOGGER_LEVEL", "").strip():
    from qibo_client.adapters.logging_renderer import level_from_env

    logger.setLevel(level_from_env())
