"""Which versions fit together: this package, the local qibo, and what a server accepts.

Shared by the blocking and the asyncio clients, and free of I/O but for
reading installed packages' metadata.
"""

from __future__ import annotations

import functools
import importlib.metadata

from packaging.version import InvalidVersion, Version

from qibo_client.domain.records import ServerVersion


@functools.cache
def client_version() -> str:
    """This package's version (``0+unknown`` in a bare source tree); read once per process."""
    try:
        return importlib.metadata.version("qibo-client")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@functools.cache
def local_qibo_version() -> str:
    """The installed qibo's version, read from its metadata (importing qibo takes seconds)."""
    try:
        return importlib.metadata.version("qibo")
    except importlib.metadata.PackageNotFoundError:
        import qibo

        return str(qibo.__version__)


def check_client_package(minimum_text: str) -> None:
    """Raise ``RuntimeError`` when this package is older than the server's minimum client."""
    try:
        ours, minimum = Version(client_version()), Version(minimum_text)
    except InvalidVersion:
        return  # a source tree, or a minimum we cannot read: let the server decide
    if ours < minimum:
        raise RuntimeError(
            f"The server requires qibo-client>={minimum}, but this is qibo-client {ours}: "
            "please upgrade qibo-client"
        )


def versions_verdict(versions: ServerVersion, local_qibo: str) -> str | None:
    """Judge a server's version answer against this client and its qibo.

    Raises ``RuntimeError`` when this package or the local qibo is older than
    the server accepts; returns a warning to show when the local qibo is only
    older than the server's own, else ``None``.
    """
    if versions.minimum_client_version is not None:
        check_client_package(versions.minimum_client_version)
    try:
        local_v = Version(local_qibo)
        minimum = Version(versions.minimum_client_qibo_version)
        server = Version(versions.server_qibo_version)
    except InvalidVersion as error:
        raise RuntimeError(f"cannot compare qibo versions: {error}") from None
    if local_v < minimum:
        raise RuntimeError(
            f"The qibo-client requires qibo>={minimum}, but local version is {local_v}"
        )
    if local_v < server:
        return f"Local Qibo version ({local_v}) is older than server ({server}). Please upgrade."
    return None
