"""NT-Xent and NT-Logistic: batch losses, single-anchor objectives and their closed-form gradients.

Equation numbers follow the course exercise (Problem 2; SimCLR, Chen et al. 2020, Table 2):

* :func:`nt_xent` -- eq. (1), the batch loss to *minimise*, for two views ``(N, d)``.
* :func:`nt_xent_objective` / :func:`nt_xent_grad` -- eqs. (2)-(4) for one anchor ``u``, in the
  exam's sign convention: the "negative loss", a quantity to *maximise*.
* :func:`nt_logistic_objective` / :func:`nt_logistic_grad` -- eqs. (5)-(6), summed over K negatives.
* :func:`nt_logistic` -- the batch NT-Logistic loss (to minimise), built like :func:`nt_xent`.
* :func:`nt_xent_weights` / :func:`nt_logistic_weights` -- the coefficients that the two gradients
  put on the positive and on each negative (used by the figures in notebooks 2c and 2d).

Everything is computed from logits ``s / tau`` with ``logsumexp`` / ``log_softmax`` /
``logsigmoid``, never from ``exp(s / tau)``, so values and gradients stay finite in float32 down to
``tau = 0.001`` (where ``exp(1 / tau)`` would overflow even float64).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["nt_xent", "nt_logistic", "nt_xent_objective", "nt_xent_grad", "nt_logistic_objective",
           "nt_logistic_grad", "nt_xent_weights", "nt_logistic_weights"]

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- validation

def _tensor(x, name: str, fn: str) -> torch.Tensor:
    """``x`` as a floating-point tensor (NumPy arrays and nested lists are converted)."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{fn}: {name} must be a float tensor, got {type(x).__name__} ({exc})") from None
        if not x.is_floating_point():  # e.g. a list of ints: promote, as torch would for arithmetic
            x = x.to(torch.get_default_dtype())
    if not x.is_floating_point():
        raise ValueError(f"{fn}: {name} must be a floating-point tensor (float32 or float64), got {x.dtype}")
    return x


def _check_tau(tau, fn: str):
    """``tau`` must be one positive finite number (a Python number or a one-element tensor)."""
    if isinstance(tau, torch.Tensor):
        if tau.numel() != 1:
            raise ValueError(f"{fn}: tau must be a single positive number, got a tensor of shape {tuple(tau.shape)}")
        value = float(tau.detach())
        tau = tau.reshape(())
    else:
        try:
            value = float(tau)
        except (TypeError, ValueError):
            raise ValueError(f"{fn}: tau must be a positive number, got {tau!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{fn}: tau must be a positive finite number, got {value}")
    return tau


def _check_views(z1, z2, tau, fn: str):
    z1, z2 = _tensor(z1, "z1", fn), _tensor(z2, "z2", fn)
    for name, z in (("z1", z1), ("z2", z2)):
        if z.ndim != 2:
            raise ValueError(f"{fn}: {name} must have shape (N, d), got {tuple(z.shape)}")
    if z1.shape != z2.shape:
        raise ValueError(f"{fn}: z1 and z2 must have the same shape (N, d) (row k of each is one pair), "
                         f"got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"{fn}: need N >= 2 pairs so that every anchor has a negative, got N = {z1.shape[0]} "
                         f"(drop or merge a last batch of one pair)")
    if z1.shape[1] < 1:
        raise ValueError(f"{fn}: embeddings must have d >= 1 features, got shape {tuple(z1.shape)}")
    if z1.dtype != z2.dtype:
        raise ValueError(f"{fn}: z1 and z2 must have the same dtype, got {z1.dtype} and {z2.dtype}")
    return z1, z2, _check_tau(tau, fn)


def _check_anchor(u, v_pos, v_neg, tau, fn: str):
    u, v_pos, v_neg = _tensor(u, "u", fn), _tensor(v_pos, "v_pos", fn), _tensor(v_neg, "v_neg", fn)
    if u.ndim != 1 or u.shape[0] < 1:
        raise ValueError(f"{fn}: u must have shape (d,), got {tuple(u.shape)}")
    d = u.shape[0]
    if v_pos.shape != (d,):
        raise ValueError(f"{fn}: v_pos must have the shape of u, ({d},), got {tuple(v_pos.shape)}")
    if v_neg.ndim == 1:  # one negative given as a vector
        v_neg = v_neg.unsqueeze(0)
    if v_neg.ndim != 2 or v_neg.shape[1] != d or v_neg.shape[0] < 1:
        raise ValueError(f"{fn}: v_neg must have shape (K, {d}) with K >= 1 negatives, got {tuple(v_neg.shape)}")
    if not (u.dtype == v_pos.dtype == v_neg.dtype):
        raise ValueError(f"{fn}: u, v_pos and v_neg must share one dtype, got {u.dtype}, {v_pos.dtype}, {v_neg.dtype}")
    return u, v_pos, v_neg, _check_tau(tau, fn)


