"""Late fusion: a weighted combination of the outputs of two unimodal classifiers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

COMBINES = ("logits", "probs")
WEIGHTINGS = ("learned", "fixed")


class LateFusion(nn.Module):
    """Combine the outputs of two unimodal classifiers (called as ``m(images, audio)``).

    * ``combine="logits"``: ``w_img * logits_img + w_aud * logits_aud``.
    * ``combine="probs"``: ``log(w_img * p_img + w_aud * p_aud)``, the log-probability
      of the mixture, so cross-entropy on the output is the mixture's negative
      log-likelihood.
    * ``weighting="fixed"``: ``weights`` (normalised to sum 1) stay as they are (a
      buffer). ``weighting="learned"``: the weights are ``softmax`` of a registered
      ``nn.Parameter`` initialised at ``log(weights)``, shape (2,) or, with
      ``per_class=True``, (2, n_classes) (one pair per class; for ``"probs"`` the
      per-class mixture no longer sums to 1 and cross-entropy renormalises it).
    * ``freeze_members=True``: the members' parameters stop training and the members
      stay in eval mode (no dropout, frozen batch-norm statistics), so only the
      weights train: the cheap way to fuse two models that are already trained.

    ``modality_weights()`` returns the current weights (detached). ``embed`` returns
    the two members' embeddings concatenated (there is no final linear layer).
    """

    def __init__(self, image_model: nn.Module, audio_model: nn.Module,
                 combine: str = "logits", weighting: str = "learned",
                 weights=(0.5, 0.5), per_class: bool = False,
                 freeze_members: bool = False, n_classes: int = 10):
        super().__init__()
        w = _check_weights(combine, weighting, weights, per_class)
        self.image_model, self.audio_model = image_model, audio_model
        self.combine, self.weighting, self.per_class = combine, weighting, per_class
        self.freeze_members = freeze_members
        if weighting == "learned":
            init = w.log()[:, None].repeat(1, n_classes) if per_class else w.log()
            self.weight_logits = nn.Parameter(init)
        else:
            self.register_buffer("fixed_weights", w)
        if freeze_members:
            for p in [*image_model.parameters(), *audio_model.parameters()]:
                p.requires_grad_(False)
        self.embed_dim = sum(getattr(m, "embed_dim", 0)
                             for m in (image_model, audio_model))
        self.train()

    def extra_repr(self) -> str:
        return (f"combine={self.combine!r}, weighting={self.weighting!r}, "
                f"per_class={self.per_class}, freeze_members={self.freeze_members}")

    def train(self, mode: bool = True) -> "LateFusion":
        super().train(mode)
        if self.freeze_members:
            self.image_model.eval()
            self.audio_model.eval()
        return self

    def _weights(self) -> torch.Tensor:
        if self.weighting == "learned":
            return torch.softmax(self.weight_logits, dim=0)
        return self.fixed_weights

    def modality_weights(self) -> torch.Tensor:
        """Current weights [image, audio]: (2,), or (2, n_classes) if ``per_class``."""
        return self._weights().detach().clone()

    def member_outputs(self, images, audio) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`fuse` takes: the two members' logits."""
        train_members = torch.is_grad_enabled() and not self.freeze_members
        with torch.set_grad_enabled(train_members):
            return self.image_model(images, audio), self.audio_model(images, audio)

    def member_encoders(self) -> tuple[nn.Module, nn.Module]:
        """The members' encoders: their outputs, once computed, give the members'
        logits (:meth:`from_encodings`)."""
        for m in (self.image_model, self.audio_model):
            if not (hasattr(m, "encoder") and hasattr(m, "head")):
                raise TypeError(f"LateFusion: a member {type(m).__name__} without "
                                ".encoder and .head cannot be trained from stored "
                                "encodings")
        return self.image_model.encoder, self.audio_model.encoder

    def from_encodings(self, e_img: torch.Tensor,
                       e_aud: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`fuse` takes, given the member encoders' outputs: the members'
        logits."""
        return self.image_model.head(e_img), self.audio_model.head(e_aud)

    def forward(self, images, audio) -> torch.Tensor:
        return self.fuse(*self.member_outputs(images, audio))

    def fuse(self, l_img: torch.Tensor, l_aud: torch.Tensor) -> torch.Tensor:
        """Combine the members' logits (B, n_classes) as ``forward`` does. With frozen
        members, compute their logits once and train the weights on
        ``fuse(l_img, l_aud)``: seconds instead of an epoch of both networks a step."""
        w = self._weights()
        if self.combine == "logits":
            return w[0] * l_img + w[1] * l_aud
        return torch.logaddexp(torch.log(w[0]) + F.log_softmax(l_img, dim=1),
                               torch.log(w[1]) + F.log_softmax(l_aud, dim=1))

    def embed(self, images, audio) -> torch.Tensor:
        return torch.cat([self.image_model.embed(images, audio),
                          self.audio_model.embed(images, audio)], dim=1)


def _check_weights(combine: str, weighting: str, weights,
                   per_class: bool) -> torch.Tensor:
    """The starting weights as a tensor that sums to 1; a clear error for bad settings."""
    if combine not in COMBINES:
        raise ValueError(f"LateFusion: combine must be one of {COMBINES}, "
                         f"got {combine!r}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"LateFusion: weighting must be one of {WEIGHTINGS}, "
                         f"got {weighting!r}")
    w = torch.as_tensor(weights, dtype=torch.float32)
    if w.shape != (2,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("LateFusion: weights must be two non-negative numbers with a "
                         f"positive sum, got {weights}")
    if weighting == "learned" and (w == 0).any():
        raise ValueError("LateFusion: learned weights start at log(weights), so both "
                         f"must be > 0, got {weights}")
    if per_class and weighting == "fixed":
        raise ValueError("LateFusion: per_class=True needs weighting='learned'")
    return w / w.sum()
