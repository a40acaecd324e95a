"""The figures of notebooks 2c and 2d: how NT-Xent and NT-Logistic weight their negatives, and
how the gradient's size follows the temperature. The weights and gradients themselves are the
closed forms of :mod:`mmhelpers.losses`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import losses
from . import style


def _sims(u, v_pos, v_neg):
    return (u @ v_pos), (v_neg @ u)


def plot_weights_vs_similarity(batches: dict, taus=(0.05, 0.1, 0.2, 0.5, 1.0)):
    """Each negative's weight against its similarity, one colour per tau; one column per batch
    (``name -> (u, v_pos, v_neg)``, titled "<name> set"). Top: NT-Xent ``exp(s_k/tau)/Z`` (log scale);
    bottom: NT-Logistic ``sigma(s_k/tau)`` (one curve for all batches; dots: the batch). Dashed:
    ``s+``. The legend sits below the panels, where it covers no data."""
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(taus)))
    fig, axes = plt.subplots(2, len(batches), figsize=(3.2 * len(batches) + 0.2, 5.4),
                             squeeze=False, sharex=True, layout="constrained")
    grid = torch.linspace(-1, 1, 201, dtype=torch.float64)
    smallest = 1.0
    for col, (name, batch) in enumerate(batches.items()):
        s_pos, s_neg = _sims(*batch)
        order = torch.argsort(s_neg)
        for tau, c in zip(taus, colors):
            w = losses.nt_xent_weights(s_pos, s_neg, tau)[1]
            smallest = min(smallest, float(w.min()))
            axes[0, col].plot(s_neg[order], w[order], "o-", ms=3, lw=1, color=c, label=f"τ = {tau:g}")
            axes[1, col].plot(grid, torch.sigmoid(grid / tau), lw=1, color=c)
            axes[1, col].plot(s_neg, torch.sigmoid(s_neg / tau), "o", ms=3, color=c)
        axes[0, col].set(yscale="log", title=f"NT-Xent, {name} set", ylabel="exp(s/τ)/Z")
        axes[1, col].set(title=f"NT-Logistic, {name} set", ylabel="σ(s/τ)", xlabel="similarity s of a negative")
        for ax in axes[:, col]:
            ax.axvline(float(s_pos), ls="--", color="grey", lw=1, label="s⁺ (the positive)")
    for ax in axes[0]:                       # every weight drawn, the smallest included
        ax.set_ylim(smallest / 3, 1.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()   # below the panels: it hides no data
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8,
               frameon=False)
    style.plain_log_ticks(*fig.axes)
    return fig


def plot_weights_over_tau(u, v_pos, v_neg, taus=None):
    """One batch's weights against tau (log axis). Left: NT-Xent's softmax over the positive (grey)
    and the negatives (coloured by similarity), stacked to 1. Middle: the hardest negative's share
    of all negative weight. Right: NT-Logistic's weights ``sigma(s_k/tau)``."""
    taus = np.geomspace(0.01, 100, 161) if taus is None else np.asarray(taus)
    s_pos, s_neg = _sims(u, v_pos, v_neg)
    order = torch.argsort(s_neg).numpy()
    xent = np.stack([losses.nt_xent_weights(s_pos, s_neg, t)[1].numpy() for t in taus])  # (T, K)
    logi = np.stack([losses.nt_logistic_weights(s_pos, s_neg, t)[1].numpy() for t in taus])
    cmap, norm = plt.cm.coolwarm, plt.Normalize(-1, 1)
    colors = cmap(norm(s_neg.numpy()[order]))
    fig, axes = plt.subplot_mosaic([["xent", "logi"], ["share", "share"]],
                                   figsize=(6.5, 5.4), layout="constrained")
    axes["xent"].stackplot(taus, *xent[:, order].T, 1 - xent.sum(1),
                           colors=[*colors, (0.8, 0.8, 0.8)])
    axes["xent"].set(xscale="log", ylim=(0, 1), xlabel="τ", ylabel="softmax weight",
                     title="NT-Xent (grey: positive)")
    for k, c in zip(order, colors):
        axes["logi"].plot(taus, logi[:, k], color=c, lw=1)
    axes["logi"].set(xscale="log", ylim=(-0.02, 1.02), xlabel="τ", ylabel="σ(s/τ)",
                     title="NT-Logistic weights")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=[axes["xent"], axes["logi"]],
                 label="similarity of the negative")
    hard = int(torch.argmax(s_neg))
    axes["share"].plot(taus, xent[:, hard] / xent.sum(1), label="NT-Xent")
    axes["share"].plot(taus, logi[:, hard] / logi.sum(1), label="NT-Logistic")
    axes["share"].axhline(1 / len(s_neg), ls=":", color="grey", label="1/K (uniform)")
    axes["share"].set(xscale="log", yscale="log", xlabel="τ", ylabel="share",
                      title="the hardest negative's share of all negative weight")
    axes["share"].legend()
    style.plain_log_ticks(*fig.axes)
    return fig


def plot_grad_norm_over_tau(batches: dict, taus=None):
    """``||dL/du||`` of both closed-form gradients against tau (log-log), with a ``1/tau`` guide;
    the legend to the right of the axes, off the curves."""
    taus = np.geomspace(0.01, 100, 81) if taus is None else np.asarray(taus)
    fig, ax = plt.subplots(figsize=(6.3, 3.6), layout="constrained")
    for (name, batch), ls in zip(batches.items(), ("-", "--", ":")):
        for label, grad, c in (("NT-Xent", losses.nt_xent_grad, "C0"), ("NT-Logistic", losses.nt_logistic_grad, "C1")):
            ax.plot(taus, [float(grad(*batch, t).norm()) for t in taus], ls=ls, color=c, label=f"{label}, {name}")
    ax.plot(taus, 1 / taus, color="grey", lw=0.8, label="1/τ")
    ax.set(xscale="log", yscale="log", ylim=(1e-8, None), xlabel="τ", ylabel="‖∂L/∂u‖",
           title="gradient size against temperature")
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)   # off the curves
    style.plain_log_ticks(*fig.axes)
    return fig
