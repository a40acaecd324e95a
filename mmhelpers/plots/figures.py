"""Figures: the one save helper, and the plots the notebooks share."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from IPython.display import HTML, Audio, display

from .. import config
from ..features.logmel import LogMel


def savefig(fig, name: str, quick: bool | None = None) -> Path:
    """Save ``fig`` as ``<figures>/<name>.png`` and ``.pdf``; return the PNG path.

    ``name`` is a bare file stem such as ``"1a_curves"`` (no directory, no extension). In a notebook
    (matplotlib's inline backend) the saved files are also what the notebook shows: the PNG for
    JupyterLab and, in full mode, the PDF for the exported report; the figure is then closed, so
    a following ``plt.show()`` draws nothing twice. (Rendering each figure once instead of twice
    took a fifth off a warm run of the series.)
    """
    if not name or Path(name).name != name or Path(name).suffix in {".png", ".pdf"}:
        raise ValueError(f"savefig: name must be a bare file stem like '1a_curves', got {name!r}")
    out = config.figures_dir(quick)
    out.mkdir(parents=True, exist_ok=True)
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    bbox = _tight_bbox(fig)
    fig.savefig(png, bbox_inches=bbox, dpi=SAVE_DPI)
    fig.savefig(pdf, bbox_inches=bbox, metadata={"CreationDate": None})  # same figure, same bytes
    if "inline" in plt.get_backend():
        _show_saved(png, pdf if not config.is_quick(quick) else None)
        plt.close(fig)
    return png


def _tight_bbox(fig):
    """The figure's tight bounding box (inches, with matplotlib's padding), found once for both
    files. ``bbox_inches="tight"`` would lay the figure out again for each format: one draw more
    per file (a warm run of the series spent a tenth of its time on it)."""
    if not hasattr(fig.canvas, "get_renderer"):  # a canvas without its own renderer: let matplotlib do it
        return "tight"
    fig.draw_without_rendering()  # layout engines (tight, constrained) run on draw
    return fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])


#: resolution of the saved PNGs; notebooks show them at the screen's 100 dpi (sharp on high-DPI screens)
SAVE_DPI = 150


def _show_saved(png: Path, pdf: Path | None) -> None:
    """Display saved files as one output, as the inline backend would (PNG, plus PDF for LaTeX export)."""
    data = png.read_bytes()
    width, height = struct.unpack(">II", data[16:24])  # the PNG header's IHDR chunk
    scale = plt.rcParams["figure.dpi"] / SAVE_DPI
    bundle = {"image/png": base64.b64encode(data).decode("ascii"), "text/plain": f"<Figure {png.stem}>"}
    if pdf is not None:
        bundle["application/pdf"] = base64.b64encode(pdf.read_bytes()).decode("ascii")
    display(bundle, raw=True, metadata={"image/png": {"width": round(width * scale), "height": round(height * scale)}})


def save_table(table, name: str, quick: bool | None = None, digits: int = 2) -> Path:
    """Save a DataFrame as a Markdown table ``<figures>/<name>.md`` (e.g. for the README)."""
    if not name or Path(name).name != name or Path(name).suffix:
        raise ValueError(f"save_table: name must be a bare file stem like '1f_results', got {name!r}")
    cell = lambda v: f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    head = [str(table.index.name or "")] + [str(c) for c in table.columns]
    rows = [[str(i)] + [cell(v) for v in r] for i, r in zip(table.index, table.itertuples(index=False))]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    out = config.figures_dir(quick)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def close(fig) -> None:
    plt.close(fig)


# ----------------------------------------------------------------------------- training curves

def curves(histories: dict, title: str = ""):
    """Training loss (left) and validation/test accuracy (right) per epoch for each model.

    ``histories`` maps a model name to a :class:`mmhelpers.training.trainer.History`; the epoch whose
    weights were kept (best validation accuracy) is marked with a dot.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    palette = sns.color_palette("deep", len(histories))
    for color, (name, hist) in zip(palette, histories.items()):
        df = hist.frame()
        ax_loss.plot(df.epoch, df.train_loss, "-o", ms=3, color=color, label=f"{name} train")
        ax_loss.plot(df.epoch, df.val_loss, "--", color=color, alpha=0.7, label=f"{name} val")
        if "test_acc" in df:
            ax_acc.plot(df.epoch, 100 * df.test_acc, "-o", ms=3, color=color, label=f"{name} test")
        ax_acc.plot(df.epoch, 100 * df.val_acc, "--", color=color, alpha=0.7, label=f"{name} val")
        best = hist.best
        ax_acc.plot(best["epoch"], 100 * best.get("test_acc", best["val_acc"]), "o", ms=9, mfc="none",
                    color=color)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="training loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy (circle: kept epoch)")
    for ax in (ax_loss, ax_acc):
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- samples

