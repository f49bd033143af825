"""Credentials and saved profiles: which server to talk to, and with which token.

A token and a URL are looked up in this order: the value given (``--token``,
``--url``), the environment (``QIBO_CLIENT_TOKEN``, ``QIBO_CLIENT_URL``), the
profile (``--profile``, else ``QIBO_CLIENT_PROFILE``, else ``default``) in
``profiles.toml`` under the user's config folder. With no URL anywhere, the
embedded local server is used, with its data under the user's data folder so
that jobs outlive one command.

``profiles.toml`` holds secrets: it is created readable by its owner only
(mode 0600, in a 0700 folder) and replaced atomically, so a crash never leaves
half a file. Nothing here prints, logs or puts a token in a ``repr``.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from qibo_client.exceptions import ConfigurationError

TOKEN_ENV = "QIBO_CLIENT_TOKEN"
URL_ENV = "QIBO_CLIENT_URL"
PROFILE_ENV = "QIBO_CLIENT_PROFILE"
DEFAULT_PROFILE = "default"
APP_NAME = "qibo-client"
PROFILES_FILE = "profiles.toml"

#: URL schemes whose servers do not check tokens (the embedded server is the user's own).
TOKENLESS_SCHEMES = frozenset({"local"})

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class InsecureProfilesWarning(UserWarning):
    """``profiles.toml`` can be read by users other than its owner."""


@dataclass(frozen=True)
class Credentials:
    """The server URL and token to use, and where each came from.

    ``token`` is ``""`` when none was found (fine for ``local://``, see
    :meth:`ensure_token`); ``embedded`` is True when no URL was configured and
    :attr:`url` is the embedded local server's default.
    """

    url: str
    token: str = field(repr=False)
    profile: str
    url_source: str
    token_source: str | None = None
    embedded: bool = False

    def __repr__(self) -> str:
        shown = "'***'" if self.token else "''"
        return (
            f"Credentials(url={self.url!r}, token={shown}, profile={self.profile!r}, "
            f"url_source={self.url_source!r}, token_source={self.token_source!r})"
        )

    @property
    def token_required(self) -> bool:
        """True unless the URL's server accepts any token (``local://``)."""
        return urlsplit(self.url).scheme.lower() not in TOKENLESS_SCHEMES

    def ensure_token(self) -> Credentials:
        """``self``, or a :class:`ConfigurationError` when the server needs a token and none was found."""
        if self.token or not self.token_required:
            return self
        raise ConfigurationError(
            f"no token for {self.url} (from {self.url_source}): pass --token, set "
            f"{TOKEN_ENV}, or save one with 'qibo-client login --url {self.url} "
            f"--profile {self.profile}'"
        )


def profiles_path() -> Path:
    """Where the profiles are kept: ``<user config dir>/qibo-client/profiles.toml``."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / PROFILES_FILE


def default_local_url() -> str:
    """The embedded server's URL when nothing is configured: a folder in the user's data dir."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir(APP_NAME)) / "local-server"
    posix = folder.resolve().as_posix()
    return "local://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:~")


def local_url_folder(url: str) -> str:
    """The folder a ``local:///folder`` URL names, for messages."""
    from urllib.parse import unquote

    return unquote(urlsplit(url).path)


def check_profile_name(name: str) -> str:
    """``name`` if it can name a profile (letters, digits, ``.``, ``_``, ``-``), else raise."""
    if not isinstance(name, str) or not _PROFILE_NAME.match(name):
        raise ConfigurationError(
            f"{name!r} cannot name a profile: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _warn_if_exposed(path: Path) -> None:
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.warn(
            f"{path} holds tokens but other users can read it (mode {mode:04o}); "
            f"run: chmod 600 {path}",
            InsecureProfilesWarning,
            stacklevel=3,
        )


def load_profiles() -> dict[str, dict[str, str]]:
    """Every saved profile: ``{name: {"url": ..., "token": ...}}`` (empty when there is no file).

    Raises :class:`ConfigurationError` naming the file when it is not valid TOML
    or not shaped as ``[profiles.NAME]`` tables of strings. Warns
    (:class:`InsecureProfilesWarning`) when other users can read it.
    """
    import tomllib

    path = profiles_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror or error}") from None
    _warn_if_exposed(path)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"{path} is not valid TOML ({error}); fix it, or delete it and run 'qibo-client login'"
        ) from None
    return _read_profiles(data, path)


