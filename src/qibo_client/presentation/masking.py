"""The user's token kept out of what is shown, whatever a server echoes back.

A hostile or careless server may put the token it was sent into any field of
its answers (a user's email, a project name, a log). Where the token is known
(``Client.token``), records are masked with :func:`masked` before a renderer
sees them, so no renderer, built-in or third-party, can print it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

#: What a masked token reads as.
MASK = "***"
#: Secrets shorter than this are not masked: masking "ab" would garble every table.
MIN_SECRET_LENGTH = 4

T = TypeVar("T")


def mask_secret(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by :data:`MASK`."""
    if not secret or len(secret) < MIN_SECRET_LENGTH or secret not in text:
        return text
    return text.replace(secret, MASK)


def masked(value: T, secret: str | None) -> T:
    """A copy of ``value`` with ``secret`` masked in every string it holds.

    Walks records (dataclasses), mappings (keys too), lists and tuples, as the
    protocol's records and their ``raw`` JSON are made of; anything else is
    kept as it is. What holds no secret is returned unchanged, not copied.
    """
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return value
    return _masked(value, secret)


def _masked(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return mask_secret(value, secret)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            if not field.init:
                continue
            old = getattr(value, field.name)
            new = _masked(old, secret)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, Mapping):
        pairs = [
            (key, item, _masked(key, secret), _masked(item, secret)) for key, item in value.items()
        ]
        if all(new_key is key and new is item for key, item, new_key, new in pairs):
            return value
        return {new_key: new for _, _, new_key, new in pairs}
    if type(value) in (list, tuple):
        copied = [_masked(item, secret) for item in value]
        if all(new is old for new, old in zip(copied, value, strict=True)):
            return value
        return type(value)(copied)
    return value