def _reduce(per_anchor: torch.Tensor, reduction: str, fn: str) -> torch.Tensor:
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    if reduction == "none":
        return per_anchor
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _batch_logits(z1, z2, tau):
    """Cosine-similarity logits of all 2N embeddings, and each row's positive column.

    Rows/columns ``0..N-1`` are ``z1``, ``N..2N-1`` are ``z2``; the positive of row
    ``i`` is ``(i + N) mod 2N``. (Eq. (1) interleaves the views instead; the loss is the
    same because it is a mean over all anchors.)
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / tau
    pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return logits, pos


# ----------------------------------------------------------------------------- batch losses

def nt_xent(z1, z2, tau, reduction: str = "mean") -> torch.Tensor:
    """Batch NT-Xent loss, eq. (1): the quantity to *minimise*.

    ``z1`` and ``z2`` are the two views, shape ``(N, d)`` with ``N >= 2`` (any N, so a
    partial last batch works); row ``k`` of ``z1`` and row ``k`` of ``z2`` are a
    positive pair (for cross-modal learning: image and audio embeddings of the same
    pair). The ``2N`` embeddings are L2-normalised here, so ``sim`` is the cosine
    similarity. Each of the ``2N`` anchors has its other view as the positive and the
    other ``2N - 2`` embeddings as negatives; the indicator ``1[k != i]`` of eq. (1)
    removes only the anchor itself from the denominator.

    Computed as a cross-entropy over the masked logits (``log_softmax``, i.e.
    logsumexp), so it stays finite at ``tau = 0.001`` in float32. ``reduction``:
    ``"mean"`` (eq. (1)'s ``1/2N`` sum, default), ``"sum"`` or ``"none"`` (the ``2N``
    per-anchor losses ``l(i, j)``, first the ``z1`` anchors, then the ``z2`` anchors).
    """
    z1, z2, tau = _check_views(z1, z2, tau, "nt_xent")
    logits, pos = _batch_logits(z1, z2, tau)
    self_mask = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(self_mask, float("-inf"))  # the indicator 1[k != i]
    per_anchor = F.cross_entropy(logits, pos, reduction="none")
    return _reduce(per_anchor, reduction, "nt_xent")


def nt_logistic(z1, z2, tau, reduction: str = "mean",
                negatives: str = "sum") -> torch.Tensor:
    """Batch NT-Logistic loss: minus eq. (5) per anchor, to *minimise*.

    Same inputs and pairing as :func:`nt_xent` (two ``(N, d)`` views, ``N >= 2``,
    L2-normalised here). For each of the ``2N`` anchors ``u`` with positive ``v+`` and
    the ``2N - 2`` other embeddings as negatives, the per-anchor loss is

        ``-[log sigma(u.v+ / tau) + sum_k log sigma(-u.v_k / tau)]``

    i.e. ``-nt_logistic_objective(u, v+, v_neg, tau)``, computed with ``logsigmoid`` so
    that it is finite at ``tau = 0.001`` in float32. ``negatives="mean"`` averages the
    negative terms instead of summing them (balances one positive against many
    negatives; eq. (5) sums). ``reduction`` as in :func:`nt_xent`.
    """
    z1, z2, tau = _check_views(z1, z2, tau, "nt_logistic")
    if negatives not in ("sum", "mean"):
        raise ValueError("nt_logistic: negatives must be 'sum' or 'mean', "
                         f"got {negatives!r}")
    logits, pos = _batch_logits(z1, z2, tau)
    rows = torch.arange(len(logits), device=logits.device)
    neg_mask = torch.ones_like(logits, dtype=torch.bool)
    neg_mask[rows, rows] = False
    neg_mask[rows, pos] = False
    neg_terms = F.logsigmoid(-logits).masked_fill(~neg_mask, 0.0).sum(dim=1)
    if negatives == "mean":
        neg_terms = neg_terms / neg_mask[0].sum()
    per_anchor = -(F.logsigmoid(logits[rows, pos]) + neg_terms)
    return _reduce(per_anchor, reduction, "nt_logistic")


# ----------------------------------------------------------------------------- gradient weights

def nt_xent_weights(s_pos, s_neg, tau) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients of NT-Xent's gradient (eq. (3)) from the similarities.

    ``s_pos``: ``u.v+`` (shape ``(...)``), ``s_neg``: ``u.v_k`` (shape ``(..., K)``).
    Returns ``(c_pos, w_neg)`` with ``w_neg[k] = exp(s_k/tau) / Z(u)`` (a softmax,
    eq. (4)) and ``c_pos = 1 - exp(s+/tau) / Z(u) = sum_k w_neg[k]`` (summed, not
    subtracted from 1, so it keeps full precision when the positive dominates). Then
    ``dL/du = (c_pos v+ - sum_k w_neg[k] v_k) / tau``.
    """
    s_pos = _tensor(s_pos, "s_pos", "nt_xent_weights")
    s_neg = _tensor(s_neg, "s_neg", "nt_xent_weights")
    tau = _check_tau(tau, "nt_xent_weights")
    if s_neg.ndim < 1 or s_neg.shape[:-1] != s_pos.shape:
        raise ValueError("nt_xent_weights: s_neg must have shape s_pos.shape + (K,) = "
                         f"{tuple(s_pos.shape)} + (K,), got {tuple(s_neg.shape)}")
    p = torch.softmax(torch.cat([s_pos.unsqueeze(-1), s_neg], dim=-1) / tau, dim=-1)
    w_neg = p[..., 1:]
    return w_neg.sum(dim=-1), w_neg


