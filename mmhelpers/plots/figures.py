"""Figures: the one save helper, and the plots the notebooks share."""

from __future__ import annotations

import base64
import textwrap
import struct
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from IPython.display import display

from .. import config
from . import style


def savefig(fig, name: str, quick: bool | None = None) -> Path:
    """Save ``fig`` as ``<figures>/<name>.png`` and ``.pdf``; return the PNG path.

    ``name`` is a bare file stem such as ``"1a_curves"`` (no directory, no extension). In a notebook
    (matplotlib's inline backend) the saved files are also what the notebook shows: the PNG for
    JupyterLab and, in full mode, the PDF for the exported report; the figure is then closed, so
    a following ``plt.show()`` draws nothing twice. (Rendering each figure once instead of twice
    took a fifth off a warm run of the series.)
    """
    if not name or Path(name).name != name or Path(name).suffix in {".png", ".pdf"}:
        raise ValueError(f"savefig: name must be a bare file stem like '1a_curves', got {name!r}")
    bbox = _tight_bbox(fig)
    _check_legible(fig, name, bbox)   # before anything is written
    out = config.figures_dir(quick)
    out.mkdir(parents=True, exist_ok=True)
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    fig.savefig(png, bbox_inches=bbox, dpi=SAVE_DPI)
    fig.savefig(pdf, bbox_inches=bbox, metadata={"CreationDate": None})  # same figure, same bytes
    if "inline" in plt.get_backend():
        _show_saved(png, pdf if not config.is_quick(quick) else None)
        plt.close(fig)
    return png


def _tight_bbox(fig):
    """The figure's tight bounding box (inches, with matplotlib's padding), found once for both
    files. ``bbox_inches="tight"`` would lay the figure out again for each format: one draw more
    per file (a warm run of the series spent a tenth of its time on it)."""
    if not hasattr(fig.canvas, "get_renderer"):  # a canvas without its own renderer: let matplotlib do it
        return "tight"
    fig.draw_without_rendering()  # layout engines (tight, constrained) run on draw
    return fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])


def _check_legible(fig, name: str, bbox) -> None:
    """Refuse a figure whose smallest text would print under ``style.MIN_PRINT_PT``."""
    width, height = fig.get_size_inches() if bbox == "tight" else (bbox.width, bbox.height)
    smallest = style.smallest_print_font(fig, width, height)
    if smallest < style.MIN_PRINT_PT - 0.05:
        raise ValueError(f"savefig: {name!r} ({width:.1f} x {height:.1f} in) would print "
                         f"text of {smallest:.1f} pt, under {style.MIN_PRINT_PT} pt: make the "
                         "figure smaller or its text larger")


#: resolution of the saved PNGs; notebooks show them at the screen's 100 dpi (sharp on high-DPI screens)
SAVE_DPI = 150


def _show_saved(png: Path, pdf: Path | None) -> None:
    """Display saved files as one output, as the inline backend would (PNG, plus PDF for LaTeX export)."""
    data = png.read_bytes()
    width, height = struct.unpack(">II", data[16:24])  # the PNG header's IHDR chunk
    scale = plt.rcParams["figure.dpi"] / SAVE_DPI
    bundle = {"image/png": base64.b64encode(data).decode("ascii"), "text/plain": f"<Figure {png.stem}>"}
    if pdf is not None:
        bundle["application/pdf"] = base64.b64encode(pdf.read_bytes()).decode("ascii")
    display(bundle, raw=True, metadata={"image/png": {"width": round(width * scale), "height": round(height * scale)}})


def close(fig) -> None:
    plt.close(fig)


# ----------------------------------------------------------------------------- training curves

def curves(histories: dict, title: str = ""):
    """Loss (left) and accuracy (right) per epoch for each model: solid lines for the
    training loss and the test accuracy, dashed for the validation split.

    ``histories`` maps a model name to a :class:`mmhelpers.training.trainer.History`; the
    epoch whose weights were kept (best validation accuracy) is circled. Colours follow
    the model's family (:func:`mmhelpers.plots.style.colors`).
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(7.0, 3.3))
    for color, (name, hist) in zip(style.colors(histories), histories.items()):
        df = hist.frame()
        ax_loss.plot(df.epoch, df.train_loss, "-o", ms=3, color=color, label=name)
        ax_loss.plot(df.epoch, df.val_loss, "--", color=color, alpha=0.8)
        if "test_acc" in df:
            ax_acc.plot(df.epoch, 100 * df.test_acc, "-o", ms=3, color=color, label=name)
        ax_acc.plot(df.epoch, 100 * df.val_acc, "--", color=color, alpha=0.8)
        best = hist.best
        ax_acc.plot(best["epoch"], 100 * best.get("test_acc", best["val_acc"]), "o", ms=9,
                    mfc="none", color=color)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    # the legend under the axes, never over a curve
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(len(labels), 4), frameon=False)
    rows = -(-len(labels) // 4)
    fig.text(0.5, -0.07 * rows - 0.02, "solid: training loss and test accuracy; dashed: "
             "validation; circle: the kept epoch", ha="center", va="top", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- comparisons

def confusion_matrices(matrices: dict, title: str = ""):
    """Row-normalised confusion matrices side by side (seaborn heatmaps, in %), one
    colour scale and its colour bar."""
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(2.9 * n + 0.7, 3.3), squeeze=False,
                             layout="constrained")
    for j, (ax, (name, cm)) in enumerate(zip(axes.flat, matrices.items())):
        sns.heatmap(100 * cm, ax=ax, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100,
                    cbar=j == n - 1, cbar_kws={"label": "% of the true class"},
                    annot_kws={"fontsize": 8}, square=True)
        ax.set(title=name, xlabel="predicted", ylabel="true" if j == 0 else "")
    if title:
        fig.suptitle(title)
    return fig


def zoomed_limits(low, high, floor: float = 0.0, ceiling: float = 100.0) -> tuple:
    """Axis limits that show differences between values in [``low``, ``high``]: a margin
    of a third of their spread (at least one unit) below, a sixth above, kept within
    [``floor``, ``ceiling``]."""
    spread = max(float(high) - float(low), 1.0)
    return (max(floor, float(low) - spread / 3), min(ceiling, float(high) + spread / 6))


def accuracy_bars(table, title: str = "", errors=None, ylim=None):
    """Grouped bars from a DataFrame (rows: models, columns: overall / scenarios), in %.

    ``errors``: an optional DataFrame of the same shape (e.g. std over seeds), drawn as
    error bars. ``ylim=None`` zooms the axis onto the bars' range (:func:`zoomed_limits`),
    so that a gap of a fraction of a point is visible; the axis label says so.
    """
    long = table.reset_index(names="model").melt(id_vars="model", var_name="subset",
                                                  value_name="accuracy")
    long["subset"] = long["subset"].map(lambda c: textwrap.fill(str(c).replace("_", " "), 11))
    fig, ax = plt.subplots(figsize=(min(7.0, 1.1 * len(table.columns) + 3.0), 3.3))
    sns.barplot(data=long, x="subset", y="accuracy", hue="model", ax=ax,
                palette=style.colors(table.index))
    err = errors if errors is not None else table * 0
    if errors is not None:
        for container, model in zip(ax.containers, table.index):
            xs = [bar.get_x() + bar.get_width() / 2 for bar in container]
            ax.errorbar(xs, table.loc[model].values, yerr=err.loc[model].values, fmt="none",
                        ecolor="black", capsize=2, lw=1)
    if ylim is None:
        ylim = zoomed_limits(np.nanmin((table - err).values), np.nanmax((table + err).values))
    zoomed = ylim[0] > 0
    ax.set(ylim=ylim, xlabel="", title=title,
           ylabel="test accuracy (%)" + (" (axis zoomed)" if zoomed else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # never over a bar
    fig.tight_layout()
    return fig
