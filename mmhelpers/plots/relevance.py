"""The figures of notebook 4a: accuracy against the number of trained parameters, and the
relevance scores of the three terms as one modality is destroyed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from . import style

TERM_COLORS = {"image": style.MODALITY_COLORS["image"], "audio": style.MODALITY_COLORS["audio"],
               "image ⊗ audio": style.FAMILY_COLORS["tensor"]}


def accuracy_vs_parameters(table, title: str = "accuracy against size"):
    """One point per model (``table``: index model name, columns ``parameters`` and
    ``accuracy (%)``; models whose name starts with "LMF" are joined by a line, in rank order),
    on a logarithmic parameter axis."""
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    lmf = table[table.index.str.startswith("LMF")].sort_values("parameters")
    colors = dict(zip(table.index, style.colors(table.index)))   # LMF: shades of TFN's
    line_color = colors[lmf.index[len(lmf) // 2]] if len(lmf) else None
    ax.plot(lmf["parameters"], lmf["accuracy (%)"], color=line_color, lw=1, alpha=0.6)
    for k, (name, row) in enumerate(table.iterrows()):
        low_rank = name.startswith("LMF")
        ax.scatter(row["parameters"], row["accuracy (%)"], color=colors[name], zorder=3,
                   marker="s" if low_rank else "o", s=28)
        # LMF points sit close together: label them by their rank, alternately above and below
        left = low_rank and k % 2 and name != lmf.index[-1]  # the last one has room on its right
        text = name.replace("LMF ", "") if low_rank else name
        offset = (-4, 4) if left else (3, -11) if low_rank and not k % 2 else (4, 3)
        ax.annotate(text, (row["parameters"], row["accuracy (%)"]), xytext=offset, textcoords="offset points",
                    fontsize=8, ha="right" if left else "left")
    if len(lmf):
        ax.plot([], [], "s", color=line_color, label="LMF, rank r")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)   # off the data
    ax.set(xscale="log", xlabel="trained parameters (log scale)", ylabel="test accuracy (%)", title=title)
    low, high = table["accuracy (%)"].min(), table["accuracy (%)"].max()
    pad = max(0.2, 0.15 * (high - low))
    ax.set_ylim(low - pad, high + 2 * pad)
    left, right = table["parameters"].min(), table["parameters"].max()
    ax.set_xlim(left / 2, right * 6)
    style.plain_log_ticks(*fig.axes)
    fig.tight_layout()
    return fig


#: a panel's title for each kind of terms (:attr:`~mmhelpers.models.relevance.RelevanceFusion.kind`)
KIND_TITLES = {"raw": "raw terms", "scaled": "scaled only", "centred": "centred and scaled"}


def relevance_sweep(frame, modality: str):
    """``frame``: rows ``severity``, ``term``, ``beta`` and ``terms`` (raw, scaled or centred);
    one panel per kind of terms, one line per term, as ``modality`` is destroyed."""
    kinds = list(dict.fromkeys(frame["terms"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(6.4, 3.3), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        part = frame[frame["terms"] == kind]
        sns.lineplot(data=part, x="severity", y="beta", hue="term", marker="o", ax=ax, palette=TERM_COLORS,
                     legend=kind == kinds[-1])
        ax.set(title=KIND_TITLES.get(kind, f"{kind} terms"), xlabel="", ylabel="relevance β (‖β‖₂ = 1)",
               ylim=(0, 1.05))
    fig.supxlabel(f"{modality} noise severity (training pairs)", fontsize=10)
    handles, labels = axes[0][-1].get_legend_handles_labels()
    axes[0][-1].get_legend().remove()
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    return fig


def validation_curves(histories: dict, title: str = "validation accuracy per epoch"):
    """Validation accuracy per epoch of each model (``histories``: name to
    :class:`~mmhelpers.training.trainer.History`), the kept epoch circled; LMF ranks in lighter
    shades of the tensor family's colour (TFN's), lighter for larger ranks."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    colors = dict(zip(histories, style.colors(histories)))   # LMF: shades of TFN's colour
    for name, hist in histories.items():
        df = hist.frame()
        color = colors[name]
        line = "-" if name.startswith("LMF") else "--" if name == "TFN" else ":"
        ax.plot(df.epoch, 100 * df.val_acc, line, color=color, lw=1.5, label=name)
        best = hist.best
        ax.plot(best["epoch"], 100 * best["val_acc"], "o", ms=6, mfc="none", color=color)
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title=title)
    top = max(100 * h.frame().val_acc.max() for h in histories.values())
    ax.set_ylim(top - 6, top + 0.8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return fig
