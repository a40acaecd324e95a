"""The fusion diagram of notebook 1d, drawn with matplotlib (no external image)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

COLORS = {"image": "#4C72B0", "audio": "#DD8452", "fused": "#55A868", "out": "#8172B3"}


def _box(ax, x, y, w, h, text, color, fontsize=8):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.05",
                                fc=color, ec="black", lw=0.8, alpha=0.9))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, color="white",
            fontweight="bold", wrap=True)


def _arrow(ax, x0, y0, x1, y1):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, lw=1.0, color="black"))


def fusion_diagram():
    """Three panels: early, intermediate and late fusion of an image and an audio clip."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    titles = ["early fusion\n(combine inputs)", "intermediate fusion\n(combine features)",
              "late fusion\n(combine decisions)"]
    for ax, title in zip(axes, titles):
        ax.set_xlim(0, 10), ax.set_ylim(0, 10), ax.axis("off")
        ax.set_title(title, fontsize=11)
        _box(ax, 0.2, 7.2, 2.4, 1.6, "image\n1×28×28", COLORS["image"])
        _box(ax, 0.2, 1.2, 2.4, 1.6, "audio\n1×8000", COLORS["audio"])
    # early: audio -> spectrogram resized to the image grid, stacked as channels
    ax = axes[0]
    _box(ax, 3.2, 1.2, 2.2, 1.6, "log-mel\n→ 1×28×28", COLORS["audio"])
    _arrow(ax, 2.6, 2.0, 3.2, 2.0)
    _box(ax, 3.6, 4.2, 2.6, 1.6, "stack\n2×28×28", COLORS["fused"])
    _arrow(ax, 2.6, 8.0, 4.9, 5.8), _arrow(ax, 4.3, 2.8, 4.9, 4.2)
    _box(ax, 6.8, 4.2, 1.6, 1.6, "one\nCNN", COLORS["fused"])
    _arrow(ax, 6.2, 5.0, 6.8, 5.0)
    _box(ax, 8.7, 4.2, 1.2, 1.6, "10\nlogits", COLORS["out"])
    _arrow(ax, 8.4, 5.0, 8.7, 5.0)
    # intermediate: two encoders, concatenated embeddings, a joint head
    ax = axes[1]
    _box(ax, 3.2, 7.2, 2.0, 1.6, "image\nencoder", COLORS["image"])
    _box(ax, 3.2, 1.2, 2.0, 1.6, "audio\nencoder", COLORS["audio"])
    _arrow(ax, 2.6, 8.0, 3.2, 8.0), _arrow(ax, 2.6, 2.0, 3.2, 2.0)
    _box(ax, 5.6, 4.2, 1.8, 1.6, "concat\n100+100", COLORS["fused"])
    _arrow(ax, 4.2, 7.2, 6.5, 5.8), _arrow(ax, 4.2, 2.8, 6.5, 4.2)
    _box(ax, 7.7, 4.2, 1.0, 1.6, "MLP", COLORS["fused"])
    _arrow(ax, 7.4, 5.0, 7.7, 5.0)
    _box(ax, 8.9, 4.2, 1.0, 1.6, "10", COLORS["out"])
    _arrow(ax, 8.7, 5.0, 8.9, 5.0)
    # late: two complete classifiers, their logits weighted and summed (what 1f trains)
    ax = axes[2]
    _box(ax, 3.2, 7.2, 2.4, 1.6, "image\nclassifier", COLORS["image"])
    _box(ax, 3.2, 1.2, 2.4, 1.6, "audio\nclassifier", COLORS["audio"])
    _arrow(ax, 2.6, 8.0, 3.2, 8.0), _arrow(ax, 2.6, 2.0, 3.2, 2.0)
    _box(ax, 6.0, 7.2, 1.3, 1.6, "logits\nimage", COLORS["out"], 7)
    _box(ax, 6.0, 1.2, 1.3, 1.6, "logits\naudio", COLORS["out"], 7)
    _arrow(ax, 5.6, 8.0, 6.0, 8.0), _arrow(ax, 5.6, 2.0, 6.0, 2.0)
    _box(ax, 7.6, 4.2, 2.3, 1.6, "w·l_img +\n(1-w)·l_aud", COLORS["fused"], 7)
    _arrow(ax, 6.65, 7.2, 8.3, 5.8), _arrow(ax, 6.65, 2.8, 8.3, 4.2)
    fig.tight_layout()
    return fig
