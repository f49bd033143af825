"""The published client's request helpers, as ``qibo_client.utils`` exposes them.

Code written for qibo-client 0.2.x (and tools built on it) calls
``QiboApiRequest.get(url, headers=..., timeout=...).json()`` and
``check_json_response_has_keys``; both keep their meaning, over our HTTP error
handling: a non-2xx answer or a network failure raises
:class:`~qibo_client.exceptions.QiboApiError` with the server's own message,
the token masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from qibo_client.adapters import http_support as support
from qibo_client.constants import TIMEOUT
from qibo_client.exceptions import MalformedResponseError
from qibo_client.protocol.wire import TOKEN_HEADER

__all__ = ["QiboApiRequest", "check_json_response_has_keys"]


def check_json_response_has_keys(response_json: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Raise :class:`MalformedResponseError` naming the ``keys`` missing from ``response_json``."""
    if not isinstance(response_json, Mapping):
        raise MalformedResponseError(
            f"The server response is not a JSON object: {type(response_json).__name__}"
        )
    missing = [key for key in keys if key not in response_json]
    if missing:
        raise MalformedResponseError(
            f"The server response is missing the following keys: {' '.join(missing)}"
        )


def _send(
    method: str,
    function: Callable[..., requests.Response],
    endpoint: str,
    keys_to_check: Sequence[str] | None,
    headers: Mapping[str, str] | None,
    timeout: float | None,
    **kwargs: Any,
) -> requests.Response:
    token = (headers or {}).get(TOKEN_HEADER, "")
    try:
        response = function(
            endpoint, headers=dict(headers or {}), timeout=timeout or TIMEOUT, **kwargs
        )
    except requests.RequestException as error:
        raise support.network_error(method, endpoint, error, 1, token) from error
    if not response.ok:
        raise support.api_error(response, method, endpoint, token)
    if keys_to_check is not None:
        try:
            data = response.json()
        except ValueError:
            raise support.not_json(response, method, endpoint, token) from None
        check_json_response_has_keys(data, keys_to_check)
    return response


class QiboApiRequest:
    """One HTTP request to a Qibo server, raising our errors (the 0.2.x helper)."""

    @staticmethod
    def get(
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        keys_to_check: Sequence[str] | None = None,
    ) -> requests.Response:
        """GET ``endpoint`` (a full URL); the answer, or :class:`QiboApiError`."""
        return _send("GET", requests.get, endpoint, keys_to_check, headers, timeout, params=params)

    @staticmethod
    def post(
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
        keys_to_check: Sequence[str] | None = None,
    ) -> requests.Response:
        """POST ``json`` to ``endpoint``; the answer, or :class:`QiboApiError` (never retried)."""
        return _send("POST", requests.post, endpoint, keys_to_check, headers, timeout, json=json)

    @staticmethod
    def delete(
        endpoint: str,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        keys_to_check: Sequence[str] | None = None,
    ) -> requests.Response:
        """DELETE ``endpoint``; the answer, or :class:`QiboApiError`."""
        return _send("DELETE", requests.delete, endpoint, keys_to_check, headers, timeout)
