"""One style for every figure (legible when printed, one colour per family) and tables that
reach the PDF as LaTeX."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mmhelpers.data import PairedData  # noqa: E402
from mmhelpers.plots import figures as plots  # noqa: E402
from mmhelpers.plots import samples, style, tables  # noqa: E402


def test_a_model_family_keeps_its_colour_across_figures():
    assert style.family("late fusion (logits)") == "late"
    assert style.family("log-mel CNN") == style.family("raw-audio CNN") == "audio"
    assert style.family("gated fusion") == "gated" and style.family("image CNN") == "image"
    alone = style.colors(["image", "audio", "late fusion"])
    assert alone == [style.FAMILY_COLORS[f] for f in ("image", "audio", "late")]
    assert style.colors(["image CNN", "gated"])[0] == style.MODALITY_COLORS["image"]
    shades = style.colors(["raw-audio CNN", "log-mel CNN"])   # same family: two shades
    assert shades[1] == style.FAMILY_COLORS["audio"]            # the family's own model
    # told apart on paper: the variant's shade is far from it (the two oranges of 1b were not)
    assert sum(abs(a - b) for a, b in zip(*shades)) > 0.6
    # one colour per model in every figure, whatever else the figure shows and in what order
    for names in (["intermediate (end to end)", "intermediate fusion"], ["intermediate fusion"],
                  ["gated", "intermediate fusion", "intermediate + mod. dropout"]):
        colors = dict(zip(names, style.colors(names)))
        assert colors["intermediate fusion"] == style.FAMILY_COLORS["intermediate"]
    assert (style.colors(["late (averaged probabilities)"])
            == style.colors(["late fusion", "late (averaged probabilities)"])[1:])


def test_print_size_shrinks_wide_figures_and_their_text():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("title", fontsize=10)
    ax.set_xlabel("small", fontsize=8)
    assert style.smallest_print_font(fig, 3, 2) == 8
    assert style.smallest_print_font(fig, 2 * style.PRINT_WIDTH, 2) == pytest.approx(4)
    plt.close(fig)


def test_savefig_refuses_a_figure_whose_text_would_print_too_small(tmp_path, monkeypatch):
    monkeypatch.setenv("MM_FIGURES_DIR", str(tmp_path))
    fig, ax = plt.subplots(figsize=(14, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a wide figure", fontsize=9)
    with pytest.raises(ValueError, match="'wide'.*would print text of [0-9.]+ pt, under 7.0 pt"):
        plots.savefig(fig, "wide")
    assert not list(tmp_path.iterdir())           # nothing written
    fig.set_size_inches(5, 3)
    assert plots.savefig(fig, "wide").is_file()


def test_zoomed_limits_show_a_gap_of_a_fraction_of_a_point():
    low, high = plots.zoomed_limits(98.6, 99.1)
    assert 97 < low < 98.6 and 99.1 < high <= 100
    assert plots.zoomed_limits(10, 90) == (0.0, 100.0)


def test_decimals_are_the_fewest_that_show_the_values():
    assert tables.decimals([98.94, 0.5]) == 2
    assert tables.decimals([1.0, 12.0, np.nan]) == 0
    assert tables.decimals([1 / 3]) == tables.MAX_DECIMALS


def test_latex_table_escapes_and_fits_the_page():
    frame = pd.DataFrame({"acc (%)": [98.94, 97.5], "seconds / epoch": [1.0, 2.0],
                          "model": ["late_fusion", "a & b"]}, index=["x_1", "50%"])
    latex = tables.latex_table(frame)
    assert "\\toprule" in latex and "\\bottomrule" in latex and "max width=\\linewidth" in latex
    assert "late\\_fusion" in latex and "a \\& b" in latex and "x\\_1" in latex and "50\\%" in latex
    assert "98.94" in latex and "97.50" in latex and "& 1 &" in latex     # per-column decimals
    assert "seconds / epoch" in latex
    assert "\\begin{tabular}{lrrr}" in latex
    assert tables.latex_table(frame["acc (%)"]).count("\\\\") == 3       # a Series: header + 2 rows
    nested = pd.concat({"train": frame, "test": frame})                # a MultiIndex, as 1a shows
    latex = tables.latex_table(nested)
    taus = pd.DataFrame({"R@1": [13.7, 52.3, 55.55]},
                        index=pd.MultiIndex.from_tuples([("untrained", np.nan), ("nt_xent", 0.05),
                                                         ("nt_xent", 0.1)], names=["loss", "tau"]))
    latex = tables.latex_table(taus)
    assert "untrained & -- &" in latex and "& 0.05 &" in latex and "0.050000" not in latex
    latex = tables.latex_table(nested)
    assert "\\multirow" not in latex and "\\begin{tabular}{llrrr}" in latex  # needs no extra package


def test_players_give_the_pdf_one_line_instead_of_object_reprs(monkeypatch):
    shown = []
    monkeypatch.setattr(samples, "display", lambda obj, raw: shown.append(obj))
    data = PairedData(torch.rand(3, 1, 28, 28), torch.randn(3, 1, 8000) * 0.1, torch.arange(3),
                      {"index": np.array([10, 11, 12])})
    samples.players(data, [0, 2])
    (bundle,) = shown
    assert bundle["text/plain"] == "[audio players for pairs 10, 12: open the notebook to listen]"
    assert bundle["text/html"].count("<audio") == 2 and "<IPython" not in bundle["text/plain"]
