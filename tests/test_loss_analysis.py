"""mmhelpers.analysis.loss_symbolic / loss_checks, mmhelpers.plots.losses: the sympy machinery behind notebooks 2a-2d must be able to *fail*, and the
numeric helpers and figures must say what they claim."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402
import torch  # noqa: E402

from mmhelpers import losses  # noqa: E402
from mmhelpers.analysis import loss_checks as lv  # noqa: E402
from mmhelpers.analysis import loss_symbolic as ls  # noqa: E402
from mmhelpers.plots import losses as loss_plots  # noqa: E402
from mmhelpers.plots.tables import markdown_table  # noqa: E402


# ----------------------------------------------------------------------------- sympy


def test_is_zero_accepts_identities_and_rejects_non_identities():
    x, tau = sp.Symbol("x", real=True), ls.sym_tau()
    assert ls.is_zero(sp.log(sp.exp(x / tau)) - x / tau)
    assert ls.is_zero(sp.Matrix([sp.log(2 * sp.exp(x)) - sp.log(2) - x, 0]))
    assert not ls.is_zero(sp.log(1 + sp.exp(x)) - x)
    assert not ls.is_zero(sp.Matrix([0, x]))


def _at_random_point(expr, seed=0):
    """``expr`` with every free symbol replaced by a random positive number (a quick non-zero check)."""
    gen = torch.Generator().manual_seed(seed)
    values = {s: 0.2 + float(torch.rand(1, generator=gen)) for s in expr.free_symbols}
    return [float(e.subs(values)) for e in (expr if isinstance(expr, sp.MatrixBase) else [expr])]


def test_eq3_and_eq6_are_the_derivatives_and_wrong_versions_are_caught():
    a = ls.sym_anchor(d=2, K=2)
    d_xent = ls.sym_gradient(ls.sym_nt_xent(a), a.u)
    assert ls.is_zero(d_xent - ls.sym_nt_xent_grad(a))
    assert ls.is_zero(d_xent - ls.sym_nt_xent_grad(a, compact=True))
    d_logi = ls.sym_gradient(ls.sym_nt_logistic(a), a.u)
    assert ls.is_zero(d_logi - ls.sym_nt_logistic_grad(a))
    b = ls.sym_anchor(d=1, K=1)  # the notebooks' assertions fail on a wrong formula
    assert not ls.is_zero(ls.sym_gradient(ls.sym_nt_logistic(b), b.u) + ls.sym_nt_logistic_grad(b))  # sign error
    assert max(map(abs, _at_random_point(d_xent - ls.sym_nt_xent_grad(a) * a.tau))) > 1e-3  # a dropped 1/tau


def test_symbolic_objectives_agree_with_the_torch_versions():
    a = ls.sym_anchor(d=3, K=2)
    u, vp, vn = lv.random_anchor(3, 2, seed=4)
    values = {s: float(t) for sym, num in zip([a.u, a.v_pos, *a.v_neg], [u, vp, *vn]) for s, t in zip(sym, num)}
    values[a.tau] = 0.3
    for sym, num in ((ls.sym_nt_xent, losses.nt_xent_objective), (ls.sym_nt_logistic, losses.nt_logistic_objective)):
        assert float(sym(a).subs(values)) == pytest.approx(float(num(u, vp, vn, 0.3)), rel=1e-12)


def test_batch_identities_hold_and_the_indicator_matters():
    claims = ls.batch_identities(N=2, d=2)
    assert len(claims) == 3
    ok, table = lv.zero_table(claims)
    assert ok and table.count("| yes |") == 3
    tau = ls.sym_tau()
    x = [ls.sym_vector(f"x{k}", 2) for k in range(1, 5)]
    without = ls.sym_batch_term(x, 1, 2, tau, indicator=False) + ls.sym_nt_xent(ls.sym_anchor_of_batch(x, 1, tau))
    assert abs(_at_random_point(without)[0]) > 1e-3  # the self term does not cancel
    bad_ok, bad_table = lv.zero_table({"right": sp.log(sp.exp(tau)) - tau, "wrong": sp.log(1 + sp.exp(tau)) - tau})
    assert not bad_ok and bad_table.count("**NO**") == 1


def test_sym_anchor_of_batch_pairs_neighbours():
    tau = ls.sym_tau()
    x = [ls.sym_vector(f"x{k}", 2) for k in range(1, 7)]
    a = ls.sym_anchor_of_batch(x, 4, tau)  # 1-based anchor 4 pairs with 3
    assert a.v_pos == ls.sym_unit(x[2]) and len(a.v_neg) == 4 and ls.sym_unit(x[3]) not in a.v_neg
    with pytest.raises(ValueError, match="d >= 1 and K >= 1"):
        ls.sym_anchor(d=3, K=0)


def test_tau_limits_all_check_out_and_a_wrong_expectation_is_flagged():
    rows = ls.tau_limits()
    checked = ls.check_limits(rows)
    assert len(checked) == len(rows) and all(ok for *_, ok in checked)
    loss, what, where, expr, _ = rows[4]  # NT-Xent weights tend to 1/(K+1) = 1/4 as tau -> oo
    assert ls.check_limits([(loss, what, where, expr, [sp.Rational(1, 3)] * 3)])[0][-1] is False


# ----------------------------------------------------------------------------- numeric helpers


def test_unit_with_similarity_and_anchor_batches():
    gen = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(10, dtype=torch.float64), dim=0)
    v = lv.unit_with_similarity(u, 0.37, gen)
    assert float(v.norm()) == pytest.approx(1.0) and float(u @ v) == pytest.approx(0.37)
    u, vp, vn = lv.anchor_batch("hard", d=32, K=10, s_pos=0.8)
    s_neg = sorted((vn @ u).tolist(), reverse=True)
    assert float(u @ vp) == pytest.approx(0.8) and s_neg[:4] == pytest.approx([0.9, 0.75, 0.65, 0.5])
    _, _, vn_easy = lv.anchor_batch("easy", d=32, K=10)
    assert float((vn_easy @ u).abs().max()) < 0.8
    with pytest.raises(ValueError, match="kind"):
        lv.anchor_batch("medium")


def test_autograd_report_and_normalised_check():
    worst, text = lv.autograd_report(losses.nt_xent_objective, losses.nt_xent_grad, "nt_xent_grad")
    assert worst < 1e-12 and "36 random unit anchors" in text
    wrong = lambda u, vp, vn, tau: 2 * losses.nt_xent_grad(u, vp, vn, tau)  # noqa: E731
    assert lv.autograd_report(losses.nt_xent_objective, wrong, "wrong")[0] > 1e-3
    check = lv.normalised_input_check(losses.nt_logistic_objective, losses.nt_logistic_grad, scale=3.0)
    assert check["|auto - projected|"] < 1e-12 and abs(check["x.auto"]) < 1e-12
    assert check["|auto - eq|"] > 1e-3 and abs(check["u.eq"]) > 1e-3


def test_batch_anchors_reproduce_nt_xent():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(5, 7, generator=g, dtype=torch.float64), torch.randn(5, 7, generator=g, dtype=torch.float64)
    U, Vp, Vn = lv.batch_anchors(z1, z2)
    assert U.shape == (10, 7) and Vp.shape == (10, 7) and Vn.shape == (10, 8, 7)
    mean = torch.stack([losses.nt_xent_objective(u, vp, vn, 0.4) for u, vp, vn in zip(U, Vp, Vn)]).mean()
    assert float(losses.nt_xent(z1, z2, 0.4)) == pytest.approx(-float(mean), rel=1e-12)


def test_naive_formula_overflows_where_the_stable_one_does_not():
    g = torch.Generator().manual_seed(2)
    z1 = torch.randn(8, 16, generator=g)
    z2 = z1 + 0.3 * torch.randn(8, 16, generator=g)
    assert float(lv.nt_xent_naive(z1, z2, 0.5)) == pytest.approx(float(losses.nt_xent(z1, z2, 0.5)), rel=1e-5)
    rows = {r[0]: r for r in lv.stability_rows(z1, z2, taus=(1.0, 0.001))}
    assert all(math.isfinite(v) for v in rows[1.0][1:5])
    naive32, stable32, naive64, stable64, grad_ok = rows[0.001][1:]
    assert math.isnan(naive32) and math.isnan(naive64)
    assert math.isfinite(stable32) and grad_ok and stable32 == pytest.approx(stable64, rel=1e-3, abs=1e-4)
    assert not z1.requires_grad  # the caller's tensors are left alone


def test_md_table():
    table = markdown_table(["τ", "value", "$\\frac{1}{2}$"], [(0.5, 1.23456, "yes"), ("x", 2, "no")])
    lines = table.splitlines()
    assert lines[0] == "| τ | value | $\\frac{1}{2}$ |"
    assert set(lines[1]) == {"|", "-"} and lines[1].count("|") == 4
    assert lines[2] == "| 0.5 | 1.23 | yes |" and lines[3] == "| x | 2 | no |"


# ----------------------------------------------------------------------------- figures


def test_figures_draw_what_they_say():
    batches = {kind: lv.anchor_batch(kind, d=16, K=6) for kind in ("easy", "hard")}
    fig = loss_plots.plot_weights_vs_similarity(batches, taus=(0.1, 1.0))
    assert len(fig.axes) == 4 and fig.axes[0].get_yscale() == "log"
    assert len(fig.axes[0].lines) == 2 + 1  # one line per tau, plus the positive's marker
    plt.close(fig)
    fig = loss_plots.plot_weights_over_tau(*batches["hard"], taus=[0.01, 1.0, 100.0])
    panels = {ax.get_title(): ax for ax in fig.axes}
    stack = panels["NT-Xent (grey: positive)"].collections
    assert len(stack) == 6 + 1  # K negatives plus the positive, stacked
    assert len(panels["NT-Logistic weights"].lines) == 6
    # NT-Xent: the hardest negative's share falls from all of it to 1/K
    share = panels["the hardest negative's share of all negative weight"].lines[0].get_ydata()
    assert share[0] == pytest.approx(1.0, abs=1e-6) and share[-1] == pytest.approx(1 / 6, rel=0.05)
    plt.close(fig)
    fig = loss_plots.plot_grad_norm_over_tau(batches, taus=[0.5, 50.0])
    assert len(fig.axes[0].lines) == 2 * 2 + 1
    plt.close(fig)
