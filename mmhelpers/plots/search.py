"""The figures of notebook 4b: the best score found against the number of candidates trained,
and the surrogate's predictions against the measured scores."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from . import style

SEARCH_COLORS = {"random": style.FAMILY_COLORS["other"], "model-based": style.FAMILY_COLORS["tensor"]}


def best_so_far(frame, title: str = "best validation accuracy found"):
    """``frame``: rows ``search``, ``seed``, ``trained`` (candidates so far), ``best`` (%); the
    mean over seeds as a line, the range over seeds as a band."""
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    for name, part in frame.groupby("search", sort=False):
        by = part.groupby("trained")["best"]
        mean, low, high = by.mean(), by.min(), by.max()
        color = SEARCH_COLORS.get(name, style.FAMILY_COLORS["other"])
        ax.plot(mean.index, mean, color=color, label=f"{name} (mean over seeds)")
        ax.fill_between(mean.index, low, high, color=color, alpha=0.2, lw=0)
    ax.set(xlabel="candidates trained", ylabel="best validation accuracy (%)", title=title)
    lows = frame.groupby(["search", "trained"])["best"].min()
    ax.set_ylim(lows.quantile(0.05) - 0.5, frame["best"].max() + 0.3)
    ax.legend(loc="lower right", frameon=False)
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
