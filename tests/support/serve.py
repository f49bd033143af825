"""Loopback ``serve`` for tests: now part of the public testing kit, re-exported here."""

from __future__ import annotations

from qibo_client.testing.serve import (
    READY,
    START_TIMEOUT,
    TOKEN1,
    TOKEN2,
    USERS,
    ServeProcess,
    reap_group,
    serve,
    start_serve,
)

__all__ = [
    "READY",
    "START_TIMEOUT",
    "TOKEN1",
    "TOKEN2",
    "USERS",
    "ServeProcess",
    "reap_group",
    "serve",
    "start_serve",
]
