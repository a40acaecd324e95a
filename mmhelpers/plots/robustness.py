"""The figures of notebooks 3a and 3b: accuracy with a modality missing, along a noise
sweep, and the gate's weights."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..data.paired import MODALITIES, PairedData
from . import style


def plot_missing(table, title: str = "accuracy (%) with a modality missing"):
    """The :func:`missing_table` as an annotated heatmap (models x condition)."""
    flat = table.copy()
    # narrow columns: each label on short lines ("no / image / zero")
    flat.columns = [f"{a}\n{b}".replace("no ", "no\n") for a, b in flat.columns]
    fig, ax = plt.subplots(figsize=(6.3, 0.4 * len(flat) + 1.9))
    sns.heatmap(flat, annot=True, fmt=".0f", cmap="viridis", vmin=0, vmax=100, ax=ax,
                cbar_kws={"label": "accuracy (%)"}, annot_kws={"fontsize": 9})
    ax.set(title=title, xlabel="", ylabel="")
    ax.tick_params(axis="x", labelsize=8, labelrotation=0)   # two short lines each, side by side
    fig.tight_layout()
    return fig


def _model_palette(names) -> dict:
    names = list(dict.fromkeys(names))
    return dict(zip(names, style.colors(names)))


def plot_sweep(sweep, scores=None):
    """Accuracy vs severity, one panel per corrupted modality, one line per model."""
    fig, axes = plt.subplots(1, 2, figsize=(6.5, 3.9), sharey=True, layout="constrained")
    palette = _model_palette(sweep["model"])
    for ax, modality in zip(axes, MODALITIES):
        part = sweep[sweep.corrupted == modality]
        sns.lineplot(data=part, x="severity", y="accuracy", hue="model", style="model",
                     markers=True, dashes=False, ax=ax, legend=modality == "audio",
                     palette=palette)
        ax.set(title=f"{modality} corrupted", xlabel=f"{modality} noise severity",
               ylabel="test accuracy (%)", ylim=(0, 100))
    handles, labels = axes[1].get_legend_handles_labels()
    axes[1].get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return fig


def plot_gate(weights: np.ndarray, data: PairedData, sweep):
    """The gate's weight on the image: per scenario of the test set (left) and along the
    sweep (right)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6.5, 3.3))
    scen = data.meta.get("scenario", np.full(len(weights), "all"))
    order = sorted(set(scen))
    sns.boxplot(x=scen, y=weights[:, 0], order=order, ax=ax1, fliersize=1,
                color=style.MODALITY_COLORS["image"])
    ax1.set_xticks(range(len(order)), [o.replace("_", "\n") for o in order])
    ax1.set(title="test pairs", ylabel="gate weight on the image", ylim=(0, 1))
    gated = sweep.dropna(subset=["image_weight"])
    sns.lineplot(data=gated, x="severity", y="image_weight", hue="corrupted", marker="o",
                 ax=ax2, palette=style.MODALITY_COLORS)
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":", label="equal weights")
    ax2.set(title="along the sweep (mean)", xlabel="severity of the corrupted modality",
            ylabel="image weight", ylim=(0, 1))
    ax2.legend(title="corrupted", loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3,
               frameon=False)   # under the panel, never over a point
    fig.tight_layout()
    return fig
