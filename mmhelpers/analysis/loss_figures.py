"""Helpers for notebooks 2a-2d (NT-Xent vs NT-Logistic): numeric checks against autograd, test
batches, Markdown tables and the weight figures.

The numeric losses live in :mod:`mmhelpers.losses`; this module only explains them. The exam's
equations in sympy and the symbolic checks are in :mod:`mmhelpers.analysis.loss_symbolic`. Equation numbers are the exam's: (1) batch
NT-Xent, (2) one-anchor NT-Xent objective, (3) its gradient, (4) the partition function ``Z(u)``,
(5) NT-Logistic, (6) its gradient.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from .. import losses
from .loss_symbolic import is_zero

# ----------------------------------------------------------------------------- numeric checks


def unit_with_similarity(u: torch.Tensor, s: float, gen: torch.Generator) -> torch.Tensor:
    """A random unit vector ``v`` with ``u.v = s`` exactly (``u`` a unit vector)."""
    w = torch.randn(u.shape, generator=gen, dtype=u.dtype)
    w = F.normalize(w - (w @ u) * u, dim=0)
    return s * u + (1 - s * s) ** 0.5 * w


def random_anchor(d: int, K: int, dtype=torch.float64, seed: int = 0):
    """Random unit vectors ``u``, ``v_pos`` (shape ``(d,)``) and ``v_neg`` (``(K, d)``)."""
    gen = torch.Generator().manual_seed(seed)
    unit = lambda *shape: F.normalize(torch.randn(*shape, d, generator=gen, dtype=dtype), dim=-1)  # noqa: E731
    return unit(), unit(), unit(K)


def anchor_batch(kind: str, d: int = 64, K: int = 40, s_pos: float = 0.8, seed: int = 0):
    """An anchor, its positive at similarity ``s_pos`` and ``K`` negatives (float64).

    ``"easy"``: random negatives (similarities near 0, spread ``~1/sqrt(d)``). ``"hard"``: four of
    them replaced by negatives at similarities 0.5, 0.65, 0.75 and 0.9 (the last closer to the
    anchor than its positive, like another recording of the same digit).
    """
    if kind not in ("easy", "hard"):
        raise ValueError(f"anchor_batch: kind must be 'easy' or 'hard', got {kind!r}")
    u, _, v_neg = random_anchor(d, K, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    v_pos = unit_with_similarity(u, s_pos, gen)
    if kind == "hard":
        for k, s in enumerate((0.5, 0.65, 0.75, 0.9)):
            v_neg[k] = unit_with_similarity(u, s, gen)
    return u, v_pos, v_neg


def autograd_errors(objective, grad, ds=(2, 8, 64), Ks=(1, 5, 40), taus=(0.05, 0.2, 1.0, 5.0), seed=0) -> list:
    """Rows ``(d, K, tau, max |autograd - closed form|, |closed form|)`` on random unit anchors (float64)."""
    rows = []
    for d in ds:
        for K in Ks:
            for tau in taus:
                u, v_pos, v_neg = random_anchor(d, K, seed=seed + 1000 * d + K)
                u.requires_grad_(True)
                (auto,) = torch.autograd.grad(objective(u, v_pos, v_neg, tau), u)
                closed = grad(u.detach(), v_pos, v_neg, tau)
                rows.append((d, K, tau, float((auto - closed).abs().max()), float(closed.norm())))
    return rows


def autograd_report(objective, grad, name: str) -> tuple[float, str]:
    """:func:`autograd_errors` summarised: ``(worst relative error, one Markdown sentence)``."""
    rows = autograd_errors(objective, grad)
    worst = max(err / max(1.0, norm) for *_, err, norm in rows)
    grid = ", ".join(f"{k} ∈ {{{', '.join(f'{v:g}' for v in sorted({r[i] for r in rows}))}}}"
                     for i, k in enumerate(("d", "K", "τ")))
    return worst, (f"Autograd against `{name}` on {len(rows)} random unit anchors ({grid}), float64: largest "
                   f"difference {worst:.1e}, relative to max(1, ‖∂L/∂u‖).")


def normalised_input_check(objective, grad, d=16, K=8, tau=0.2, scale=2.5, seed=0) -> dict:
    """Autograd through ``u = x/||x||`` (``||x|| = scale``) against eq. (3)/(6) with and without the
    projection ``(I - u u^T)/||x||``; also the radial components ``x.grad``."""
    u, v_pos, v_neg = random_anchor(d, K, seed=seed)
    x = (scale * u).requires_grad_(True)
    (auto,) = torch.autograd.grad(objective(F.normalize(x, dim=0), v_pos, v_neg, tau), x)
    raw = grad(u, v_pos, v_neg, tau)
    projected = (torch.eye(d, dtype=u.dtype) - torch.outer(u, u)) @ raw / scale
    return {"|auto - projected|": float((auto - projected).abs().max()),
            "|auto - eq|": float((auto - raw).abs().max()),
            "u.eq": float(u @ raw), "x.auto": float(x.detach() @ auto)}


def batch_anchors(z1: torch.Tensor, z2: torch.Tensor):
    """The ``2N`` anchors of a batch as eq. (2) sees them: ``U (2N,d)``, ``V+ (2N,d)``, ``V- (2N,2N-2,d)``."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = len(z)
    pos = (torch.arange(n2) + n2 // 2) % n2
    neg = [[k for k in range(n2) if k not in (i, int(pos[i]))] for i in range(n2)]
    return z, z[pos], z[torch.tensor(neg)]


def nt_xent_naive(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. (1) typed in literally (``exp``, masked sum, ``log``) in the inputs' dtype: it overflows."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = len(z)
    e = torch.exp(z @ z.T / tau)
    den = (e * (1 - torch.eye(n2, dtype=z.dtype))).sum(dim=1)
    pos = (torch.arange(n2) + n2 // 2) % n2
    return -torch.log(e[torch.arange(n2), pos] / den).mean()


def stability_rows(z1: torch.Tensor, z2: torch.Tensor, taus=(1.0, 0.1, 0.02, 0.01, 0.001)) -> list:
    """Per tau: naive and stable NT-Xent in float32, then in float64, and whether the stable
    float32 gradient is finite."""
    rows = []
    for tau in taus:
        vals = [float(f(z1.detach().to(dt), z2.detach().to(dt), tau))
                for dt in (torch.float32, torch.float64) for f in (nt_xent_naive, losses.nt_xent)]
        x = z1.detach().to(torch.float32).clone().requires_grad_(True)
        losses.nt_xent(x, z2.detach().to(torch.float32), tau).backward()
        rows.append((tau, *vals, bool(torch.isfinite(x.grad).all())))
    return rows


# ----------------------------------------------------------------------------- Markdown tables


def _shown_len(text: str) -> int:
    """Rough printed width of Markdown with LaTeX: a command counts as two characters, markup as none."""
    return len(re.sub(r"[${}^_\\]", "", re.sub(r"\\[a-zA-Z]+", "xx", text)))


def md_table(headers, rows, fmt: str = "{:.3g}") -> str:
    """A Markdown table (floats through ``fmt``) for ``IPython.display.Markdown``.

    The separator's dashes follow each column's longest entry: pandoc sizes the columns of wide
    tables by them in the PDF export.
    """
    cell = lambda v: fmt.format(v) if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    body = [[cell(v) for v in row] for row in rows]
    widths = [2 + max(6, *(_shown_len(c) for c in [str(h), *(r[i] for r in body)])) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "|".join("-" * w for w in widths) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def zero_table(claims: dict) -> tuple[bool, str]:
    """Run :func:`is_zero` on every expression of ``claims`` (LaTeX label -> expression); return
    ``(all zero, Markdown table)``."""
    results = {label: is_zero(expr) for label, expr in claims.items()}
    return all(results.values()), md_table(["expression (sympy)", "simplifies to 0"],
                                           [(k, "yes" if v else "**NO**") for k, v in results.items()])


# ----------------------------------------------------------------------------- figures


def _sims(u, v_pos, v_neg):
    return (u @ v_pos), (v_neg @ u)


def plot_weights_vs_similarity(batches: dict, taus=(0.05, 0.1, 0.2, 0.5, 1.0)):
    """Each negative's weight against its similarity, one colour per tau; one column per batch
    (``name -> (u, v_pos, v_neg)``). Top: NT-Xent ``exp(s_k/tau)/Z`` (log scale); bottom:
    NT-Logistic ``sigma(s_k/tau)`` (one curve for all batches; dots: the batch). Dashed: ``s+``."""
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(taus)))
    fig, axes = plt.subplots(2, len(batches), figsize=(3.2 * len(batches) + 0.2, 5.0),
                             squeeze=False, sharex=True)
    grid = torch.linspace(-1, 1, 201, dtype=torch.float64)
    for col, (name, batch) in enumerate(batches.items()):
        s_pos, s_neg = _sims(*batch)
        order = torch.argsort(s_neg)
        for tau, c in zip(taus, colors):
            w = losses.nt_xent_weights(s_pos, s_neg, tau)[1]
            axes[0, col].plot(s_neg[order], w[order], "o-", ms=3, lw=1, color=c, label=f"τ = {tau:g}")
            axes[1, col].plot(grid, torch.sigmoid(grid / tau), lw=1, color=c)
            axes[1, col].plot(s_neg, torch.sigmoid(s_neg / tau), "o", ms=3, color=c)
        axes[0, col].set(yscale="log", ylim=(1e-8, 1.5), title=f"NT-Xent, {name} batch", ylabel="exp(s/τ)/Z")
        axes[1, col].set(title=f"NT-Logistic, {name} batch", ylabel="σ(s/τ)", xlabel="similarity s of a negative")
        for ax in axes[:, col]:
            ax.axvline(float(s_pos), ls="--", color="grey", lw=1)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
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
    return fig


def plot_grad_norm_over_tau(batches: dict, taus=None):
    """``||dL/du||`` of both closed-form gradients against tau (log-log), with a ``1/tau`` guide."""
    taus = np.geomspace(0.01, 100, 81) if taus is None else np.asarray(taus)
    fig, ax = plt.subplots(figsize=(6.3, 3.2))
    for (name, batch), ls in zip(batches.items(), ("-", "--", ":")):
        for label, grad, c in (("NT-Xent", losses.nt_xent_grad, "C0"), ("NT-Logistic", losses.nt_logistic_grad, "C1")):
            ax.plot(taus, [float(grad(*batch, t).norm()) for t in taus], ls=ls, color=c, label=f"{label}, {name}")
    ax.plot(taus, 1 / taus, color="grey", lw=0.8, label="1/τ")
    ax.set(xscale="log", yscale="log", ylim=(1e-8, None), xlabel="τ", ylabel="‖∂L/∂u‖",
           title="gradient size against temperature")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