def _read_profiles(data: dict[str, Any], path: Path) -> dict[str, dict[str, str]]:
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigurationError(f"{path}: 'profiles' must be a table of [profiles.NAME] tables")
    result: dict[str, dict[str, str]] = {}
    for name, entry in profiles.items():
        if not isinstance(entry, dict):
            raise ConfigurationError(
                f"{path}: [profiles.{name}] must be a table with url and token"
            )
        for key, value in entry.items():
            if key in ("url", "token") and not isinstance(value, str):
                raise ConfigurationError(f"{path}: [profiles.{name}] {key} must be a string")
        result[name] = {k: v for k, v in entry.items() if k in ("url", "token")}
    return result


def save_profile(name: str, url: str, token: str) -> Path:
    """Save (or replace) profile ``name`` with ``url`` and ``token``; returns the file's path.

    The file is written with mode 0600 (its folder 0700 when created) through a
    temporary file and ``os.replace``, so readers see the old or the new file,
    never a mix. An empty ``token`` is left out of the file.
    """
    import tomli_w

    check_profile_name(name)
    if not isinstance(url, str) or not urlsplit(url.strip()).scheme:
        raise ConfigurationError(
            f"profile {name!r}: the URL must include a scheme, e.g. 'https://cloud.qibo.science' "
            f"or 'local:///path/to/folder', got {url!r}"
        )
    if not isinstance(token, str):
        raise ConfigurationError(f"profile {name!r}: the token must be a string")
    path = profiles_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the file is rewritten 0600 below; no need to warn
        warnings.simplefilter("ignore", InsecureProfilesWarning)
        profiles = load_profiles()
    entry = {"url": url.strip()}
    if token:
        entry["token"] = token
    profiles[name] = entry
    _write_atomically(path, tomli_w.dumps({"profiles": profiles}).encode("utf-8"))
    return path


def _write_atomically(path: Path, content: bytes) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # before a single byte of secret is written
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def resolve_credentials(
    token: str | None = None, url: str | None = None, profile: str | None = None
) -> Credentials:
    """The URL and token to use: given values, then the environment, then the profile.

    ``profile`` (else ``$QIBO_CLIENT_PROFILE``, else ``default``) names the
    saved profile; naming one that does not exist is a
    :class:`ConfigurationError`, while a missing ``default`` is not. With no URL
    anywhere, the embedded local server's default URL is used
    (``Credentials.embedded``). A missing token is not an error here: call
    :meth:`Credentials.ensure_token` when the server needs one.
    """
    named = profile or os.environ.get(PROFILE_ENV) or None
    name = check_profile_name(named or DEFAULT_PROFILE)
    profiles = load_profiles()
    if named and name not in profiles:
        known = ", ".join(sorted(profiles)) or "none saved yet"
        raise ConfigurationError(
            f"no profile named {name!r} in {profiles_path()} (profiles: {known}); "
            f"create it with 'qibo-client login --url URL --profile {name}'"
        )
    saved = profiles.get(name, {})
    where = f"profile {name!r}"

    chosen_url, url_source = _first(
        (url, "--url"), (os.environ.get(URL_ENV), f"${URL_ENV}"), (saved.get("url"), where)
    )
    embedded = chosen_url is None
    if chosen_url is None:
        chosen_url, url_source = default_local_url(), "the embedded local server"
    chosen_token, token_source = _first(
        (token, "--token"),
        (os.environ.get(TOKEN_ENV), f"${TOKEN_ENV}"),
        (saved.get("token"), where),
    )
    return Credentials(
        url=chosen_url,
        token=chosen_token or "",
        profile=name,
        url_source=url_source or "",
        token_source=token_source,
        embedded=embedded,
    )


def _first(*candidates: tuple[str | None, str]) -> tuple[str | None, str | None]:
    """The first non-blank value and its source."""
    for value, source in candidates:
        if value is not None and value.strip():
            return value.strip(), source
    return None, None
