"""t-SNE maps of embeddings (notebook 3c), coloured by digit and by scenario; the embeddings and
the maps' coordinates are computed in :mod:`mmhelpers.analysis.embeddings`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..data.paired import PairedData
from . import style


def plot_tsne(points: dict, data: PairedData):
    """t-SNE maps (one column per model), coloured by digit (top) and by scenario (bottom)."""
    fig, axes = plt.subplots(2, len(points), figsize=(1.75 * len(points) + 1.2, 4.6),
                             squeeze=False)
    scen = data.meta.get("scenario", np.full(len(data), "unknown"))
    known = set(scen) <= set(style.SCENARIO_COLORS)   # the course's files may lack scenarios
    scenario_colors = style.SCENARIO_COLORS if known else "Set2"
    for j, (name, xy) in enumerate(points.items()):
        for i, (hue, pal) in enumerate(((data.labels.numpy(), "tab10"), (scen, scenario_colors))):
            sns.scatterplot(x=xy[:, 0], y=xy[:, 1], hue=hue, palette=pal, s=4, linewidth=0,
                            ax=axes[i, j], legend=j == len(points) - 1)
            axes[i, j].set(xticks=[], yticks=[], title=name if i == 0 else "")
        if j == len(points) - 1:
            for ax in axes[:, j]:
                ax.legend(fontsize=8, markerscale=2, loc="center left",
                          bbox_to_anchor=(1.0, 0.5), frameon=False)
    axes[0, 0].set_ylabel("coloured by digit")
    axes[1, 0].set_ylabel("coloured by scenario")
    fig.tight_layout()
    return fig
