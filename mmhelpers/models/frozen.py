"""Fusing trained models that stay frozen: the frozen encoder, and the fusion seen from its members' outputs.

A fusion model with frozen members (:mod:`mmhelpers.models.fusion`,
:mod:`mmhelpers.models.late_fusion`) gets the same member outputs in every epoch.
:func:`mmhelpers.training.frozen_members.train_on_frozen_members` therefore computes them once per
split and trains only the fusion's own weights on them, through :class:`FuseOutputs`.
"""

from __future__ import annotations

import torch
from torch import nn


class FrozenEncoder(nn.Module):
    """A trained encoder that never trains again: no gradients, always in eval mode."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder, self.embed_dim = encoder, encoder.embed_dim
        self.modality = getattr(encoder, "modality", None)
        for p in encoder.parameters():
            p.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> "FrozenEncoder":
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, x):
        return self.encoder(x)


class FuseOutputs(nn.Module):
    """A fusion model with frozen members, seen from what the members output:
    ``FuseOutputs(model)(a, b) == model.fuse(a, b)`` where ``(a, b) = model.member_outputs(images, audio)``
    (the two embeddings for :class:`IntermediateFusion` / :class:`GatedFusion`, the two logits for
    :class:`LateFusion`).

    Frozen members give the same outputs every epoch, so they are computed once and the fusion's
    own weights train on them with the ordinary trainer (the outputs take the places of the images
    and the audio): seconds instead of an epoch of both networks per step. ``model`` is trained
    in place.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        if not getattr(model, "freeze_members", False) or not hasattr(model, "fuse"):
            raise ValueError(f"FuseOutputs: needs a fusion model with freeze_members=True (its members' outputs "
                             f"are computed once, so the members must not change), got {type(model).__name__}")
        self.model = model

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.model.fuse(a, b)
