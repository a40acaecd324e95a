"""Looking at pairs: image grids, waveforms with their spectrograms, and audio players.

Five samples take the width of a printed page (:data:`~mmhelpers.plots.style.PRINT_WIDTH`),
so every caption prints at 7 pt or more. Colour that encodes a value has a colour bar;
waveforms keep their amplitude axis.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Audio, display

from ..features.logmel import LogMel

COLUMN_WIDTH = 1.15  # inches per sample: five fill a printed page
CAPTION_PT = 8


def caption(data, i) -> str:
    """The label and, where recorded, the scenario (the severities are too long for a
    caption: :func:`mmhelpers.analysis.evaluate.sample_table` lists them)."""
    label = int(data.labels[i])
    text = f"label {label}" if label >= 0 else "label ?"
    if "scenario" in data.meta and data.meta["scenario"][i] != "unknown":
        text += f"\n{data.meta['scenario'][i].replace('_', ' ')}"
    return text


def image_grid(data, idx, title: str = "", ncols: int = 5):
    """Images of ``data[idx]`` with label and scenario/noise in each caption."""
    idx = list(idx)
    nrows = -(-len(idx) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_WIDTH * ncols, 1.9 * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx):
        ax.imshow(data.images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(caption(data, i), fontsize=CAPTION_PT)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _audio_views(data, idx, sample_rate: int):
    """Time axis (s) and log-mel spectrograms (len(idx), mels, frames) of ``data.audio[idx]``."""
    with torch.no_grad():
        specs = LogMel(sample_rate=sample_rate)(data.audio[list(idx)]).numpy()[:, 0]
    return np.arange(data.audio.shape[-1]) / sample_rate, specs


def _draw_audio(fig, wave_axes, spec_axes, data, idx, sample_rate: int) -> None:
    """Waveforms (shared amplitude axis, labelled on the first) and log-mel spectrograms
    (one colour scale, with its colour bar)."""
    t, specs = _audio_views(data, idx, sample_rate)
    low, high = np.percentile(specs, [1, 99.9])
    for j, i in enumerate(idx):
        wave_axes[j].plot(t, data.audio[i, 0].numpy(), lw=0.4, color="C1")
        wave_axes[j].set(xticks=[], xlim=(0, t[-1]))
        image = spec_axes[j].imshow(specs[j], origin="lower", aspect="auto", cmap="magma",
                                    vmin=low, vmax=high, extent=[0, t[-1], 0, specs.shape[1]])
        spec_axes[j].grid(False)
        spec_axes[j].set(xlabel="time (s)", xticks=[0, 0.5, 1])
        if j:
            wave_axes[j].tick_params(labelleft=False)
            spec_axes[j].set(yticks=[])
    wave_axes[0].set_ylabel("amplitude")
    spec_axes[0].set_ylabel("mel band")
    fig.colorbar(image, ax=list(spec_axes), label="log mel power", fraction=0.03, pad=0.02)


def audio_panels(data, idx, title: str = "", sample_rate: int = 8000):
    """Waveform (top) and log-mel spectrogram (bottom) of each pair in ``data[idx]``."""
    idx = list(idx)
    fig, axes = plt.subplots(2, len(idx), figsize=(COLUMN_WIDTH * len(idx) + 0.7, 3.9),
                             squeeze=False, sharey="row", layout="constrained")
    _draw_audio(fig, axes[0], axes[1], data, idx, sample_rate)
    for j, i in enumerate(idx):
        axes[0, j].set_title(caption(data, i), fontsize=CAPTION_PT)
    if title:
        fig.suptitle(title)
    return fig


def pair_panels(data, idx, title: str = "", sample_rate: int = 8000):
    """Whole pairs, one per column: the image (top), the waveform and the log-mel spectrogram."""
    idx = list(idx)
    fig, axes = plt.subplots(3, len(idx), figsize=(COLUMN_WIDTH * len(idx) + 0.7, 5.2),
                             squeeze=False, gridspec_kw={"height_ratios": [1.4, 0.8, 1.0]},
                             layout="constrained")
    for j, i in enumerate(idx):
        axes[0, j].imshow(data.images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[0, j].axis("off")
        axes[0, j].set_title(caption(data, i), fontsize=CAPTION_PT)
    for row in (1, 2):   # one amplitude scale and one mel axis for the whole row
        for ax in axes[row, 1:]:
            ax.sharey(axes[row, 0])
    _draw_audio(fig, axes[1], axes[2], data, idx, sample_rate)
    if title:
        fig.suptitle(title)
    return fig


def players(data, idx, sample_rate: int = 8000) -> None:
    """Playable clips of ``data[idx]`` (each normalised), as one output: players in
    JupyterLab and HTML; in a PDF, one line that names the pairs."""
    rows, names = [], []
    for i in idx:
        pair = int(data.meta["index"][i]) if "index" in data.meta else int(i)
        text = caption(data, i).replace("\n", ", ")
        if "image_noise" in data.meta:
            text += (f", noise: image {data.meta['image_noise'][i]:.2f}, "
                     f"audio {data.meta['audio_noise'][i]:.2f}")
        player = Audio(data.audio[i, 0].numpy(), rate=sample_rate, normalize=True)
        rows.append(f"<div><b>pair {pair}</b>: {text}<br>{player._repr_html_()}</div>")
        names.append(str(pair))
    plain = f"[audio players for pairs {', '.join(names)}: open the notebook to listen]"
    display({"text/html": "\n".join(rows), "text/plain": plain}, raw=True)