def nt_logistic_weights(s_pos, s_neg, tau) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients of NT-Logistic's gradient (eq. (6)):
    ``(sigma(-s+/tau), sigma(s_k/tau))``.

    Shapes as in :func:`nt_xent_weights`, but each weight depends on its own
    similarity only.
    """
    s_pos = _tensor(s_pos, "s_pos", "nt_logistic_weights")
    s_neg = _tensor(s_neg, "s_neg", "nt_logistic_weights")
    tau = _check_tau(tau, "nt_logistic_weights")
    return torch.sigmoid(-s_pos / tau), torch.sigmoid(s_neg / tau)


# ----------------------------------------------------------------------------- one anchor

def nt_xent_objective(u, v_pos, v_neg, tau) -> torch.Tensor:
    """Eq. (2), the exam's "negative loss" for one anchor (to *maximise*; <= 0):

        ``u.v+/tau - log(exp(u.v+/tau) + sum_k exp(u.v_k/tau))``

    ``u``, ``v_pos``: shape ``(d,)``; ``v_neg``: ``(K, d)``, any ``K >= 1`` (a ``(d,)``
    vector is one negative). The vectors are used as given (``sim(u, v) = u @ v``):
    pass unit vectors.
    """
    u, v_pos, v_neg, tau = _check_anchor(u, v_pos, v_neg, tau, "nt_xent_objective")
    s_pos, s_neg = (u @ v_pos) / tau, (v_neg @ u) / tau
    return s_pos - torch.logsumexp(torch.cat([s_pos.unsqueeze(0), s_neg]), dim=0)


def nt_xent_grad(u, v_pos, v_neg, tau) -> torch.Tensor:
    """Eq. (3), the closed-form gradient of eq. (2) with respect to ``u`` (``(d,)``):

        ``(1 - exp(u.v+/tau)/Z) v+/tau - sum_k exp(u.v_k/tau)/Z v_k/tau``

    with ``Z`` of eq. (4). It treats ``u`` as a free vector; if ``u = x/|x|`` is
    normalised inside a model, the gradient with respect to ``x`` is
    ``(I - u u^T) / |x|`` times this one (notebook 2b).
    """
    u, v_pos, v_neg, tau = _check_anchor(u, v_pos, v_neg, tau, "nt_xent_grad")
    c_pos, w_neg = nt_xent_weights(u @ v_pos, v_neg @ u, tau)
    return (c_pos * v_pos - w_neg @ v_neg) / tau


def nt_logistic_objective(u, v_pos, v_neg, tau) -> torch.Tensor:
    """Eq. (5) summed over the K negatives (to *maximise*; always <= 0):

        ``log sigma(u.v+/tau) + sum_k log sigma(-u.v_k/tau)``

    Inputs as in :func:`nt_xent_objective`.
    """
    u, v_pos, v_neg, tau = _check_anchor(u, v_pos, v_neg, tau,
                                         "nt_logistic_objective")
    return F.logsigmoid((u @ v_pos) / tau) + F.logsigmoid(-(v_neg @ u) / tau).sum()


def nt_logistic_grad(u, v_pos, v_neg, tau) -> torch.Tensor:
    """Eq. (6) summed over the K negatives:

        ``sigma(-u.v+/tau) v+/tau - sum_k sigma(u.v_k/tau) v_k/tau``
    """
    u, v_pos, v_neg, tau = _check_anchor(u, v_pos, v_neg, tau, "nt_logistic_grad")
    c_pos, w_neg = nt_logistic_weights(u @ v_pos, v_neg @ u, tau)
    return (c_pos * v_pos - w_neg @ v_neg) / tau
