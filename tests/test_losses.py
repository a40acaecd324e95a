"""mmhelpers.losses against autograd, an independent NumPy/SciPy reference, and pytorch-metric-learning."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, log_expit, logsumexp, softmax

from mmhelpers.losses import (nt_logistic, nt_logistic_grad, nt_logistic_objective, nt_logistic_weights, nt_xent,
                              nt_xent_grad, nt_xent_objective, nt_xent_weights)

DS, KS, TAUS = (1, 3, 16), (1, 4, 30), (0.05, 0.3, 1.0, 5.0)


# ----------------------------------------------------------------------------- NumPy reference (float64)

def unit_rows(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def interleave(z1, z2):
    """Eq. (1)'s layout: z_{2k-1}, z_{2k} (0-based: 2k, 2k+1) are the two views of pair k."""
    return np.stack([z1, z2], axis=1).reshape(-1, z1.shape[1])


def ref_anchors(z1, z2):
    """Yield (u, v_pos, v_neg) for every anchor of eq. (1), in eq. (1)'s interleaved order."""
    z = unit_rows(interleave(z1, z2))
    for i in range(len(z)):
        j = i ^ 1
        yield z[i], z[j], z[[k for k in range(len(z)) if k not in (i, j)]]


def ref_xent_objective(u, vp, vn, tau):
    return u @ vp / tau - logsumexp(np.concatenate([[u @ vp / tau], vn @ u / tau]))


def ref_xent_grad(u, vp, vn, tau):
    p = softmax(np.concatenate([[u @ vp], vn @ u]) / tau)
    return (1 - p[0]) * vp / tau - p[1:] @ vn / tau


def ref_logistic_objective(u, vp, vn, tau):
    return log_expit(u @ vp / tau) + log_expit(-(vn @ u) / tau).sum()


def ref_logistic_grad(u, vp, vn, tau):
    return expit(-(u @ vp) / tau) * vp / tau - expit(vn @ u / tau) @ vn / tau


def ref_nt_xent(z1, z2, tau):
    """Eq. (1) term by term: l(i, j) = -log(exp(s_ij) / sum_{k != i} exp(s_ik)), averaged over 2N anchors."""
    z = unit_rows(interleave(z1, z2))
    s = z @ z.T / tau
    losses = [-(s[i, i ^ 1] - logsumexp(np.delete(s[i], i))) for i in range(len(z))]
    return float(np.mean(losses))


def ref_nt_logistic(z1, z2, tau, negatives="sum"):
    out = []
    for u, vp, vn in ref_anchors(z1, z2):
        neg = log_expit(-(vn @ u) / tau)
        out.append(-(log_expit(u @ vp / tau) + (neg.sum() if negatives == "sum" else neg.mean())))
    return float(np.mean(out))


