"""The one figure helper: files on disk, and in a notebook the same files as the cell's only figure output."""

import base64

import pytest
from nbclient import NotebookClient
from nbformat import v4

from mmhelpers.plots import figures as plots

CODE = """
import matplotlib.pyplot as plt
from mmhelpers.plots import figures as plots
from mmhelpers.notebook import setup
cfg = setup(quiet=True)
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1], [1, 0])
plots.savefig(fig, "probe")
plt.show()
"""


@pytest.mark.parametrize("quick", ["0", "1"])
def test_savefig_in_a_notebook_shows_the_saved_files_once(tmp_path, monkeypatch, quick):
    monkeypatch.setenv("MM_FIGURES_DIR", str(tmp_path))
    monkeypatch.setenv("MM_QUICK", quick)
    nb = v4.new_notebook(cells=[v4.new_code_cell(CODE)],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    figures = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(figures) == 1, nb.cells[0].outputs
    out = tmp_path / ("quick" if quick == "1" else "")
    assert base64.b64decode(figures[0].data["image/png"]) == (out / "probe.png").read_bytes()
    assert ("application/pdf" in figures[0].data) == (quick == "0")  # vector figures for the exported PDF
    assert (out / "probe.pdf").is_file()
    assert 0 < figures[0].metadata["image/png"]["width"] < 400  # shown at screen resolution, not 150 dpi


def test_savefig_rejects_paths_and_extensions():
    for bad in ("", "a/b", "x.png", "y.pdf"):
        with pytest.raises(ValueError, match="bare file stem"):
            plots.savefig(None, bad)
