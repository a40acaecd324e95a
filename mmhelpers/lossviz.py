"""Helpers for notebooks 2a-2d (NT-Xent vs NT-Logistic): the exam's equations in sympy, numeric
checks against autograd, test batches, and the weight figures.

The numeric losses live in :mod:`mmhelpers.losses`; this module only explains them. Equation
numbers are the exam's: (1) batch NT-Xent, (2) one-anchor NT-Xent objective, (3) its gradient,
(4) the partition function ``Z(u)``, (5) NT-Logistic, (6) its gradient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
import torch.nn.functional as F

from . import losses

# ----------------------------------------------------------------------------- sympy: equations


@dataclass
class SymAnchor:
    """Symbolic anchor ``u``, positive ``v_pos``, negatives ``v_neg`` (column matrices) and ``tau``."""

    u: sp.Matrix
    v_pos: sp.Matrix
    v_neg: list
    tau: sp.Symbol


def sym_vector(name: str, d: int) -> sp.Matrix:
    """A column of ``d`` real symbols ``name_1 .. name_d``."""
    return sp.Matrix(sp.symbols(f"{name}_1:{d + 1}", real=True))


def sym_tau() -> sp.Symbol:
    return sp.Symbol("tau", positive=True)


def sym_anchor(d: int = 3, K: int = 2) -> SymAnchor:
    """Free symbolic vectors: ``u``, ``v+`` (named ``p``) and ``K`` negatives (``n1 .. nK``)."""
    if d < 1 or K < 1:
        raise ValueError(f"sym_anchor: need d >= 1 and K >= 1, got d={d}, K={K}")
    negs = [sym_vector(f"n{k}", d) for k in range(1, K + 1)]
    return SymAnchor(sym_vector("u", d), sym_vector("p", d), negs, sym_tau())


def sym_sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def sym_Z(a: SymAnchor):
    """Eq. (4): ``exp(u.v+/tau) + sum_k exp(u.v_k/tau)``."""
    return sp.exp(a.u.dot(a.v_pos) / a.tau) + sum(sp.exp(a.u.dot(v) / a.tau) for v in a.v_neg)


def sym_nt_xent(a: SymAnchor):
    """Eq. (2), the NT-Xent objective of one anchor (to maximise)."""
    return a.u.dot(a.v_pos) / a.tau - sp.log(sym_Z(a))


def sym_nt_xent_grad(a: SymAnchor, compact: bool = False) -> sp.Matrix:
    """Eq. (3) as the exam writes it (with ``Z`` of eq. (4)); ``compact=True``: the equivalent
    ``1/tau sum_k p_k (v+ - v_k)`` with ``p_k = exp(u.v_k/tau)/Z``."""
    Z, zero = sym_Z(a), sp.zeros(*a.u.shape)
    if compact:
        return sum((sp.exp(a.u.dot(v) / a.tau) / Z * (a.v_pos - v) / a.tau for v in a.v_neg), zero)
    neg = sum((sp.exp(a.u.dot(v) / a.tau) / Z * v / a.tau for v in a.v_neg), zero)
    return (1 - sp.exp(a.u.dot(a.v_pos) / a.tau) / Z) * a.v_pos / a.tau - neg


def sym_nt_logistic(a: SymAnchor):
    """Eq. (5), summed over the negatives."""
    neg = sum(sp.log(sym_sigmoid(-a.u.dot(v) / a.tau)) for v in a.v_neg)
    return sp.log(sym_sigmoid(a.u.dot(a.v_pos) / a.tau)) + neg


def sym_nt_logistic_grad(a: SymAnchor) -> sp.Matrix:
    """Eq. (6), summed over the negatives."""
    neg = sum((sym_sigmoid(a.u.dot(v) / a.tau) * v / a.tau for v in a.v_neg), sp.zeros(*a.u.shape))
    return sym_sigmoid(-a.u.dot(a.v_pos) / a.tau) * a.v_pos / a.tau - neg


def sym_gradient(expr, u: sp.Matrix) -> sp.Matrix:
    """``d expr / d u`` as a column (sympy differentiates component by component)."""
    return sp.Matrix([sp.diff(expr, ui) for ui in u])


def is_zero(expr) -> bool:
    """True when ``expr`` (a scalar or a matrix) simplifies to exactly 0.

    Logs are expanded first; ``log(exp(x)) = x`` and ``log(a/b) = log a - log b`` are valid here
    because every symbol is real and every log argument positive. Where logs of sums remain, the
    test is ``exp(expr) == 1`` instead (equivalent for real ``expr``, and a product of ratios is
    easier for sympy than a sum of logs).
    """
    for e in list(expr) if isinstance(expr, sp.MatrixBase) else [expr]:
        e = sp.expand_log(e, force=True)
        if sp.simplify(e) != 0 and not (e.has(sp.log) and sp.simplify(sp.exp(e)) == 1):
            return False
    return True


def sym_unit(x: sp.Matrix) -> sp.Matrix:
    return x / x.norm()


def sym_cosine(a: sp.Matrix, b: sp.Matrix):
    """``sim(a, b) = a.b / (||a|| ||b||)``, the cosine similarity of eq. (1)."""
    return a.dot(b) / (a.norm() * b.norm())


def sym_batch_term(x: list, i: int, j: int, tau, indicator: bool = True):
    """``l(i, j)`` of eq. (1) for raw vectors ``x = [z_1 .. z_2N]`` (1-based ``i``, ``j``).

    ``indicator=False`` drops ``1[k != i]``: the anchor's own term stays in the denominator.
    """
    keep = lambda k: 1 - sp.KroneckerDelta(k, i) if indicator else 1  # noqa: E731
    den = sum(keep(k) * sp.exp(sym_cosine(x[i - 1], x[k - 1]) / tau) for k in range(1, len(x) + 1))
    return -sp.log(sp.exp(sym_cosine(x[i - 1], x[j - 1]) / tau) / den)


def sym_batch_loss(x: list, tau):
    """Eq. (1): ``L = 1/(2N) sum_k [l(2k-1, 2k) + l(2k, 2k-1)]`` (views interleaved, 1-based)."""
    return sum(sym_batch_term(x, 2 * k - 1, 2 * k, tau) + sym_batch_term(x, 2 * k, 2 * k - 1, tau)
               for k in range(1, len(x) // 2 + 1)) / len(x)


def sym_anchor_of_batch(x: list, i: int, tau) -> SymAnchor:
    """Anchor ``i`` (1-based) of the interleaved batch ``x`` as eq. (2) sees it: unit vectors, its
    partner (``2k <-> 2k-1``) as the positive, every other embedding except itself as a negative."""
    j = i + 1 if i % 2 else i - 1
    neg = [sym_unit(x[k - 1]) for k in range(1, len(x) + 1) if k not in (i, j)]
    return SymAnchor(sym_unit(x[i - 1]), sym_unit(x[j - 1]), neg, tau)


def batch_identities(N: int = 2, d: int = 3) -> dict:
    """Notebook 2a's claims on ``2N`` raw symbolic embeddings in ``R^d`` (``N >= 2``), each an
    expression that must simplify to 0: one anchor's ``l(1,2)`` is minus eq. (2); eq. (1) is minus
    the mean of eq. (2) over all ``2N`` anchors; without the indicator, ``l(1,2)`` grows by exactly
    ``log(1 + e^{1/tau}/Z(u))``. Keys are LaTeX."""
    tau = sym_tau()
    x = [sym_vector(f"x{k}", d) for k in range(1, 2 * N + 1)]
    eq2 = [sym_nt_xent(sym_anchor_of_batch(x, i, tau)) for i in range(1, 2 * N + 1)]
    Z = sym_Z(sym_anchor_of_batch(x, 1, tau))
    L = r"L_{\text{NT-Xent}}"
    return {
        rf"$\ell(1,2) + {L}(u_1)$": sym_batch_term(x, 1, 2, tau) + eq2[0],
        rf"$\mathcal{{L}} + \frac{{1}}{{2N}}\sum_{{i=1}}^{{2N}} {L}(u_i)$": sym_batch_loss(x, tau) + sum(eq2) / (2 * N),
        rf"no indicator: $\ell(1,2) + {L}(u_1) - \log(1 + e^{{1/\tau}}/Z(u_1))$":
            sym_batch_term(x, 1, 2, tau, indicator=False) + eq2[0] - sp.log(1 + sp.exp(1 / tau) / Z),
    }


def zero_table(claims: dict) -> tuple[bool, str]:
    """Run :func:`is_zero` on every expression of ``claims`` (LaTeX label -> expression); return
    ``(all zero, Markdown table)``."""
    results = {label: is_zero(expr) for label, expr in claims.items()}
    return all(results.values()), md_table(["expression (sympy)", "simplifies to 0"],
                                           [(k, "yes" if v else "**NO**") for k, v in results.items()])


# ----------------------------------------------------------------------------- sympy: limits in tau


def tau_limits() -> list:
    """The limits tau -> 0+ and tau -> oo that notebook 2d takes, as rows
    ``(loss, quantity, where, expression(s), expected)``.

    ``v^+``, ``v^-_k`` stand for one coordinate of the vectors (eqs. (3) and (6) are linear in
    them). "hard": ``s+ = 4/5``, ``s- = (9/10, 1/2, 0)``; "easy": ``s- = (1/2, 0, -3/10)``;
    "any s": free real symbols.
    """
    tau, r, half = sym_tau(), sp.Rational, sp.Rational(1, 2)
    vp, vn = sp.Symbol("v^+", real=True), sp.symbols("v^-_1:4", real=True)
    free = (sp.Symbol("s^+", real=True), sp.symbols("s_1:4", real=True))
    hard, easy = (r(4, 5), [r(9, 10), r(1, 2), 0]), (r(4, 5), [r(1, 2), 0, r(-3, 10)])

    def weights_grad(s_pos, s_neg, loss):
        if loss == "xent":
            Z = sp.exp(s_pos / tau) + sum(sp.exp(s / tau) for s in s_neg)
            w = [sp.exp(s / tau) / Z for s in s_neg]
            c = sum(w)  # = 1 - exp(s+/tau)/Z
        else:
            w, c = [sym_sigmoid(s / tau) for s in s_neg], sym_sigmoid(-s_pos / tau)
        return w, (c * vp - sum(wk * v for wk, v in zip(w, vn))) / tau

    (w_h, g_h), (_, g_e), (w_f, g_f) = (weights_grad(*b, "xent") for b in (hard, easy, free))
    (l_h, gl_h), (l_f, gl_f) = (weights_grad(*b, "logistic") for b in (hard, free))
    a, b, delta = sp.Symbol("a", positive=True), sp.Symbol("b", negative=True), sp.Symbol("Delta", positive=True)
    grad_tex = r"$\tau \nabla_u L$"
    return [
        ("NT-Xent", r"$w_k/w_{\max}=e^{-\Delta/\tau}$, $\Delta>0$", 0, sp.exp(-delta / tau), 0),
        ("NT-Xent", "$(w_1, w_2, w_3)$, hard", 0, w_h, [1, 0, 0]),
        ("NT-Xent", grad_tex + ", hard", 0, tau * g_h, vp - vn[0]),
        ("NT-Xent", r"$\nabla_u L$, easy", 0, g_e, 0),
        ("NT-Xent", "$(w_1, w_2, w_3)$, any $s$", sp.oo, w_f, [r(1, 4)] * 3),
        ("NT-Xent", grad_tex + ", any $s$", sp.oo, tau * g_f, (3 * vp - sum(vn)) / 4),
        ("NT-Logistic", r"$\sigma(a/\tau), \sigma(b/\tau)$, $a>0>b$", 0,
         [sym_sigmoid(a / tau), sym_sigmoid(b / tau)], [1, 0]),
        ("NT-Logistic", "$(w_1, w_2, w_3)$, hard", 0, l_h, [1, 1, half]),
        ("NT-Logistic", grad_tex + ", hard", 0, tau * gl_h, -vn[0] - vn[1] - vn[2] / 2),
        ("NT-Logistic", "$(w_1, w_2, w_3)$, any $s$", sp.oo, l_f, [half] * 3),
        ("NT-Logistic", grad_tex + ", any $s$", sp.oo, tau * gl_f, (vp - sum(vn)) / 2),
    ]


def check_limits(rows) -> list:
    """Let sympy take each limit of :func:`tau_limits`; return ``(loss, quantity, where, result, ok)``
    with ``result`` in LaTeX and ``ok`` whether it equals the expected value."""
    tau, out = sym_tau(), []
    for loss, what, where, expr, expected in rows:
        exprs = expr if isinstance(expr, (list, tuple)) else [expr]
        wanted = expected if isinstance(expected, (list, tuple)) else [expected]
        got = [sp.limit(e, tau, 0, "+") if where == 0 else sp.limit(e, tau, where) for e in exprs]
        ok = len(got) == len(wanted) and all(sp.simplify(g - w) == 0 for g, w in zip(got, wanted))
        shown = ", ".join(sp.latex(g) for g in got)
        out.append((loss, what, r"$\tau\to0^+$" if where == 0 else r"$\tau\to\infty$",
                    f"${shown}$" if len(got) == 1 else f"$({shown})$", ok))
    return out


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


# ----------------------------------------------------------------------------- figures


def _sims(u, v_pos, v_neg):
    return (u @ v_pos), (v_neg @ u)


def plot_weights_vs_similarity(batches: dict, taus=(0.05, 0.1, 0.2, 0.5, 1.0)):
    """Each negative's weight against its similarity, one colour per tau; one column per batch
    (``name -> (u, v_pos, v_neg)``). Top: NT-Xent ``exp(s_k/tau)/Z`` (log scale); bottom:
    NT-Logistic ``sigma(s_k/tau)`` (one curve for all batches; dots: the batch). Dashed: ``s+``."""
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(taus)))
    fig, axes = plt.subplots(2, len(batches), figsize=(4.2 * len(batches), 4.4), squeeze=False, sharex=True)
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
    axes[0, 0].legend(fontsize=7, loc="lower right")
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
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.0))
    axes[0].stackplot(taus, *xent[:, order].T, 1 - xent.sum(1), colors=[*colors, (0.8, 0.8, 0.8)])
    axes[0].set(xscale="log", ylim=(0, 1), xlabel="τ", ylabel="softmax weight", title="NT-Xent (grey: positive)")
    hard = int(torch.argmax(s_neg))
    axes[1].plot(taus, xent[:, hard] / xent.sum(1), label="NT-Xent")
    axes[1].plot(taus, logi[:, hard] / logi.sum(1), label="NT-Logistic")
    axes[1].axhline(1 / len(s_neg), ls=":", color="grey", label="1/K (uniform)")
    axes[1].set(xscale="log", yscale="log", xlabel="τ", ylabel="share", title="hardest negative's share")
    axes[1].legend(fontsize=8)
    for k, c in zip(order, colors):
        axes[2].plot(taus, logi[:, k], color=c, lw=1)
    axes[2].set(xscale="log", ylim=(-0.02, 1.02), xlabel="τ", ylabel="σ(s/τ)", title="NT-Logistic weights")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[2], label="similarity of the negative")
    fig.tight_layout()
    return fig


def plot_grad_norm_over_tau(batches: dict, taus=None):
    """``||dL/du||`` of both closed-form gradients against tau (log-log), with a ``1/tau`` guide."""
    taus = np.geomspace(0.01, 100, 81) if taus is None else np.asarray(taus)
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    for (name, batch), ls in zip(batches.items(), ("-", "--", ":")):
        for label, grad, c in (("NT-Xent", losses.nt_xent_grad, "C0"), ("NT-Logistic", losses.nt_logistic_grad, "C1")):
            ax.plot(taus, [float(grad(*batch, t).norm()) for t in taus], ls=ls, color=c, label=f"{label}, {name}")
    ax.plot(taus, 1 / taus, color="grey", lw=0.8, label="1/τ")
    ax.set(xscale="log", yscale="log", ylim=(1e-8, None), xlabel="τ", ylabel="‖∂L/∂u‖",
           title="gradient size against temperature")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
