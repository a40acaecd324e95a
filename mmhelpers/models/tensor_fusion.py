"""Tensor fusion: the two embeddings meet in their outer product.

* :class:`TensorFusion` (TFN, Zadeh et al. 2017): ``z = [1; e_img] ⊗ [1; e_aud]``, flattened, of
  dimension ``(d_img + 1)(d_aud + 1)``. The appended 1 keeps the unimodal terms (``1 ⊗ e_aud``,
  ``e_img ⊗ 1``) and a constant beside the bimodal ones, so a linear layer on ``z`` can weight
  each modality alone and every product of two features.
* :class:`LowRankFusion` (LMF, Liu et al. 2018): the same linear layer on ``z``, with its weight
  tensor ``W`` (d_img+1, d_aud+1, hidden) held as a sum of ``rank`` products of one factor per
  modality, so ``z`` itself is never formed.

Both classify the fused vector with ``ReLU -> Dropout -> Linear``. Every weight is an
``nn.Parameter`` or a registered module (a factor kept in a plain Python list would never be
handed to the optimiser: the bug of MultiBench's ``LowRankTensorFusion``).
"""

from __future__ import annotations

import torch
from torch import nn

from .fusion import _check_p, _TwoEncoders


def with_one(e: torch.Tensor) -> torch.Tensor:
    """``[1; e]``: a column of ones before the features (B, d) -> (B, d + 1)."""
    return torch.cat([torch.ones_like(e[:, :1]), e], dim=1)


def tensor_product(e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
    """``vec([1; e_img] ⊗ [1; e_aud])`` per sample: (B, (d_img + 1) (d_aud + 1))."""
    outer = with_one(e_img).unsqueeze(2) * with_one(e_aud).unsqueeze(1)
    return outer.flatten(1)


class TensorFusion(_TwoEncoders):
    """TFN: ``Linear(vec([1; e_img] ⊗ [1; e_aud]))`` -> ReLU -> Dropout -> Linear."""

    def __init__(self, image_encoder: nn.Module, audio_encoder: nn.Module,
                 hidden: int = 32, dropout: float = 0.3, n_classes: int = 10):
        super().__init__(image_encoder, audio_encoder, modality_dropout=0.0)
        self.embed_dim = hidden
        d_img, d_aud = image_encoder.embed_dim, audio_encoder.embed_dim
        self.fused = nn.Linear((d_img + 1) * (d_aud + 1), hidden)
        self.dropout = nn.Dropout(_check_p(dropout, "dropout"))
        self.classifier = nn.Linear(hidden, n_classes)

    def _hidden(self, e_img, e_aud) -> torch.Tensor:
        return torch.relu(self.fused(tensor_product(e_img, e_aud)))

    def embed(self, images, audio) -> torch.Tensor:
        return self._hidden(*self.member_outputs(images, audio))

    def fuse(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
        """Logits from the two embeddings (B, embed_dim each)."""
        return self.classifier(self.dropout(self._hidden(e_img, e_aud)))


class LowRankFusion(_TwoEncoders):
    """LMF: ``h = bias + sum_r w_r (A_r^T [1; e_img]) * (B_r^T [1; e_aud])`` -> ReLU ->
    Dropout -> Linear, with factors ``A`` (rank, d_img+1, hidden), ``B`` (rank, d_aud+1,
    hidden) and rank weights ``w`` (rank,).

    It equals :class:`TensorFusion` whose first layer has the weight tensor
    ``W[i, j, o] = sum_r w_r A[r, i, o] B[r, j, o]``: for each output ``o`` a matrix of rank at
    most ``rank``. So at ``rank >= min(d_img, d_aud) + 1`` it can be any TFN (see
    :meth:`from_tensor_fusion`).
    """

    def __init__(self, image_encoder: nn.Module, audio_encoder: nn.Module, rank: int = 4,
                 hidden: int = 32, dropout: float = 0.3, n_classes: int = 10):
        super().__init__(image_encoder, audio_encoder, modality_dropout=0.0)
        if rank < 1:
            raise ValueError(f"LowRankFusion: rank must be at least 1, got {rank}")
        self.rank, self.embed_dim = rank, hidden
        d_img, d_aud = image_encoder.embed_dim, audio_encoder.embed_dim
        self.image_factor = nn.Parameter(torch.randn(rank, d_img + 1, hidden) * (d_img + 1) ** -0.5)
        self.audio_factor = nn.Parameter(torch.randn(rank, d_aud + 1, hidden) * (d_aud + 1) ** -0.5)
        self.rank_weights = nn.Parameter(torch.full((rank,), 1.0 / rank))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.dropout = nn.Dropout(_check_p(dropout, "dropout"))
        self.classifier = nn.Linear(hidden, n_classes)

    def low_rank(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
        """The fused vector (B, hidden), through the factors only."""
        a = torch.einsum("bi,rio->rbo", with_one(e_img), self.image_factor)
        b = torch.einsum("bj,rjo->rbo", with_one(e_aud), self.audio_factor)
        return torch.einsum("r,rbo->bo", self.rank_weights, a * b) + self.bias

    def embed(self, images, audio) -> torch.Tensor:
        return torch.relu(self.low_rank(*self.member_outputs(images, audio)))

    def fuse(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
        """Logits from the two embeddings (B, embed_dim each)."""
        return self.classifier(self.dropout(torch.relu(self.low_rank(e_img, e_aud))))

    @torch.no_grad()
    def from_tensor_fusion(self, tfn: TensorFusion) -> "LowRankFusion":
        """Copy ``tfn``'s weights exactly, with each output's (d_img+1, d_aud+1) weight matrix
        split by its singular value decomposition; needs ``rank >= min(d_img, d_aud) + 1``."""
        hidden, (n_i, n_a) = self.embed_dim, self.image_factor.shape[1:2] + self.audio_factor.shape[1:2]
        if self.rank < min(n_i, n_a):
            raise ValueError(f"from_tensor_fusion: rank {self.rank} < {min(n_i, n_a)}: not exact")
        w = tfn.fused.weight.reshape(hidden, n_i, n_a)
        u, s, vh = torch.linalg.svd(w, full_matrices=False)  # (hidden, n_i, k), (hidden, k), (hidden, k, n_a)
        k = s.shape[1]
        self.image_factor.zero_(), self.audio_factor.zero_()
        self.image_factor[:k] = (u * s.unsqueeze(1)).permute(2, 1, 0)
        self.audio_factor[:k] = vh.permute(1, 2, 0)
        self.rank_weights.fill_(1.0)
        self.bias.copy_(tfn.fused.bias)
        self.classifier.load_state_dict(tfn.classifier.state_dict())
        return self
