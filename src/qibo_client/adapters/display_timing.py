"""When a progress display appears: only once a wait has lasted a moment.

A job that finishes within about a second should leave at most one line, so
the renderers reveal their live displays (and stage lines) late, from a timer.
Shared by the Rich, logging and notebook renderers.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable

#: Seconds a wait lasts before its live display (or its stage lines) appear.
SHOW_AFTER_SECONDS = 1.0
#: Seconds between two progress lines of a batch in a log.
LOG_EVERY_SECONDS = 5.0


def call_later(delay: float, action: Callable[[], object]) -> threading.Timer | None:
    """Run ``action`` once, ``delay`` seconds from now, on a daemon timer thread.

    With ``delay <= 0`` it runs at once, here, and ``None`` is returned. The
    action runs in a copy of the caller's context, so output made from the
    timer lands where the caller's would (in Jupyter: the running cell).
    ``action`` must itself check whether it is still wanted: cancelling the
    timer cannot stop an action that has already begun.
    """
    if delay <= 0:
        action()
        return None
    context = contextvars.copy_context()
    timer = threading.Timer(delay, context.run, args=(action,))
    timer.daemon = True
    timer.name = "qibo-client-display"
    timer.start()
    return timer
