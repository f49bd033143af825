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
