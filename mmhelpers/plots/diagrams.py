"""The fusion diagram of notebook 1d, drawn with matplotlib (no external image)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .style import FAMILY_COLORS, MODALITY_COLORS

COLORS = {"image": MODALITY_COLORS["image"], "audio": MODALITY_COLORS["audio"],
          "fused": FAMILY_COLORS["intermediate"], "out": FAMILY_COLORS["gated"]}
FONT_PT = 9


def _box(ax, x, y, w, h, text, color):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec="black", lw=0.8, alpha=0.9))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=FONT_PT,
            color="white", fontweight="bold")


def _arrow(ax, x0, y0, x1, y1):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10,
                                 lw=1.0, color="black"))


def fusion_diagram():
    """Three rows: early, intermediate and late fusion of an image and an audio clip,
    each flowing from the two inputs (left) to the ten logits (right)."""
    fig, axes = plt.subplots(3, 1, figsize=(6.0, 6.3))
    titles = ["early fusion: combine the inputs", "intermediate fusion: combine the features",
              "late fusion: combine the decisions (weighted logits, as 1f trains it)"]
    for ax, title in zip(axes, titles):
        ax.set_xlim(0, 10), ax.set_ylim(0.2, 3.7), ax.axis("off")
        ax.set_title(title, fontsize=10, loc="left")
        _box(ax, 0.1, 2.3, 1.6, 1.2, "image\n1×28×28", COLORS["image"])
        _box(ax, 0.1, 0.4, 1.6, 1.2, "audio\n1×8000", COLORS["audio"])
    top, bottom, middle = 2.9, 1.0, 1.95
    # early: audio -> log-mel resized to the image grid, stacked as a second channel
    ax = axes[0]
    _box(ax, 2.2, 0.4, 1.9, 1.2, "log-mel\n→ 1×28×28", COLORS["audio"])
    _arrow(ax, 1.7, bottom, 2.2, bottom)
    _box(ax, 4.6, 1.35, 1.8, 1.2, "stack\n2×28×28", COLORS["fused"])
    _arrow(ax, 1.7, top, 4.6, 2.3), _arrow(ax, 4.1, bottom, 4.6, 1.6)
    _box(ax, 6.9, 1.35, 1.3, 1.2, "one\nCNN", COLORS["fused"])
    _arrow(ax, 6.4, middle, 6.9, middle)
    _box(ax, 8.6, 1.35, 1.3, 1.2, "10\nlogits", COLORS["out"])
    _arrow(ax, 8.2, middle, 8.6, middle)
    # intermediate: two encoders, their embeddings concatenated, a joint head
    ax = axes[1]
    _box(ax, 2.2, 2.3, 1.9, 1.2, "image\nencoder", COLORS["image"])
    _box(ax, 2.2, 0.4, 1.9, 1.2, "audio\nencoder", COLORS["audio"])
    _arrow(ax, 1.7, top, 2.2, top), _arrow(ax, 1.7, bottom, 2.2, bottom)
    _box(ax, 4.6, 1.35, 1.9, 1.2, "concat\n100 + 100", COLORS["fused"])
    _arrow(ax, 4.1, top, 4.8, 2.55), _arrow(ax, 4.1, bottom, 4.8, 1.35)
    _box(ax, 6.9, 1.35, 1.3, 1.2, "MLP", COLORS["fused"])
    _arrow(ax, 6.5, middle, 6.9, middle)
    _box(ax, 8.6, 1.35, 1.3, 1.2, "10\nlogits", COLORS["out"])
    _arrow(ax, 8.2, middle, 8.6, middle)
    # late: two complete classifiers, their logits weighted and summed
    ax = axes[2]
    _box(ax, 2.2, 2.3, 1.9, 1.2, "image\nclassifier", COLORS["image"])
    _box(ax, 2.2, 0.4, 1.9, 1.2, "audio\nclassifier", COLORS["audio"])
    _arrow(ax, 1.7, top, 2.2, top), _arrow(ax, 1.7, bottom, 2.2, bottom)
    _box(ax, 4.6, 2.3, 1.5, 1.2, "logits\nl_img", COLORS["out"])
    _box(ax, 4.6, 0.4, 1.5, 1.2, "logits\nl_aud", COLORS["out"])
    _arrow(ax, 4.1, top, 4.6, top), _arrow(ax, 4.1, bottom, 4.6, bottom)
    _box(ax, 6.6, 1.35, 3.3, 1.2, "w_img · l_img\n+ w_aud · l_aud", COLORS["fused"])
    _arrow(ax, 6.1, top, 7.2, 2.55), _arrow(ax, 6.1, bottom, 7.2, 1.35)
    fig.tight_layout()
    return fig
