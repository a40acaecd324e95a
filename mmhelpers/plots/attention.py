"""The figure of notebook 4d's cross-modal attention: where each head of the audio's queries
looks in the image, and how the weights spread over frames and positions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def attention_maps(images, weights: np.ndarray, captions, grid: int = 7, cmap: str = "magma"):
    """One row per pair: the image as the model saw it; each head's weights over the image,
    averaged over the frames, drawn on the image cell by cell (``grid`` x ``grid``, upsampled
    without smoothing); and the weights of every frame (rows) over the positions (columns, row
    by row of the grid), averaged over the heads. ``images`` (n, 1, 28, 28), ``weights``
    (n, heads, frames, positions); one colour scale for every map."""
    images = np.asarray(images)
    n, heads = weights.shape[:2]
    top = float(np.quantile(weights.mean(2), 0.995))
    fig, axes = plt.subplots(n, heads + 2, figsize=(5.8, 0.8 * n + 0.5), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * (heads + 1) + [1.8]},
                             layout="constrained")
    size = images.shape[-1]
    cells = (-0.5, size - 0.5, size - 0.5, -0.5)
    for i in range(n):
        row = axes[i]
        row[0].imshow(images[i, 0], cmap="gray", vmin=0, vmax=1)
        row[0].set_ylabel(captions[i], fontsize=8)
        for h in range(heads):
            row[h + 1].imshow(images[i, 0], cmap="gray", vmin=0, vmax=1)
            row[h + 1].imshow(weights[i, h].mean(0).reshape(grid, grid), cmap=cmap, alpha=0.65,
                              vmin=0, vmax=top, extent=cells, interpolation="nearest")
        shown = row[-1].imshow(weights[i].mean(0), cmap=cmap, vmin=0, vmax=top, aspect="auto",
                               interpolation="nearest")
        for ax in row:
            ax.grid(False)
        for ax in row[:-1]:
            ax.set_xticks([]), ax.set_yticks([])
        row[-1].set_yticks([0, weights.shape[2] - 1])
        row[-1].set_xticks([0, grid * grid - 1] if i == n - 1 else [])
    titles = ["as seen"] + [f"head {h + 1}" for h in range(heads)] + ["frames x positions"]
    for ax, title in zip(axes[0], titles):
        ax.set_title(title, fontsize=9)
    axes[-1, -1].set(xlabel="position")
    axes[n // 2, -1].set_ylabel("frame")
    fig.colorbar(shown, ax=axes, shrink=0.5, label="attention weight")
    return fig
