"""The exam's equations for notebooks 2a-2d (NT-Xent vs NT-Logistic) in sympy, and the symbolic
checks on them: derivatives, the batch identities and the limits in tau.

Equation numbers are the exam's: (1) batch NT-Xent, (2) one-anchor NT-Xent objective, (3) its
gradient, (4) the partition function ``Z(u)``, (5) NT-Logistic, (6) its gradient. The numeric
losses live in :mod:`mmhelpers.losses`; the numeric checks, tables and figures in
:mod:`mmhelpers.analysis.loss_figures`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

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
    negatives = sum(sp.exp(a.u.dot(v) / a.tau) for v in a.v_neg)
    return sp.exp(a.u.dot(a.v_pos) / a.tau) + negatives


def sym_nt_xent(a: SymAnchor):
    """Eq. (2), the NT-Xent objective of one anchor (to maximise)."""
    return a.u.dot(a.v_pos) / a.tau - sp.log(sym_Z(a))


def sym_nt_xent_grad(a: SymAnchor, compact: bool = False) -> sp.Matrix:
    """Eq. (3) as the exam writes it (with ``Z`` of eq. (4)); ``compact=True``: the
    equivalent ``1/tau sum_k p_k (v+ - v_k)`` with ``p_k = exp(u.v_k/tau)/Z``."""
    Z, zero = sym_Z(a), sp.zeros(*a.u.shape)
    if compact:
        p = [sp.exp(a.u.dot(v) / a.tau) / Z for v in a.v_neg]
        return sum((p_k * (a.v_pos - v) / a.tau for p_k, v in zip(p, a.v_neg)), zero)
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

    Logs are expanded first; ``log(exp(x)) = x`` and ``log(a/b) = log a - log b`` hold
    here because every symbol is real and every log argument positive. Then, cheapest
    first: the expanded form is 0; or, where logs of sums remain, ``exp(expr)``
    simplifies to 1 (the same for real ``expr``, and a product of ratios is easier for
    sympy than a sum of logs); or ``simplify`` finds 0.
    """
    for e in list(expr) if isinstance(expr, sp.MatrixBase) else [expr]:
        e = sp.expand(sp.expand_log(e, force=True))
        if e == 0 or (e.has(sp.log) and sp.simplify(sp.exp(e)) == 1):
            continue
        if sp.simplify(e) != 0:
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
