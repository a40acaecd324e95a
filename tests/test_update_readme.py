"""The README's results section is filled from files the series wrote, and nothing else changes."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from mmhelpers.plots import figures as plots  # noqa: E402
from mmhelpers.plots import samples, tables  # noqa: E402
from tools import update_readme as readme  # noqa: E402


def _figures(tmp_path, monkeypatch):
    figs = tmp_path / "figures"
    figs.mkdir()
    monkeypatch.setattr(tables.config, "figures_dir", lambda quick=None: figs)
    table = pd.DataFrame({"overall": ["98.10 ± 0.20", "75.00 ± 1.00"]},
                         index=pd.Index(["late fusion", "image"], name="model"))
    tables.save_table(table, "1f_results")
    tests = pd.DataFrame({"difference (points)": [0.3], "p, seed 0": ["0.012"]},
                         index=pd.Index(["intermediate fusion vs late fusion"]))
    tables.save_table(tests, "1f_paired_tests")
    (figs / "00_pairs.png").write_bytes(b"png")
    return figs


def test_save_table_writes_a_markdown_table(tmp_path, monkeypatch):
    monkeypatch.setattr(tables.config, "figures_dir", lambda quick=None: tmp_path)
    assert tables.save_table(pd.DataFrame({"a": [1.234, 2.0]}, index=["x", "y"]), "t") is None
    path = tmp_path / "t.md"
    assert [line.replace("-", "") for line in path.read_text().splitlines()] == [
        "|  | a |", "|||", "| x | 1.23 |", "| y | 2.00 |"]
    with pytest.raises(ValueError, match="bare file stem"):
        tables.save_table(pd.DataFrame(), "dir/t.md")


def test_save_values_writes_plain_json_and_refuses_other_objects(tmp_path, monkeypatch):
    import json
    monkeypatch.setattr(tables.config, "figures_dir", lambda quick=None: tmp_path)
    tables.save_values({"accuracy (%)": np.float32(97.5), "pairs": np.int64(5859), "data": "x"}, "v")
    path = tmp_path / "v.json"
    assert json.loads(path.read_text()) == {"accuracy (%)": 97.5, "pairs": 5859, "data": "x"}
    with pytest.raises(TypeError, match="numbers or strings"):
        tables.save_values({"table": pd.DataFrame()}, "v")


def test_update_replaces_only_the_marked_section(tmp_path, monkeypatch):
    figs = _figures(tmp_path, monkeypatch)
    text = f"# Title\n\nbefore\n{readme.START}\nold\n{readme.END}\nafter\n"
    path = tmp_path / "README.md"
    path.write_text(text)
    assert readme.update(path, figs) is True
    new = path.read_text()
    assert new.startswith("# Title\n\nbefore\n" + readme.START) and new.endswith(readme.END + "\nafter\n")
    assert "| late fusion | 98.10 ± 0.20 |" in new and "figures/00_pairs.png" in new and "old" not in new
    assert "| intermediate fusion vs late fusion | 0.30 | 0.012 |" in new
    assert readme.update(path, figs) is False                       # idempotent


def test_update_refuses_without_markers_or_results(tmp_path, monkeypatch):
    figs = _figures(tmp_path, monkeypatch)
    path = tmp_path / "README.md"
    path.write_text("no markers here\n")
    with pytest.raises(ValueError, match="expected one"):
        readme.update(path, figs)
    assert path.read_text() == "no markers here\n"
    path.write_text(f"{readme.START}\n{readme.END}\n")
    for name in ("1f_paired_tests.md", "1f_results.md"):
        (figs / name).unlink()
        with pytest.raises(FileNotFoundError, match=name):
            readme.update(path, figs)


def test_pair_panels_draws_image_waveform_and_spectrogram():
    import torch

    from mmhelpers.data import PairedData

    data = PairedData(torch.rand(3, 1, 28, 28), torch.randn(3, 1, 8000), torch.arange(3), {})
    fig = samples.pair_panels(data, [0, 2])
    assert len(fig.axes) == 7    # 6 panels and the colour bar
    assert np.allclose(fig.axes[0].images[0].get_array(), data.images[0, 0].numpy())
    plots.close(fig)