def random_anchor(d, K, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    u = F.normalize(torch.randn(d, generator=g, dtype=dtype), dim=0)
    vp = F.normalize(torch.randn(d, generator=g, dtype=dtype), dim=0)
    vn = F.normalize(torch.randn(K, d, generator=g, dtype=dtype), dim=1)
    return u, vp, vn


def views(n, d, seed, dtype=torch.float64, aligned=0.0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=dtype)
    z2 = torch.randn(n, d, generator=g, dtype=dtype)
    return z1, (aligned * z1 + z2) if aligned else z2


# ----------------------------------------------------------------------------- one anchor: eqs. (2)-(6)

ANCHOR_FUNCS = [
    (nt_xent_objective, nt_xent_grad, ref_xent_objective, ref_xent_grad),
    (nt_logistic_objective, nt_logistic_grad, ref_logistic_objective, ref_logistic_grad),
]


@pytest.mark.parametrize("objective, grad, ref_obj, ref_grad", ANCHOR_FUNCS, ids=["nt_xent", "nt_logistic"])
@pytest.mark.parametrize("d", DS)
@pytest.mark.parametrize("K", KS)
@pytest.mark.parametrize("tau", TAUS)
def test_objective_and_grad_match_numpy_and_autograd(objective, grad, ref_obj, ref_grad, d, K, tau):
    u, vp, vn = random_anchor(d, K, seed=100 * d + K)
    un, vpn, vnn = u.numpy(), vp.numpy(), vn.numpy()
    assert float(objective(u, vp, vn, tau)) == pytest.approx(ref_obj(un, vpn, vnn, tau), rel=1e-12, abs=1e-12)
    closed = grad(u, vp, vn, tau)
    np.testing.assert_allclose(closed.numpy(), ref_grad(un, vpn, vnn, tau), rtol=1e-10, atol=1e-12)
    x = u.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(objective(x, vp, vn, tau), x)
    np.testing.assert_allclose(closed.numpy(), auto.numpy(), rtol=1e-10, atol=1e-12)
    assert closed.shape == (d,) and closed.dtype == torch.float64


def test_objectives_are_negative_losses():
    u, vp, vn = random_anchor(8, 5, seed=1)
    for f in (nt_xent_objective, nt_logistic_objective):
        assert float(f(u, vp, vn, 0.5)) < 0  # a log-probability: maximised, never above 0
    # moving u towards v+ (gradient ascent) increases both objectives
    for f, g in ((nt_xent_objective, nt_xent_grad), (nt_logistic_objective, nt_logistic_grad)):
        step = F.normalize(u + 1e-3 * g(u, vp, vn, 0.5), dim=0)
        assert float(f(step, vp, vn, 0.5)) > float(f(u, vp, vn, 0.5))


def test_xent_grad_compact_form_and_weights():
    u, vp, vn = random_anchor(6, 7, seed=2)
    s_pos, s_neg = u @ vp, vn @ u
    c_pos, w = nt_xent_weights(s_pos, s_neg, 0.2)
    p = torch.softmax(torch.cat([s_pos[None], s_neg]) / 0.2, 0)
    assert float(c_pos) == pytest.approx(1 - float(p[0]), abs=1e-14)
    assert float(w.sum()) <= 1.0
    compact = (w[:, None] * (vp - vn)).sum(0) / 0.2  # 1/tau sum_k p_k (v+ - v_k)
    torch.testing.assert_close(nt_xent_grad(u, vp, vn, 0.2), compact)
    c_l, w_l = nt_logistic_weights(s_pos, s_neg, 0.2)
    torch.testing.assert_close(w_l, torch.sigmoid(s_neg / 0.2))
    assert float(c_l) == pytest.approx(float(torch.sigmoid(-s_pos / 0.2)))


def test_single_negative_as_vector_and_numpy_inputs():
    u, vp, vn = random_anchor(5, 1, seed=3)
    assert float(nt_xent_objective(u, vp, vn[0], 0.3)) == pytest.approx(float(nt_xent_objective(u, vp, vn, 0.3)))
    assert float(nt_logistic_grad(u.numpy(), vp.numpy(), vn.numpy(), 0.3)[0]) == pytest.approx(
        float(nt_logistic_grad(u, vp, vn, 0.3)[0]))


@pytest.mark.parametrize("f", [nt_xent_objective, nt_xent_grad, nt_logistic_objective, nt_logistic_grad])
@pytest.mark.parametrize("tau", [0.01, 0.001])
def test_anchor_functions_finite_at_small_tau_float32(f, tau):
    u, vp, vn = random_anchor(32, 20, seed=4, dtype=torch.float32)
    vn[0] = F.normalize(u + 0.01 * vn[0], dim=0)  # a negative almost equal to the anchor: s/tau ~ 1/tau
    out = f(u, vp, vn, tau)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    ref = f(u.double(), vp.double(), vn.double(), tau)
    torch.testing.assert_close(out.double(), ref, rtol=2e-3, atol=1e-3 / tau)


# ----------------------------------------------------------------------------- batch losses

@pytest.mark.parametrize("n", [2, 3, 5, 17])  # 3, 5, 17: partial last batches
@pytest.mark.parametrize("d", [2, 16])
@pytest.mark.parametrize("tau", [0.05, 0.5, 2.0])
def test_nt_xent_matches_eq1_reference(n, d, tau):
    z1, z2 = views(n, d, seed=n * d)
    assert float(nt_xent(z1, z2, tau)) == pytest.approx(ref_nt_xent(z1.numpy(), z2.numpy(), tau), rel=1e-12)
    per_anchor = nt_xent(z1, z2, tau, reduction="none")
    assert per_anchor.shape == (2 * n,)
    assert float(nt_xent(z1, z2, tau, reduction="sum")) == pytest.approx(float(per_anchor.sum()))


@pytest.mark.parametrize("n", [2, 5, 17])
@pytest.mark.parametrize("negatives", ["sum", "mean"])
@pytest.mark.parametrize("tau", [0.05, 0.5, 2.0])
def test_nt_logistic_matches_reference(n, negatives, tau):
    z1, z2 = views(n, 8, seed=n)
    got = float(nt_logistic(z1, z2, tau, negatives=negatives))
    assert got == pytest.approx(ref_nt_logistic(z1.numpy(), z2.numpy(), tau, negatives), rel=1e-12)


@pytest.mark.parametrize("batch, anchor", [(nt_xent, nt_xent_objective), (nt_logistic, nt_logistic_objective)])
def test_batch_loss_is_minus_mean_anchor_objective(batch, anchor):
    z1, z2 = views(6, 10, seed=7)
    vals = [float(anchor(torch.from_numpy(u), torch.from_numpy(vp), torch.from_numpy(vn), 0.2))
            for u, vp, vn in ref_anchors(z1.numpy(), z2.numpy())]
    assert float(batch(z1, z2, 0.2)) == pytest.approx(-np.mean(vals), rel=1e-12)


@pytest.mark.parametrize("n, d", [(2, 3), (8, 32), (33, 16)])
@pytest.mark.parametrize("tau", [0.07, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nt_xent_matches_pytorch_metric_learning(n, d, tau, dtype):
    from pytorch_metric_learning.losses import NTXentLoss

    z1, z2 = views(n, d, seed=n + d, dtype=dtype, aligned=1.0)
    labels = torch.cat([torch.arange(n), torch.arange(n)])
    peer = NTXentLoss(temperature=tau)(torch.cat([z1, z2]), labels)
    assert abs(float(nt_xent(z1, z2, tau)) - float(peer)) < 1e-4


@pytest.mark.parametrize("loss", [nt_xent, nt_logistic])
@pytest.mark.parametrize("tau", [0.01, 0.001])
@pytest.mark.parametrize("n", [2, 7, 64])
def test_batch_losses_finite_values_and_gradients_at_small_tau(loss, tau, n):
    z1, z2 = views(n, 16, seed=n, dtype=torch.float32, aligned=3.0)  # aligned pairs: sim/tau ~ 1/tau
    z1.requires_grad_(True), z2.requires_grad_(True)
    value = loss(z1, z2, tau)
    value.backward()
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()
    ref = loss(z1.detach().double(), z2.detach().double(), tau)
    assert float(value.detach()) == pytest.approx(float(ref), rel=1e-3, abs=1e-3)


def test_learnable_temperature_gets_a_gradient():
    z1, z2 = views(4, 8, seed=0)
    log_tau = torch.tensor(math.log(0.1), dtype=torch.float64, requires_grad=True)
    (nt_xent(z1, z2, log_tau.exp()) + nt_logistic(z1, z2, log_tau.exp())).backward()
    assert log_tau.grad is not None and torch.isfinite(log_tau.grad)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), d=st.integers(1, 12), seed=st.integers(0, 10_000),
       tau=st.sampled_from([0.05, 0.2, 1.0]), scale=st.floats(0.1, 10.0))
def test_batch_losses_invariances(n, d, seed, tau, scale):
    """Same under a joint permutation of the pairs, swapping the views, and rescaling (normalised inside)."""
    z1, z2 = views(n, d, seed)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    for loss in (nt_xent, nt_logistic):
        base = float(loss(z1, z2, tau))
        assert float(loss(z1[perm], z2[perm], tau)) == pytest.approx(base, rel=1e-10)
        assert float(loss(z2, z1, tau)) == pytest.approx(base, rel=1e-10)
        assert float(loss(scale * z1, z2, tau)) == pytest.approx(base, rel=1e-9)


def test_nt_xent_bounds():
    z1, z2 = views(16, 64, seed=5)
    assert float(nt_xent(z1, z1.clone(), 0.01)) < 1e-6  # identical views, distinct directions: solved
    assert float(nt_xent(z1, z2, 100.0)) == pytest.approx(math.log(2 * 16 - 1), rel=1e-3)  # chance level


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("tau", [0, -0.1, float("nan"), float("inf"), "warm", torch.tensor([0.1, 0.2])])
def test_bad_tau_is_rejected(tau):
    z1, z2 = views(3, 4, seed=0)
    u, vp, vn = random_anchor(4, 2, seed=0)
    for call in (lambda: nt_xent(z1, z2, tau), lambda: nt_logistic(z1, z2, tau),
                 lambda: nt_xent_objective(u, vp, vn, tau), lambda: nt_logistic_grad(u, vp, vn, tau)):
        with pytest.raises(ValueError, match="tau"):
            call()


@pytest.mark.parametrize("z1, z2, match", [
    (torch.zeros(4, 3), torch.zeros(5, 3), "same shape"),
    (torch.zeros(4), torch.zeros(4), r"z1 must have shape \(N, d\)"),
    (torch.zeros(1, 3), torch.zeros(1, 3), "N >= 2"),
    (torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, 3), "floating-point"),
    (torch.zeros(4, 3), torch.zeros(4, 3, dtype=torch.float64), "same dtype"),
])
def test_bad_views_are_rejected(z1, z2, match):
    for loss in (nt_xent, nt_logistic):
        with pytest.raises(ValueError, match=match):
            loss(z1, z2, 0.5)


