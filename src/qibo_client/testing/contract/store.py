"""ResultStoreContract: what every :class:`~qibo_client.ports.ResultStore` must do."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from typing import Any

import pytest

from qibo_client.domain.records import StoredResult
from qibo_client.exceptions import IncompleteDownloadError, UnsafeResultError
from qibo_client.ports.result_store import ResultStore
from qibo_client.testing.answers import error_archive, result_archive, tar_gz
from qibo_client.testing.streams import BytesStream, truncated

SERVER = "https://contract.example"
FIRST = {"00": 3, "11": 2}
SECOND = {"01": 4, "10": 1}


def symlink_archive() -> bytes:
    """A ``.tar.gz`` whose only member is a symbolic link out of the folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo("results.npy")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    return buffer.getvalue()


class ResultStoreContract:
    """The result-store port's promises, as tests.

    Provide the fixture ``result_store``: an empty store of yours (in
    ``tmp_path`` if it writes files). If your ``load`` gives something other
    than qibo's result object, override :meth:`frequencies_of` to read its
    counts.
    """

    server: str = SERVER

    def frequencies_of(self, loaded: Any) -> Mapping[str, int]:
        """The counts in what ``load`` returned."""
        return {str(k): int(v) for k, v in loaded.frequencies().items()}

    def _save(self, store: ResultStore, pid: str, counts: Mapping[str, int]) -> StoredResult:
        return store.save(self.server, pid, BytesStream(result_archive(frequencies=counts)))

    def test_lookup_of_an_unknown_job_is_none(self, result_store: ResultStore) -> None:
        assert result_store.lookup(self.server, "never-saved") is None

    def test_save_lookup_load_round_trip(self, result_store: ResultStore) -> None:
        saved = self._save(result_store, "job-a", FIRST)
        assert isinstance(saved, StoredResult)
        assert (saved.server, saved.pid) == (self.server, "job-a")
        assert saved.result_file is not None
        found = result_store.lookup(self.server, "job-a")
        assert found is not None and found.pid == "job-a"
        assert self.frequencies_of(result_store.load(found)) == FIRST

    def test_an_archive_without_results_is_kept_without_a_result_file(
        self, result_store: ResultStore
    ) -> None:
        saved = result_store.save(self.server, "job-err", BytesStream(error_archive("boom")))
        assert saved.result_file is None

    @pytest.mark.parametrize("announced", [True, False], ids=["length-known", "length-unknown"])
    def test_a_truncated_download_raises_incomplete_and_leaves_nothing(
        self, result_store: ResultStore, announced: bool
    ) -> None:
        stream = truncated(result_archive(frequencies=FIRST))
        if not announced:
            stream.content_length = None
        with pytest.raises(IncompleteDownloadError):
            result_store.save(self.server, "job-cut", stream)
        assert result_store.lookup(self.server, "job-cut") is None

    def test_a_download_that_breaks_off_raises_incomplete_and_leaves_nothing(
        self, result_store: ResultStore
    ) -> None:
        stream = BytesStream(result_archive(frequencies=FIRST), chunk_size=64, fail_after=1)
        with pytest.raises(IncompleteDownloadError):
            result_store.save(self.server, "job-broken", stream)
        assert result_store.lookup(self.server, "job-broken") is None

    @pytest.mark.parametrize(
        "archive",
        [
            pytest.param(lambda: tar_gz({"../escape.npy": b"x"}), id="path-escape"),
            pytest.param(lambda: tar_gz({"/abs/results.npy": b"x"}), id="absolute-path"),
            pytest.param(symlink_archive, id="symlink"),
            pytest.param(lambda: b"<!doctype html><html>Bad gateway</html>", id="html-page"),
        ],
    )
    def test_a_hostile_or_broken_archive_is_refused_and_leaves_nothing(
        self, result_store: ResultStore, archive: Any
    ) -> None:
        with pytest.raises(UnsafeResultError):
            result_store.save(self.server, "job-bad", BytesStream(archive()))
        assert result_store.lookup(self.server, "job-bad") is None

    def test_saving_again_replaces_the_result(self, result_store: ResultStore) -> None:
        self._save(result_store, "job-b", FIRST)
        saved = self._save(result_store, "job-b", SECOND)
        assert self.frequencies_of(result_store.load(saved)) == SECOND

    def test_a_failed_save_keeps_the_earlier_result(self, result_store: ResultStore) -> None:
        self._save(result_store, "job-c", FIRST)
        with pytest.raises(IncompleteDownloadError):
            result_store.save(self.server, "job-c", truncated(result_archive(frequencies=SECOND)))
        found = result_store.lookup(self.server, "job-c")
        assert found is not None
        assert self.frequencies_of(result_store.load(found)) == FIRST

    def test_forget_removes_a_result(self, result_store: ResultStore) -> None:
        self._save(result_store, "job-d", FIRST)
        if not result_store.forget(self.server, "job-d"):
            pytest.skip("this store keeps results (forget is optional)")
        assert result_store.lookup(self.server, "job-d") is None
        assert result_store.forget(self.server, "job-d") is False

    def test_prepare_does_not_raise(self, result_store: ResultStore) -> None:
        result_store.prepare()
