"""The figures behind the notebooks' interactive controls: one small figure per setting of a knob.

Each figure is drawn from what the notebook has already computed (predictions, a noise sweep,
trained models run on one pair), fast enough to follow a slider: under 0.3 s on two CPU cores.
A notebook wraps it in a short ``draw_...`` function and calls that twice: once with its default
values in a plain cell (the *static twin*, whose figure is what the PDF shows), then from
``ipywidgets.interact`` in the next cell, tagged ``lab-only`` (the export leaves that cell out).
:func:`show` displays a figure and closes it, so that ``interact`` does not show it twice.
"""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from ..features.logmel import LogMel
from . import style
from .figures import SAVE_DPI

SMALL_PT = 8   # tick labels and panel titles; the figures are at most PRINT_WIDTH wide


def show(fig) -> None:
    """Display ``fig`` as one PNG and close it. Rendered at ``SAVE_DPI`` (sharp on high-DPI screens),
    shown at the screen's ``figure.dpi``; no PDF and no tight bounding box, each of which would draw
    the figure once more per move of a slider (the figures fit their canvas by construction)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SAVE_DPI)
    plt.close(fig)
    width, height = (round(x) for x in fig.get_size_inches() * plt.rcParams["figure.dpi"])
    display({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": "<Figure>"},
            raw=True, metadata={"image/png": {"width": width, "height": height}})


@contextmanager
def single_thread():
    """Run torch on one thread inside the block: for one pair, two threads only wait on each other
    (on two busy cores a generative model's translation of one pair took 0.2 s, not 5 ms)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _figure(ncols: int, height: float, **kwargs):
    fig, axes = plt.subplots(1, ncols, figsize=(style.PRINT_WIDTH, height), squeeze=False, **kwargs)
    return fig, axes[0]


def pair_caption(data, i: int) -> str:
    """``pair i, label L, scenario (noise: image a, audio b)``, as far as ``data`` records them
    (``i``: the pair's number in its split, as :func:`~mmhelpers.plots.samples.players` names it)."""
    label, pair = int(data.labels[i]), int(data.meta["index"][i]) if "index" in data.meta else i
    text = f"pair {pair}, label {label if label >= 0 else '?'}"
    if "scenario" in data.meta:
        text += f", {data.meta['scenario'][i]}"
    if data.noise_known:
        text += f" (noise: image {data.meta['image_noise'][i]:.2f}, audio {data.meta['audio_noise'][i]:.2f})"
    return text


def members(data, scenario: str) -> np.ndarray:
    """The indices of the pairs of ``scenario`` (all pairs are ``"unknown"`` where none is recorded)."""
    return np.flatnonzero(np.asarray(data.meta.get("scenario", np.full(len(data), "unknown"))) == scenario)


def pick(data, scenario: str, rank: float, digit: int | None = None) -> int:
    """The pair of ``scenario`` (and of ``digit``, where it has one) that sits ``rank`` percent of the
    way along their noise (the severity of the noisier view; the order of the pairs where no noise
    is recorded), from the least noisy (0) to the noisiest (100)."""
    chosen = members(data, scenario)
    if digit is not None and (data.labels.numpy()[chosen] == digit).any():
        chosen = chosen[data.labels.numpy()[chosen] == digit]
    if not len(chosen):
        raise ValueError(f"pick: no pair of scenario {scenario!r}")
    noise = (np.maximum(data.meta["image_noise"], data.meta["audio_noise"]) if data.noise_known
             else np.arange(len(data)))
    chosen = chosen[np.argsort(noise[chosen], kind="stable")]
    return int(chosen[round(np.clip(rank, 0, 100) / 100 * (len(chosen) - 1))])


@lru_cache(maxsize=2)
def _logmel(sample_rate: int) -> LogMel:
    return LogMel(sample_rate=sample_rate)


def pair_view(data, i: int, sample_rate: int = 8000):
    """Pair ``i`` of ``data``: its image, its waveform and its log-mel spectrogram."""
    with torch.no_grad(), single_thread():
        spec = _logmel(sample_rate)(data.audio[i:i + 1])[0, 0].numpy()
    t = np.arange(data.audio.shape[-1]) / sample_rate
    fig, axes = _figure(3, 1.9, width_ratios=[1, 2, 2])
    axes[0].imshow(data.images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0].axis("off")
    axes[1].plot(t, data.audio[i, 0].numpy(), lw=0.4, color=style.MODALITY_COLORS["audio"])
    axes[1].set(xlim=(0, t[-1]), xlabel="time (s)", title="waveform")
    image = axes[2].imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=-14, vmax=8,
                           extent=[0, t[-1], 0, spec.shape[0]], interpolation="nearest")
    axes[2].grid(False)
    axes[2].set(xlabel="time (s)", ylabel="mel band", title="log-mel spectrogram")
    fig.colorbar(image, ax=axes[2], label="log mel power", fraction=0.08, pad=0.03)
    fig.suptitle(pair_caption(data, i), fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.9, bottom=0.25, top=0.76, wspace=0.45)
    return fig


