"""Modality relevance with an explicit p-norm (multiple kernel learning's view, as in InTense,
Varshneya et al., IJCAI 2024).

:class:`RelevanceFusion` is a linear classifier with one block of weights per term: the image
embedding, the audio embedding and their interaction (the outer product). It is trained with the
block-norm regulariser ``(sum_m ||W_m||^q)^(2/q)``, ``q = 2p / (p + 1)``
(:class:`RelevanceLoss`), and its relevance scores

    beta_m = ||W_m||^(2/(p+1)) / (sum_k ||W_k||^(2p/(p+1)))^(1/p),   so that ||beta||_p = 1,

say how much of the decision each term carries (:meth:`RelevanceFusion.relevance`).

**Degree inflation.** Raw embeddings (ReLU outputs) have non-zero means, so the interaction
``e_img ⊗ e_aud`` contains ``e_img * mean(e_aud)`` and ``mean(e_img) * e_aud``: copies of the
unimodal terms. Its block can then carry the decision even when one modality is pure noise.
``centred=True`` is the fix: each embedding is centred (its running mean removed) before the
product, and every block is scaled by one number to unit mean squared norm (a *vector-wise* batch
normalisation, :class:`BlockNorm`), so the interaction holds only what the unimodal terms do not.
The fix changes two things at once; ``centred=False, scaled=True`` (a variant of ours, not
InTense's, to tell the two apart) scales every block the same way without centring anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .fusion import _TwoEncoders

BLOCKS = ("image", "audio", "image ⊗ audio")


class BlockNorm(nn.Module):
    """Vector-wise batch normalisation of one block: ``(z - mean) / scale`` with one scale for
    the whole block, ``scale^2`` = the mean squared norm of ``z - mean``. Batch statistics in
    training, running ones (buffers) in evaluation. ``centre=False``: the mean is kept at zero,
    so the block is only scaled, ``scale^2`` = the mean squared norm of ``z``."""

    def __init__(self, dim: int, momentum: float = 0.1, eps: float = 1e-5,
                 centre: bool = True):
        super().__init__()
        self.momentum, self.eps, self.centre = momentum, eps, centre
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_scale", torch.ones(()))

    def extra_repr(self) -> str:
        return "" if self.centre else "centre=False"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = z.mean(0) if self.centre else torch.zeros_like(self.running_mean)
            scale = ((z - mean) ** 2).sum(1).mean().add(self.eps).sqrt()
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_scale.lerp_(scale, self.momentum)
        else:
            mean, scale = self.running_mean, self.running_scale
        return (z - mean) / scale


class RelevanceFusion(_TwoEncoders):
    """``logits = W_img z_img + W_aud z_aud + W_int z_int + b``: one weight block per term of
    :data:`BLOCKS`. ``centred``: :class:`BlockNorm` on each embedding before the product and on
    each block (the fix for degree inflation); else the raw terms. ``scaled`` (by default as
    ``centred``): each block scaled to unit mean squared norm; ``centred=False, scaled=True``
    scales the raw terms without centring them (:attr:`kind` ``"scaled"``)."""

    def __init__(
        self,
        image_encoder: nn.Module,
        audio_encoder: nn.Module,
        centred: bool = True,
        n_classes: int = 10,
        scaled: bool | None = None,
    ):
        super().__init__(image_encoder, audio_encoder, modality_dropout=0.0)
        d_img, d_aud = image_encoder.embed_dim, audio_encoder.embed_dim
        self.centred, self.scaled = centred, centred if scaled is None else scaled
        if centred and not self.scaled:
            raise ValueError("RelevanceFusion: centred terms are always scaled")
        dims = (d_img, d_aud, d_img * d_aud)
        self.embed_dim = sum(dims)
        self.blocks = nn.ModuleList(nn.Linear(d, n_classes, bias=False) for d in dims)
        self.bias = nn.Parameter(torch.zeros(n_classes))
        if centred:
            self.centre = nn.ModuleList([BlockNorm(d_img), BlockNorm(d_aud)])
        if self.scaled:
            self.norms = nn.ModuleList(BlockNorm(d, centre=centred) for d in dims)

    @property
    def kind(self) -> str:
        """``"raw"``, ``"scaled"`` (scaled only) or ``"centred"`` (centred and scaled)."""
        return "centred" if self.centred else "scaled" if self.scaled else "raw"

    def terms(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> list[torch.Tensor]:
        """The three blocks' inputs: image, audio, flattened outer product."""
        if self.centred:
            e_img, e_aud = self.centre[0](e_img), self.centre[1](e_aud)
        z = [e_img, e_aud, (e_img.unsqueeze(2) * e_aud.unsqueeze(1)).flatten(1)]
        return [n(t) for n, t in zip(self.norms, z)] if self.scaled else z

    def embed(self, images, audio) -> torch.Tensor:
        """The three terms side by side: the input of the (block) linear layer."""
        return torch.cat(self.terms(*self.member_outputs(images, audio)), dim=1)

    def fuse(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
        """Logits from the two embeddings."""
        return (
            sum(w(z) for w, z in zip(self.blocks, self.terms(e_img, e_aud))) + self.bias
        )

    def block_norms(self) -> torch.Tensor:
        """``||W_m||`` (Frobenius) of each block, in :data:`BLOCKS` order."""
        return torch.stack([w.weight.norm() for w in self.blocks])

    @torch.no_grad()
    def relevance(self, p: float) -> torch.Tensor:
        """``beta`` (see the module's docstring): ``||beta||_p = 1``."""
        return relevance_scores(self.block_norms(), p)


def relevance_scores(norms: torch.Tensor, p: float) -> torch.Tensor:
    """``beta_m = n_m^(2/(p+1)) / (sum_k n_k^(2p/(p+1)))^(1/p)``, block norms ``n``."""
    if p < 1:
        raise ValueError(f"relevance_scores: p must be at least 1, got {p}")
    return norms ** (2 / (p + 1)) / (norms ** (2 * p / (p + 1))).sum() ** (1 / p)


def block_norm_penalty(norms: torch.Tensor, p: float) -> torch.Tensor:
    """``(sum_m n_m^q)^(2/q)`` with ``q = 2p / (p + 1)``."""
    q = 2 * p / (p + 1)
    return (norms**q).sum() ** (2 / q)


@dataclass(frozen=True)
class RelevanceLoss:
    """Cross-entropy plus ``strength`` times the block-norm penalty of the model's
    :class:`RelevanceFusion` (found inside a
    :class:`~mmhelpers.models.frozen.FuseOutputs`)."""

    p: float
    strength: float = 1e-3

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        fusion = getattr(model, "model", model)
        penalty = block_norm_penalty(fusion.block_norms(), self.p)
        return F.cross_entropy(model(images, audio), labels) + self.strength * penalty
