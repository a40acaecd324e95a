"""The figures of notebook 4c: what each generative model draws from the other modality, and how
often it is the right digit."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns


def _header(label) -> str:
    """A column's heading: a digit (a number) or a text as given."""
    return label if isinstance(label, str) else str(int(label))


def drawn_images(rows: dict, labels, title: str = ""):
    """One row per entry of ``rows`` (name -> images (K, 1, 28, 28) in [0, 1]), one column per
    source pair, headed by its digit (or by the text given in ``labels``)."""
    names = list(rows)
    k = len(labels)
    fig, axes = plt.subplots(len(names), k, figsize=(0.58 * k + 1.4, 0.62 * len(names) + 0.5), squeeze=False)
    for r, name in enumerate(names):
        for c in range(k):
            ax = axes[r, c]
            ax.imshow(np.asarray(rows[name][c, 0]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(_header(labels[c]), fontsize=9)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(pad=0.3)
    return fig


def drawn_spectrograms(rows: dict, labels, title: str = ""):
    """One row per entry of ``rows`` (name -> log-mel spectrograms (K, 1, bands, frames)), one
    column per source pair (headed by its digit, or the text given in ``labels``), on one
    colour scale."""
    names = list(rows)
    k = len(labels)
    stacked = np.concatenate([np.asarray(rows[n]).reshape(k, -1) for n in names])
    low, high = np.percentile(stacked, [1, 99.5])
    fig, axes = plt.subplots(len(names), k, figsize=(1.25 * k + 1.6, 0.9 * len(names) + 0.6), squeeze=False,
                             layout="constrained")
    for r, name in enumerate(names):
        for c in range(k):
            ax = axes[r, c]
            im = ax.imshow(np.asarray(rows[name][c, 0]), origin="lower", aspect="auto", cmap="magma",
                           vmin=low, vmax=high)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(labels[c] if isinstance(labels[c], str)
                             else f"digit {int(labels[c])}", fontsize=9)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, label="log-mel")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def coherence_bars(table, chance: float = 10.0, title: str = "coherence of the translations"):
    """``table``: coherence (%) indexed by ``(model, direction)``, one column per source scenario
    (and ``"all"``). One panel per direction, bars per scenario and model, chance as a line."""
    long = (table.rename_axis(columns="source scenario").stack().rename("coherence (%)").reset_index())
    directions = list(dict.fromkeys(long["direction"]))
    fig, axes = plt.subplots(1, len(directions), figsize=(3.4 * len(directions), 3.0), sharey=True, squeeze=False)
    for ax, direction in zip(axes[0], directions):
        sns.barplot(long[long["direction"] == direction], x="source scenario", y="coherence (%)", hue="model",
                    ax=ax, legend=ax is axes[0, 0])
        ax.axhline(chance, color="0.3", linestyle="--", linewidth=1)
        ax.set_title(direction, fontsize=10)
        ax.tick_params(axis="x", labelsize=9, rotation=15)
    handles, names = axes[0, 0].get_legend_handles_labels()
    axes[0, 0].get_legend().remove()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=9, frameon=False)
    fig.suptitle(f"{title} (dashed: chance)", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig
