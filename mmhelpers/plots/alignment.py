"""The figures of notebook 3d: scores against the temperature, and image-audio similarity maps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..analysis.retrieval import embed
from ..data.paired import PairedData
from . import style


def plot_grid(table, metrics=("R@1 aud→img", "probe audio", "audio by image prototype"),
              names: dict | None = None):
    """Each metric against the temperature (log scale), one line per loss; the untrained
    baseline as a dotted line. ``names``: a loss's display name in the legend (``"nt_xent"`` ->
    ``"NT-Xent"``); a loss not in it keeps its code name."""
    names = names or {}
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.2 * len(metrics) + 0.2, 3.4),
                             squeeze=False)
    trained = table.drop(index="untrained", level="loss", errors="ignore")
    for ax, metric in zip(axes.flat, metrics):
        for i, (loss, part) in enumerate(trained.groupby(level="loss", sort=False)):
            taus_ = part.index.get_level_values("tau")
            ax.plot(taus_, part[metric], "o-", color=f"C{i}", label=names.get(loss, loss))
        if "untrained" in table.index.get_level_values("loss"):
            ax.axhline(table.loc["untrained", metric].iloc[0], color="grey", ls=":", label="untrained")
        ax.set(xscale="log", xlabel="temperature τ", ylabel="%" if ax is axes[0, 0] else "")
        ax.set_title(metric, fontsize=9)
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    style.plain_log_ticks(*fig.axes)
    fig.tight_layout()
    return fig


def plot_similarity(models_: dict, data: PairedData, per_class: int = 8):
    """Cosine similarities image (rows) x audio (columns) of a few test pairs sorted by digit,
    one heatmap per model: a trained alignment shows bright diagonal blocks."""
    y = data.labels.numpy()
    groups = [np.flatnonzero(y == c)[:per_class] for c in np.unique(y)]
    sub = data[np.concatenate(groups)]
    sizes_ = np.array([len(g) for g in groups])
    ticks = np.cumsum(sizes_) - sizes_ / 2
    ncols = min(3, len(models_))
    nrows = -(-len(models_) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.8 * ncols + 0.8, 2.1 * nrows),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[len(models_):]:
        ax.axis("off")
    for ax, (name, model) in zip(axes.flat, models_.items()):
        e = embed(model, sub)
        sns.heatmap(e["z_img"] @ e["z_aud"].T, ax=ax, cmap="RdBu_r", vmin=-1, vmax=1,
                    cbar=False, square=True, xticklabels=False, yticklabels=False,
                    rasterized=True)
        ax.set_xticks(ticks, np.unique(y), fontsize=8)
        ax.set_yticks(ticks, np.unique(y), fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set(xlabel="audio (by digit)", ylabel="image (by digit)")
    fig.colorbar(plt.cm.ScalarMappable(plt.Normalize(-1, 1), "RdBu_r"), ax=axes,
                 label="cosine similarity", shrink=0.8)
    return fig
