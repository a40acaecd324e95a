"""Numeric checks of the losses for notebooks 2a-2d (NT-Xent vs NT-Logistic): test anchors and
batches, the closed-form gradients against autograd, and the naive formula's overflow.

The numeric losses live in :mod:`mmhelpers.losses`; this module only checks them. Their figures
are in :mod:`mmhelpers.plots.losses`; the exam's equations in sympy and the symbolic checks in
:mod:`mmhelpers.analysis.loss_symbolic`. Equation numbers are the exam's: (1) batch NT-Xent,
(2) one-anchor NT-Xent objective, (3) its gradient, (4) the partition function ``Z(u)``,
(5) NT-Logistic, (6) its gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import losses
from ..plots.tables import markdown_table
from .loss_symbolic import is_zero

# ----------------------------------------------------------------------------- numeric checks


def unit_with_similarity(u: torch.Tensor, s: float, gen: torch.Generator) -> torch.Tensor:
    """A random unit vector ``v`` with ``u.v = s`` exactly (``u`` a unit vector)."""
    w = torch.randn(u.shape, generator=gen, dtype=u.dtype)
    w = F.normalize(w - (w @ u) * u, dim=0)
    return s * u + (1 - s * s) ** 0.5 * w


def random_anchor(d: int, K: int, dtype=torch.float64, seed: int = 0):
    """Random unit vectors ``u``, ``v_pos`` (shape ``(d,)``), ``v_neg`` (``(K, d)``)."""
    gen = torch.Generator().manual_seed(seed)

    def unit(*shape):
        return F.normalize(torch.randn(*shape, d, generator=gen, dtype=dtype), dim=-1)

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


def autograd_errors(objective, grad, ds=(2, 8, 64), Ks=(1, 5, 40),
                    taus=(0.05, 0.2, 1.0, 5.0), seed=0) -> list:
    """Rows ``(d, K, tau, max |autograd - closed form|, |closed form|)`` on random unit
    anchors (float64)."""
    rows = []
    for d in ds:
        for K in Ks:
            for tau in taus:
                u, v_pos, v_neg = random_anchor(d, K, seed=seed + 1000 * d + K)
                u.requires_grad_(True)
                (auto,) = torch.autograd.grad(objective(u, v_pos, v_neg, tau), u)
                closed = grad(u.detach(), v_pos, v_neg, tau)
                error = float((auto - closed).abs().max())
                rows.append((d, K, tau, error, float(closed.norm())))
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


def zero_table(claims: dict) -> tuple[bool, str]:
    """Run :func:`is_zero` on every expression of ``claims`` (LaTeX label -> expression); return
    ``(all zero, Markdown table)``."""
    results = {label: is_zero(expr) for label, expr in claims.items()}
    return all(results.values()), markdown_table(["expression (sympy)", "simplifies to 0"],
                                           [(k, "yes" if v else "**NO**") for k, v in results.items()])