@pytest.mark.parametrize("u, vp, vn, match", [
    (torch.zeros(2, 3), torch.zeros(3), torch.zeros(2, 3), r"u must have shape \(d,\)"),
    (torch.zeros(3), torch.zeros(4), torch.zeros(2, 3), "v_pos must have the shape of u"),
    (torch.zeros(3), torch.zeros(3), torch.zeros(2, 4), r"v_neg must have shape \(K, 3\)"),
    (torch.zeros(3), torch.zeros(3), torch.zeros(0, 3), "K >= 1"),
    (torch.zeros(3), torch.zeros(3, dtype=torch.float64), torch.zeros(2, 3), "one dtype"),
])
def test_bad_anchor_inputs_are_rejected(u, vp, vn, match):
    for f in (nt_xent_objective, nt_xent_grad, nt_logistic_objective, nt_logistic_grad):
        with pytest.raises(ValueError, match=match):
            f(u, vp, vn, 0.5)


def test_bad_options_are_rejected():
    z1, z2 = views(3, 4, seed=0)
    with pytest.raises(ValueError, match="reduction"):
        nt_xent(z1, z2, 0.5, reduction="avg")
    with pytest.raises(ValueError, match="negatives"):
        nt_logistic(z1, z2, 0.5, negatives="max")
    with pytest.raises(ValueError, match="s_neg must have shape"):
        nt_xent_weights(torch.zeros(2), torch.zeros(3, 4), 0.5)
