"""``plot_counts``: a histogram of counts drawn with matplotlib (the ``plot`` extra), inline in notebooks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qibo_client.plotting import plot_counts

matplotlib = pytest.importorskip(
    "matplotlib", reason="the 'plot' extra (matplotlib) is not installed"
)
matplotlib.use("Agg")  # draw into memory: no window, no display needed

import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bars(ax) -> list[tuple[str, float]]:
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    return list(zip(labels, [patch.get_height() for patch in ax.patches], strict=True))


def test_counts_are_drawn_most_frequent_first():
    ax = plot_counts({"00": 480, "01": 3, "11": 517})
    assert _bars(ax) == [("11", 517), ("00", 480), ("01", 3)]
    assert ax.get_ylabel() == "count" and ax.get_title() == "1000 shots, 3 outcomes"


def test_the_rest_past_top_shares_one_grey_bar():
    counts = {format(i, "04b"): 16 - i for i in range(16)}
    ax = plot_counts(counts, top=3, probabilities=True)
    bars = _bars(ax)
    assert [label for label, _ in bars] == ["0000", "0001", "0010", "13 more"]
    total = sum(counts.values())
    assert bars[-1][1] == pytest.approx(sum(range(1, 14)) / total)
    assert sum(height for _, height in bars) == pytest.approx(1.0)
    assert ax.patches[-1].get_facecolor() != ax.patches[0].get_facecolor()
    assert ax.get_ylabel() == "probability"


def test_draws_on_the_axes_given():
    _, ax = plt.subplots()
    assert plot_counts({"0": 1, "1": 3}, ax=ax, title="mine") is ax
    assert ax.get_title() == "mine" and len(ax.patches) == 2


def test_a_jobs_result_is_plotted(qibo_local_client):
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    result = qibo_local_client.run_circuit(circuit, device="numpy", nshots=200).result()
    ax = plot_counts(result, top=None)
    bars = dict(_bars(ax))
    assert set(bars) <= {"00", "11"} and sum(bars.values()) == 200


def test_a_result_without_measurements_is_a_type_error():
    class StateOnly:
        def frequencies(self):
            raise RuntimeError("no measurements")

    with pytest.raises(TypeError, match="measurement gates"):
        plot_counts(StateOnly())
    with pytest.raises(TypeError, match="measured counts"):
        plot_counts([1, 2, 3])


@pytest.mark.parametrize("top", [0, -1, 2.5, True])
def test_a_bad_top_is_refused(top):
    with pytest.raises(ValueError, match="top"):
        plot_counts({"0": 1}, top=top)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # what an absent package gives
    with pytest.raises(ImportError, match=r"qibo-client\[plot\]"):
        plot_counts({"0": 1})


def test_importing_the_module_does_not_import_matplotlib():
    probe = "import sys, qibo_client.plotting; print('matplotlib' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


@pytest.mark.slow
def test_a_notebook_shows_the_histogram_inline(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from qibo_client.plotting import plot_counts\n"
            'plot_counts({"00": 48, "01": 2, "11": 50});'
        )
    )
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = notebook.cells[0].outputs
    assert any(
        output.output_type == "display_data" and "image/png" in output.data for output in outputs
    ), outputs
