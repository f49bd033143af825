"""Credentials: where the URL and token come from, and how profiles are kept on disk."""

from __future__ import annotations

import os
import stat
import tomllib

import pytest

from qibo_client.credentials import (
    Credentials,
    InsecureProfilesWarning,
    default_local_url,
    load_profiles,
    local_url_folder,
    profiles_path,
    resolve_credentials,
    save_profile,
)
from qibo_client.exceptions import ConfigurationError


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def saved():
    save_profile("default", "https://default.example.org", "default-token")
    save_profile("lab", "https://lab.example.org", "lab-token")


# -- where values come from ---------------------------------------------------------------


def test_nothing_configured_means_the_embedded_server_in_the_user_data_folder(
    _isolated_user_state,
):
    found = resolve_credentials()
    folder = _isolated_user_state / "data" / "qibo-client" / "local-server"
    assert found.embedded and found.url == f"local://{folder}"
    assert found.url == default_local_url() and local_url_folder(found.url) == str(folder)
    assert found.token == "" and found.token_source is None and found.profile == "default"
    assert not found.token_required
    assert found.ensure_token() is found


def test_the_default_local_url_names_that_folder_to_the_local_transport(tmp_path, monkeypatch):
    from qibo_client.adapters.local_transport import _data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "with space"))
    folder, _ = _data_dir(default_local_url())
    assert folder == tmp_path / "with space" / "qibo-client" / "local-server"


def test_profile_values_are_used_when_nothing_else_is_given(saved):
    found = resolve_credentials()
    assert (found.url, found.token) == ("https://default.example.org", "default-token")
    assert found.url_source == found.token_source == "profile 'default'"
    assert not found.embedded


def test_environment_beats_the_profile_and_arguments_beat_both(saved, monkeypatch):
    monkeypatch.setenv("QIBO_CLIENT_URL", "https://env.example.org")
    monkeypatch.setenv("QIBO_CLIENT_TOKEN", "env-token")
    found = resolve_credentials()
    assert (found.url, found.token) == ("https://env.example.org", "env-token")
    assert (found.url_source, found.token_source) == ("$QIBO_CLIENT_URL", "$QIBO_CLIENT_TOKEN")

    given = resolve_credentials(token="arg-token", url="https://arg.example.org")
    assert (given.url, given.token) == ("https://arg.example.org", "arg-token")
    assert (given.url_source, given.token_source) == ("--url", "--token")


def test_each_value_falls_back_on_its_own(saved, monkeypatch):
    monkeypatch.setenv("QIBO_CLIENT_TOKEN", "env-token")
    found = resolve_credentials(url="https://arg.example.org")
    assert found.url == "https://arg.example.org" and found.token == "env-token"


def test_the_profile_is_chosen_by_argument_then_environment(saved, monkeypatch):
    monkeypatch.setenv("QIBO_CLIENT_PROFILE", "lab")
    assert resolve_credentials().token == "lab-token"
    assert resolve_credentials(profile="default").token == "default-token"


def test_blank_values_count_as_not_given(saved, monkeypatch):
    monkeypatch.setenv("QIBO_CLIENT_TOKEN", "  ")
    found = resolve_credentials(url="")
    assert found.url == "https://default.example.org" and found.token == "default-token"


def test_naming_a_profile_that_does_not_exist_is_an_error(saved, monkeypatch):
    with pytest.raises(ConfigurationError, match=r"no profile named 'nowhere'.*default, lab"):
        resolve_credentials(profile="nowhere")
    monkeypatch.setenv("QIBO_CLIENT_PROFILE", "elsewhere")
    with pytest.raises(ConfigurationError, match="qibo-client login --url URL --profile elsewhere"):
        resolve_credentials()


def test_a_server_that_checks_tokens_needs_one():
    found = resolve_credentials(url="https://cloud.qibo.science")
    assert found.token_required
    with pytest.raises(
        ConfigurationError, match=r"no token for https://cloud\.qibo\.science"
    ) as err:
        found.ensure_token()
    assert "QIBO_CLIENT_TOKEN" in str(err.value) and "qibo-client login" in str(err.value)
    assert not resolve_credentials(url="local:///tmp/x").token_required


def test_the_token_never_shows_in_repr_or_str():
    found = resolve_credentials(token="very-secret", url="https://x.example.org")
    assert "very-secret" not in repr(found) and "very-secret" not in str(found)
    assert "'***'" in repr(found)
    assert found.token == "very-secret"
    assert isinstance(found, Credentials)


# -- the profiles file --------------------------------------------------------------------


def test_saving_creates_a_private_file_in_a_private_folder():
    path = save_profile("default", "https://x.example.org", "tok")
    assert path == profiles_path()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert tomllib.loads(path.read_text()) == {
        "profiles": {"default": {"url": "https://x.example.org", "token": "tok"}}
    }


def test_saving_keeps_other_profiles_and_leaves_no_temporary_file(saved):
    save_profile("lab", "https://new-lab.example.org", "new-token")
    assert load_profiles() == {
        "default": {"url": "https://default.example.org", "token": "default-token"},
        "lab": {"url": "https://new-lab.example.org", "token": "new-token"},
    }
    assert sorted(p.name for p in profiles_path().parent.iterdir()) == ["profiles.toml"]


def test_saving_replaces_the_file_rather_than_rewriting_it(saved):
    before = profiles_path().stat().st_ino
    save_profile("other", "https://o.example.org", "t")
    assert profiles_path().stat().st_ino != before  # a new file was renamed into place


def test_a_profile_without_token_is_saved_without_one():
    save_profile("mine", "local:///tmp/somewhere", "")
    assert load_profiles()["mine"] == {"url": "local:///tmp/somewhere"}
    assert resolve_credentials(profile="mine").token == ""


@pytest.mark.parametrize("name", ["", "has space", "../up", "-dash", "x" * 65])
def test_profile_names_are_checked(name):
    with pytest.raises(ConfigurationError, match="cannot name a profile"):
        save_profile(name, "https://x.example.org", "t")


def test_a_url_without_scheme_is_not_saved():
    with pytest.raises(ConfigurationError, match="scheme"):
        save_profile("default", "cloud.qibo.science", "t")
    assert not profiles_path().exists()


def test_no_file_means_no_profiles():
    assert load_profiles() == {}


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_file_others_can_read_is_warned_about_and_fixed_by_the_next_save(saved):
    path = profiles_path()
    path.chmod(0o644)
    with pytest.warns(InsecureProfilesWarning, match="chmod 600"):
        load_profiles()
    save_profile("default", "https://x.example.org", "t")
    assert mode(path) == 0o600


@pytest.mark.parametrize(
    "content, message",
    [
        ("[profiles.default\nurl=", "not valid TOML"),
        ("profiles = 3", "must be a table"),
        ("[profiles]\ndefault = 'x'", r"\[profiles.default\] must be a table"),
        ("[profiles.default]\ntoken = 5", "token must be a string"),
    ],
)
def test_a_broken_file_is_named_in_the_error(content, message):
    path = profiles_path()
    path.parent.mkdir(parents=True)
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match=message) as err:
        load_profiles()
    assert str(path) in str(err.value)
