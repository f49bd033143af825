"""examples/quickstart.ipynb runs top to bottom in a real kernel and shows a Bell pair's frequencies."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tests.support.contrib import EXAMPLES, local_server_available

pytestmark = pytest.mark.slow

NOTEBOOK = EXAMPLES / "quickstart.ipynb"


def _frequencies_output(cells: list) -> dict[str, int]:
    for cell in cells:
        if cell.cell_type == "code" and cell.source.startswith("frequencies = "):
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    return ast.literal_eval(output.data["text/plain"])
            raise AssertionError(f"the frequencies cell showed no result: {cell.outputs}")
    raise AssertionError("examples/quickstart.ipynb has no cell starting 'frequencies = '")


def test_the_notebook_is_stored_without_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.skipif(
    not local_server_available(),
    reason="the local:// transport (qibo_client/adapters/local_transport.py) is not there yet",
)
def test_quickstart_notebook_runs_and_shows_frequencies(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    frequencies = _frequencies_output(notebook.cells)
    assert sum(frequencies.values()) == 100
    assert set(frequencies) <= {"00", "11"}


MANY_JOBS = EXAMPLES / "many_jobs.ipynb"


def _cell_value(cells: list, start: str) -> object:
    for cell in cells:
        if cell.cell_type == "code" and cell.source.startswith(start):
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    return ast.literal_eval(output.data["text/plain"])
            raise AssertionError(f"the cell starting {start!r} showed no result: {cell.outputs}")
    raise AssertionError(f"no cell starts with {start!r}")


@pytest.mark.skipif(not local_server_available(), reason="needs the local:// transport")
def test_many_jobs_notebook_shows_a_batch_bar_and_an_async_run(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(MANY_JOBS, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    batch = next(c for c in notebook.cells if c.cell_type == "code" and "client.results(" in c.source)
    shown = " ".join(
        str(output.get("data", output.get("text", ""))) for output in batch.outputs
    )
    assert "10/10" in shown, f"the batch cell showed no finished progress bar: {shown[:500]}"
    counts = _cell_value(notebook.cells, "batch_counts = ")
    assert all(sum(c.values()) == 200 for c in counts)
    assert _cell_value(notebook.cells, "done, not_done = ") == (10, 0)
    assert _cell_value(notebook.cells, "import asyncio") == [200] * 10
