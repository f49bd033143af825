"""qibo-client-backend: a qibo backend that runs circuits on a Qibo server.

qibo finds a backend it does not ship by importing the module its name maps
to (``-`` becomes ``_``) and calling that module's ``MetaBackend.load``::

    import qibo
    qibo.set_backend("qibo-client-backend")           # local:// unless told otherwise
    result = circuit(nshots=100)                      # runs on the server

Keyword arguments of :func:`qibo.set_backend` reach :meth:`MetaBackend.load`:
``url``, ``token``, ``profile``, ``device`` (or ``platform``), ``project``,
``verbose`` (``False`` by default: circuits run quietly), ``timeout``. The
server and token are otherwise found as the ``qibo-client`` command finds
them (``QIBO_CLIENT_URL``, ``QIBO_CLIENT_TOKEN``, then the saved profile),
defaulting to ``local://``; the device comes from ``QIBO_CLIENT_DEVICE``,
default ``numpy``.

Importing this package does not import qibo: the backend class is loaded
when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qibo_client_backend.backend import QiboClientBackend

#: The name to give :func:`qibo.set_backend`.
BACKEND_NAME = "qibo-client-backend"

__all__ = ["BACKEND_NAME", "MetaBackend", "QiboClientBackend"]


class MetaBackend:
    """What qibo's ``construct_backend`` looks for in a backend provider module."""

    @staticmethod
    def load(platform: str | None = None, **options: Any) -> QiboClientBackend:
        """A :class:`QiboClientBackend`; ``platform`` is another name for ``device``.

        qibo passes ``platform`` from ``QIBO_PLATFORM`` when the backend is
        chosen with ``QIBO_BACKEND=qibo-client-backend``.
        """
        from qibo_client_backend.backend import QiboClientBackend

        device = options.pop("device", None)
        if platform is not None and device is not None and platform != device:
            raise ValueError(
                f"platform={platform!r} and device={device!r} disagree; they name the same "
                "thing (the server device), give only one"
            )
        return QiboClientBackend(device=device or platform, **options)

    def list_available(self) -> dict[str, bool]:
        """The server's devices (by ``QIBO_CLIENT_URL``) and whether each is available.

        Empty when the server cannot be asked (no token, unreachable).
        """
        backend = None
        try:
            backend = MetaBackend.load()
            quotas = backend.client.transport.project_quotas()
        except Exception:  # qibo's own list_available_backends treats failure as absence
            return {}
        finally:
            if backend is not None:
                backend.close()
        return {q.partition.name: q.partition.status != "unavailable" for q in quotas}


def __getattr__(name: str) -> Any:
    if name == "QiboClientBackend":
        from qibo_client_backend.backend import QiboClientBackend

        return QiboClientBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
