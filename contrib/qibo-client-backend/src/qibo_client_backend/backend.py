"""QiboClientBackend: qibo's numpy backend, except that circuits run on a Qibo server."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from qibo.backends import NumpyBackend
from qibo_client import Client

DEVICE_ENV = "QIBO_CLIENT_DEVICE"
#: Where circuits go when no URL is given, set or saved: the embedded server, temporary.
DEFAULT_URL = "local://"
DEFAULT_DEVICE = "numpy"


def resolve_server(url: str | None, token: str | None, profile: str | None) -> tuple[str, str]:
    """The URL and token to use, looked up as the ``qibo-client`` command does.

    The given values, then ``QIBO_CLIENT_URL``/``QIBO_CLIENT_TOKEN``, then the
    saved profile (``profile``, else ``QIBO_CLIENT_PROFILE``, else ``default``);
    with no URL anywhere, :data:`DEFAULT_URL`. Only ``local://`` needs no token.
    """
    from qibo_client.credentials import TOKEN_ENV, resolve_credentials

    found = resolve_credentials(token=token, url=url, profile=profile)
    if found.embedded:
        return DEFAULT_URL, found.token
    if not found.token and found.token_required:
        raise ValueError(
            f"no token for {found.url} (from {found.url_source}): pass "
            f"qibo.set_backend('qibo-client-backend', token=...), set {TOKEN_ENV}, "
            f"or save one with 'qibo-client login --url {found.url}'"
        )
    return found.url, found.token


class QiboClientBackend(NumpyBackend):
    """Sends each circuit to a Qibo server with :class:`qibo_client.Client`.

    Results come back as qibo's own result objects; anything qibo computes
    from them afterwards (frequencies, probabilities) runs locally on numpy,
    which is why this class extends :class:`~qibo.backends.NumpyBackend`.
    Quiet by default, as qibo's own backends are: ``verbose=True`` shows each
    job's progress (and one bar for ``execute_circuits``).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        device: str | None = None,
        project: str = "personal",
        *,
        verbose: bool = False,
        timeout: float | None = None,
        verbatim: bool = False,
        profile: str | None = None,
        client: Client | None = None,
    ) -> None:
        super().__init__()
        if client is not None:
            self.url, self._token = client.base_url, ""
        else:
            self.url, self._token = resolve_server(url, token, profile)
        self.name = "qibo-client-backend"
        #: The server device the circuits run on (qibo shows it as the platform).
        self.platform = device or os.environ.get(DEVICE_ENV) or DEFAULT_DEVICE
        self.project = project
        self.verbose = verbose
        self.timeout = timeout
        self.verbatim = verbatim
        self._client = client
        self.versions["qibo-client"] = _client_version()

    @property
    def client(self) -> Client:
        """The client jobs are sent with, made on first use (``local://`` starts a server)."""
        if self._client is None:
            self._client = Client(self._token, self.url)
        return self._client

    def close(self) -> None:
        """Release the client's connections (and an embedded server's workers)."""
        if self._client is not None:
            self._client.close()

    def _submit(self, circuit: Any, nshots: int | None) -> Any:
        return self.client.run_circuit(
            circuit, self.platform, self.project, nshots=nshots, verbatim=self.verbatim
        )

    def _collect(self, job: Any, *, verbose: bool | None = None) -> Any:
        shown = self.verbose if verbose is None else verbose
        result = job.result(verbose=shown, timeout=self.timeout)
        if result is None:
            raise RuntimeError(
                f"job {job.pid} on {self.url} (device {self.platform!r}) ended without a "
                f"result; the server's logs for it are in {job.results_folder}"
            )
        return result

    @staticmethod
    def _refuse_initial_state(initial_state: Any) -> None:
        if initial_state is not None:
            raise ValueError(
                "a Qibo server always starts circuits from |0...0>: build the initial state "
                "with gates at the start of the circuit instead of passing initial_state"
            )

    def execute_circuit(
        self, circuit: Any, initial_state: Any = None, nshots: int | None = 1000
    ) -> Any:
        """Run ``circuit`` on the server and return qibo's result object.

        Raises ``ValueError`` for an ``initial_state`` (the protocol has none),
        :class:`~qibo_client.exceptions.JobTimeoutError` past ``timeout``, and
        ``RuntimeError`` when the job ends in error.
        """
        self._refuse_initial_state(initial_state)
        return self._collect(self._submit(circuit, nshots))

    def execute_circuits(
        self,
        circuits: Sequence[Any],
        initial_states: Any = None,
        nshots: int | None = None,
        processes: int | None = None,
    ) -> list[Any]:
        """Submit every circuit, then wait for all of them with one job-list request per round."""
        self._refuse_initial_state(initial_states)
        jobs = [self._submit(circuit, nshots) for circuit in circuits]
        self.client.wait_all(jobs, timeout=self.timeout, verbose=self.verbose)
        return [self._collect(job, verbose=False) for job in jobs]


def _client_version() -> str:
    import qibo_client

    return qibo_client.__version__