def image_grid(data, idx, title: str = "", ncols: int = 5):
    """Images of ``data[idx]`` with label and scenario/noise in each caption."""
    idx = list(idx)
    nrows = -(-len(idx) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.5 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx):
        ax.imshow(data.images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(_caption(data, i), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _caption(data, i) -> str:
    label = int(data.labels[i])
    text = f"label {label}" if label >= 0 else "label ?"
    if "scenario" in data.meta and data.meta["scenario"][i] != "unknown":
        text += f" · {data.meta['scenario'][i]}"
        if "image_noise" in data.meta:
            text += f"\nnoise: img {data.meta['image_noise'][i]:.2f}, aud {data.meta['audio_noise'][i]:.2f}"
    return text


def _audio_views(data, idx, sample_rate: int):
    """Time axis (s) and log-mel spectrograms (len(idx), mels, frames) of ``data.audio[idx]``."""
    with torch.no_grad():
        specs = LogMel(sample_rate=sample_rate)(data.audio[list(idx)]).numpy()[:, 0]
    return np.arange(data.audio.shape[-1]) / sample_rate, specs


def _wave_and_spectrogram(ax_wave, ax_spec, wave, spec, t) -> None:
    ax_wave.plot(t, wave, lw=0.4, color="C0")
    ax_spec.imshow(spec, origin="lower", aspect="auto", cmap="magma", extent=[0, t[-1], 0, spec.shape[0]])
    ax_spec.grid(False)


def audio_panels(data, idx, title: str = "", sample_rate: int = 8000):
    """Waveform (top) and log-mel spectrogram (bottom) of each pair in ``data[idx]``."""
    idx = list(idx)
    t, specs = _audio_views(data, idx, sample_rate)
    fig, axes = plt.subplots(2, len(idx), figsize=(2.4 * len(idx), 4.2), squeeze=False)
    for j, i in enumerate(idx):
        _wave_and_spectrogram(axes[0, j], axes[1, j], data.audio[i, 0].numpy(), specs[j], t)
        axes[0, j].set_title(_caption(data, i), fontsize=7)
        axes[0, j].set(xlabel="s", yticks=[])
        axes[1, j].set(xlabel="s", ylabel="mel band" if j == 0 else "")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def pair_panels(data, idx, title: str = "", sample_rate: int = 8000):
    """Whole pairs, one per column: the image (top), the waveform and the log-mel spectrogram."""
    idx = list(idx)
    t, specs = _audio_views(data, idx, sample_rate)
    fig, axes = plt.subplots(3, len(idx), figsize=(2.3 * len(idx), 6.0), squeeze=False,
                             gridspec_kw={"height_ratios": [1.6, 0.8, 1.0]})
    for j, i in enumerate(idx):
        axes[0, j].imshow(data.images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[0, j].axis("off")
        axes[0, j].set_title(_caption(data, i), fontsize=7)
        _wave_and_spectrogram(axes[1, j], axes[2, j], data.audio[i, 0].numpy(), specs[j], t)
        axes[1, j].set(xticks=[], yticks=[])
        axes[2, j].set(xlabel="s", yticks=[])
    axes[1, 0].set_ylabel("waveform")
    axes[2, 0].set_ylabel("log-mel")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def players(data, idx, sample_rate: int = 8000):
    """Playable audio widgets (IPython.display.Audio) for ``data[idx]``, each normalised."""
    for i in idx:
        display(HTML(f"<b>pair {int(data.meta['index'][i]) if 'index' in data.meta else i}</b>: "
                     f"{_caption(data, i).replace(chr(10), ', ')}"))
        display(Audio(data.audio[i, 0].numpy(), rate=sample_rate, normalize=True))


# ----------------------------------------------------------------------------- comparisons

def confusion_matrices(matrices: dict, title: str = ""):
    """Row-normalised confusion matrices side by side (seaborn heatmaps, in %)."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.8), squeeze=False)
    for ax, (name, cm) in zip(axes.flat, matrices.items()):
        sns.heatmap(100 * cm, ax=ax, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False,
                    annot_kws={"fontsize": 7}, square=True)
        ax.set(title=name, xlabel="predicted", ylabel="true")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def accuracy_bars(table, title: str = "", errors=None, ylim=(0, 100)):
    """Grouped bars from a DataFrame (rows: models, columns: overall / scenarios), in %.

    ``errors`` is an optional DataFrame of the same shape (e.g. std over seeds) drawn as error bars.
    """
    long = table.reset_index(names="model").melt(id_vars="model", var_name="subset", value_name="accuracy")
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(table.columns) * max(1, len(table) / 3)), 3.8))
    sns.barplot(data=long, x="subset", y="accuracy", hue="model", ax=ax)
    if errors is not None:
        for container, model in zip(ax.containers, table.index):
            xs = [bar.get_x() + bar.get_width() / 2 for bar in container]
            ax.errorbar(xs, table.loc[model].values, yerr=errors.loc[model].values, fmt="none",
                        ecolor="black", capsize=2, lw=1)
    ax.set(ylim=ylim, ylabel="test accuracy (%)", xlabel="", title=title)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)  # never over a bar
    fig.tight_layout()
    return fig
