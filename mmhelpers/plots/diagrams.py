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


# every row: the image branch on top, the audio branch below, the joint path in the middle
TOP, BOTTOM, MIDDLE, HEIGHT = 2.3, 0.4, 1.35, 1.2      # lower edges of the boxes, their height


def _centre(y: float) -> float:
    return y + HEIGHT / 2


def _pair(ax, x, w, texts, colors, after=None):
    """An image box and an audio box, one above the other; with ``after`` (the right
    edge of the boxes before them), an arrow into each."""
    for y, text, color in zip((TOP, BOTTOM), texts, colors):
        _box(ax, x, y, w, HEIGHT, text, color)
        if after is not None:
            _arrow(ax, after, _centre(y), x, _centre(y))


def _step(ax, x, w, text, color, after):
    """A box on the joint path, with an arrow in from ``after``."""
    _box(ax, x, MIDDLE, w, HEIGHT, text, color)
    _arrow(ax, after, _centre(MIDDLE), x, _centre(MIDDLE))


def _merge(ax, x, w, text, color, after, into):
    """The box where the two branches meet: arrows from both (at ``after``) into its top
    and bottom edges at ``into``."""
    _box(ax, x, MIDDLE, w, HEIGHT, text, color)
    _arrow(ax, after, _centre(TOP), into, MIDDLE + HEIGHT)
    _arrow(ax, after, _centre(BOTTOM), into, MIDDLE)


def fusion_diagram():
    """Three rows: early, intermediate and late fusion of an image and an audio clip,
    each flowing from the two inputs (left) to the ten logits (right)."""
    fig, axes = plt.subplots(3, 1, figsize=(6.0, 6.3))
    titles = ["early fusion: combine the inputs", "intermediate fusion: combine the features",
              "late fusion: combine the decisions (weighted logits, as 1f trains it)"]
    modalities = (COLORS["image"], COLORS["audio"])
    for ax, title in zip(axes, titles):
        ax.set_xlim(0, 10), ax.set_ylim(0.2, 3.7), ax.axis("off")
        ax.set_title(title, fontsize=10, loc="left")
        _pair(ax, 0.1, 1.6, ("image\n1×28×28", "audio\n1×8000"), modalities)
    early, intermediate, late = axes
    # early: audio -> log-mel resized to the image grid, stacked as a second channel
    _box(early, 2.2, BOTTOM, 1.9, HEIGHT, "log-mel\n→ 1×28×28", COLORS["audio"])
    _arrow(early, 1.7, _centre(BOTTOM), 2.2, _centre(BOTTOM))
    _box(early, 4.6, MIDDLE, 1.8, HEIGHT, "stack\n2×28×28", COLORS["fused"])
    _arrow(early, 1.7, _centre(TOP), 4.6, 2.3), _arrow(early, 4.1, _centre(BOTTOM), 4.6, 1.6)
    _step(early, 6.9, 1.3, "one\nCNN", COLORS["fused"], after=6.4)
    _step(early, 8.6, 1.3, "10\nlogits", COLORS["out"], after=8.2)
    # intermediate: two encoders, their embeddings concatenated, a joint head
    _pair(intermediate, 2.2, 1.9, ("image\nencoder", "audio\nencoder"), modalities, after=1.7)
    _merge(intermediate, 4.6, 1.9, "concat\n100 + 100", COLORS["fused"], after=4.1, into=4.8)
    _step(intermediate, 6.9, 1.3, "MLP", COLORS["fused"], after=6.5)
    _step(intermediate, 8.6, 1.3, "10\nlogits", COLORS["out"], after=8.2)
    # late: two complete classifiers, their logits weighted and summed
    _pair(late, 2.2, 1.9, ("image\nclassifier", "audio\nclassifier"), modalities, after=1.7)
    _pair(late, 4.6, 1.5, ("logits\nl_img", "logits\nl_aud"), (COLORS["out"],) * 2, after=4.1)
    _merge(late, 6.6, 3.3, "w_img · l_img\n+ w_aud · l_aud", COLORS["fused"], after=6.1,
           into=7.2)
    fig.tight_layout()
    return fig


def searched_diagram(candidate, n_image: int, n_audio: int, title: str = ""):
    """A searched fusion architecture in the same style: the image encoder's layers x1..x_n on
    top, the audio encoder's y1..y_n below, the fusion layers in the middle, each fed by the two
    layers it picked (and the fusion layer before it), then the ten logits."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    ax.set_xlim(0, 10), ax.set_ylim(0.1, 3.6), ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    top, middle, bottom, h, w = 2.7, 1.45, 0.2, 0.8, 0.7

    def left(k):  # left edge of a branch's layer k (1-based)
        return 0.2 + (k - 1) * 0.85

    for k in range(1, n_image + 1):
        _box(ax, left(k), top, w, h, f"x{k}", COLORS["image"])
    for k in range(1, n_audio + 1):
        _box(ax, left(k), bottom, w, h, f"y{k}", COLORS["audio"])
    x, previous = left(max(n_image, n_audio)) + w + 0.6, None
    for k, layer in enumerate(candidate):
        _box(ax, x, middle, 1.0, h, f"f{k + 1}\n{layer.act}", COLORS["fused"])
        _arrow(ax, left(layer.image) + w / 2, top, x + 0.5, middle + h)
        _arrow(ax, left(layer.audio) + w / 2, bottom + h, x + 0.5, middle)
        if previous is not None:
            _arrow(ax, previous, middle + h / 2, x, middle + h / 2)
        previous, x = x + 1.0, x + 1.35
    _box(ax, x, middle, 0.9, h, "10\nlogits", COLORS["out"])
    _arrow(ax, previous, middle + h / 2, x, middle + h / 2)
    fig.tight_layout()
    return fig