def class_probs(probs: dict, label: int, image=None, title: str = ""):
    """Side by side, one column per model (name -> its 10 class probabilities for one pair), the
    classes down the side; the true ``label`` (if known, >= 0) in the model's colour, the other
    classes lighter. ``image``: the pair's image, shown first. One axes: it draws fast."""
    names = list(probs)
    fig = plt.figure(figsize=(style.PRINT_WIDTH, 2.3))
    left = 0.04
    if image is not None:
        fig.add_axes((0.0, 0.14, 0.105, 0.56)).imshow(np.asarray(image).reshape(28, 28), cmap="gray",
                                                   vmin=0, vmax=1)
        fig.axes[0].axis("off")
        left = 0.18
    ax = fig.add_axes((left, 0.1, 0.98 - left, 0.6))
    classes, gap = np.arange(10), 1.25
    for m, (name, color) in enumerate(zip(names, style.colors(names))):
        p = np.asarray(probs[name], dtype=float)
        alpha = np.where(classes == label, 1.0, 0.4)
        ax.barh(classes, p, left=m * gap, color=[(*color[:3], a) for a in alpha])
        ax.text(m * gap + 0.5, -0.9, f"{name.replace(' fusion', '')}\nsays {int(p.argmax())}",
                ha="center", va="bottom", fontsize=SMALL_PT)
    ax.set_xticks([m * gap + x for m in range(len(names)) for x in (0, 1)],
                  ["0", "1"] * len(names), fontsize=SMALL_PT)
    ax.set_xticks([m * gap - (gap - 1) / 2 for m in range(1, len(names))], minor=True)
    ax.grid(False)
    ax.grid(True, which="minor", axis="x", color="0.6", lw=0.8)
    ax.set_yticks(classes, [str(c) for c in classes], fontsize=SMALL_PT)
    ax.set(xlim=(-(gap - 1) / 2, len(names) * gap - (gap - 1) / 2), ylim=(9.6, -0.6))
    ax.set_ylabel("class", fontsize=SMALL_PT)
    if title:
        fig.suptitle(title, fontsize=9, y=0.98)
    return fig


def negative_weights(s_neg, weights: dict, tau: float, s_pos: float | None = None):
    """One panel per loss (name -> the weight of each negative), each negative a bar at its
    similarity to the anchor; dashed: the positive's similarity ``s_pos``."""
    s_neg = np.asarray(s_neg, dtype=float)
    fig, axes = _figure(len(weights), 2.4, sharey=True)
    hardest = int(s_neg.argmax())
    for ax, (name, w), color in zip(axes, weights.items(), ("C0", "C1", "C2")):
        w = np.asarray(w, dtype=float)
        ax.vlines(s_neg, 0, w, color=color, lw=2.5)
        if s_pos is not None:
            ax.axvline(float(s_pos), ls="--", color="grey", lw=1)
        ax.set(xlim=(-0.45, 1.0), ylim=(0, 1.02), xticks=[-0.4, 0, 0.4, 0.8],
               xlabel="similarity of the negative")
        ax.set_title(f"{name}\nhardest negative: {100 * w[hardest] / w.sum():.0f}% of the weight",
                     fontsize=9, fontweight="normal")
    axes[0].set_ylabel("weight")
    fig.suptitle(f"τ = {tau:g}", fontsize=10, y=0.98)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.2, top=0.74, wspace=0.08)
    return fig


def sweep_bars(sweep, modality: str, severity: float, chance: float = 10.0):
    """Every model's accuracy with ``modality`` corrupted at the computed severity nearest to
    ``severity`` (``sweep``: the long table of :func:`mmhelpers.analysis.robustness.noise_sweep`);
    a tick marks each model's accuracy at severity 0, a dotted line chance."""
    part = sweep[sweep.corrupted == modality]
    levels = np.unique(part.severity.to_numpy(float))
    s = float(levels[np.abs(levels - severity).argmin()])
    at = part[part.severity == s].set_index("model").accuracy
    clean = part[part.severity == part.severity.min()].set_index("model").accuracy.reindex(at.index)
    fig, axes = _figure(1, 0.32 * len(at) + 1.0)
    ax = axes[0]
    rows = np.arange(len(at))
    ax.barh(rows, at.values, color=style.colors(at.index))
    ax.plot(clean.values, rows, "|", ms=14, mew=2, color="black", label="severity 0")
    ax.axvline(chance, ls=":", color="grey", label="chance")
    ax.set_yticks(rows, list(at.index))
    ax.set(xlim=(0, 100), ylim=(len(at) - 0.5, -0.5), xlabel="test accuracy (%)",
           title=f"{modality} corrupted at severity {s:g}")
    # the legend right of the axes, where it covers no bar and no tick
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=SMALL_PT)
    fig.tight_layout()
    return fig


def translation_row(source_view, drawn: dict, source: str, title: str = ""):
    """The source view of one pair (an image, or a log-mel spectrogram for ``source="audio"``),
    then what each model draws from it (name -> the other modality): images on [0, 1],
    spectrograms on one colour scale."""
    views = {f"source {'image' if source == 'image' else 'spoken digit'}": source_view, **drawn}
    views = {k: np.asarray(v, dtype=float).squeeze() for k, v in views.items()}
    specs = [v for v in views.values() if v.shape != (28, 28)]
    low, high = np.percentile(np.concatenate([v.ravel() for v in specs]), [1, 99.5]) if specs else (0, 1)
    fig, axes = _figure(len(views), 1.9)
    for ax, (name, v) in zip(axes, views.items()):
        if v.shape == (28, 28):
            ax.imshow(v, cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(v, origin="lower", aspect="auto", cmap="magma", vmin=low, vmax=high)
        ax.set_xticks([]), ax.set_yticks([])
        ax.grid(False)
        ax.set_title(name, fontsize=SMALL_PT)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.04, top=0.74, wspace=0.15)
    return fig
