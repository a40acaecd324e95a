"""The figures of notebook 4b: the best score found against the number of configurations
trained, and the surrogate's predictions against the measured scores."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from . import style

SEARCH_COLORS = {"random": style.FAMILY_COLORS["other"], "MFAS": style.FAMILY_COLORS["tensor"]}


def best_so_far(frame, first_step: int, title: str = "best validation accuracy found"):
    """``frame``: rows ``search``, ``seed``, ``trained`` (configurations so far, in the search's
    own order), ``best`` (%). Each seed as a thin line (with markers where a search has few
    points), the mean over seeds as a thick one. Left: the whole search; right: from
    ``first_step`` configurations on. Each panel's y-axis shows every point it draws."""
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.2))
    for ax, start in zip(axes, (0, first_step)):
        part = frame[frame["trained"] >= start]
        for name, rows in part.groupby("search", sort=False):
            color = SEARCH_COLORS.get(name, style.FAMILY_COLORS["other"])
            marker = "o" if rows.groupby("seed").size().max() < 30 else None
            for _, seed_rows in rows.groupby("seed"):
                ax.plot(seed_rows["trained"], seed_rows["best"], color=color, lw=0.7,
                        alpha=0.5, marker=marker, ms=3)
            mean = rows.groupby("trained")["best"].mean()
            ax.plot(mean.index, mean, color=color, lw=2, label=f"{name} (mean over seeds)")
        low, high = part["best"].min(), part["best"].max()
        pad = max(0.05 * (high - low), 0.05)
        ax.set_ylim(low - pad, high + pad)
        ax.set(xlabel="configurations trained", ylabel="best validation accuracy (%)")
    axes[0].set_title(title)
    axes[1].set_title(f"from {first_step} configurations on")
    axes[1].legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def surrogate_scatter(frame, rho: float):
    """``frame``: rows ``predicted`` and ``measured`` (%), ``step``; with Spearman's ``rho``."""
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    sns.scatterplot(data=frame, x="predicted", y="measured", hue="step", palette="viridis", ax=ax, s=22)
    low = min(frame["predicted"].min(), frame["measured"].min())
    high = max(frame["predicted"].max(), frame["measured"].max())
    ax.plot([low, high], [low, high], color="grey", lw=0.8, ls=":")
    ax.set(xlabel="surrogate's prediction (%)", ylabel="measured validation accuracy (%)",
           title=f"surrogate against measurement (Spearman ρ = {rho:.2f})")
    ax.legend(title="step", frameon=False)
    fig.tight_layout()
    return fig
