"""Standardisation with statistics fitted on training data only."""

from __future__ import annotations

import math

import torch
from torch import nn


class Standardize(nn.Module):
    """``(x - mean) / std`` with statistics fitted on training data; the identity until fitted.

    ``shape`` is the shape of the statistics without the batch dimension: ``()`` for one scalar
    mean/std, ``(1, 32, 1)`` for one per mel band of a (B, 1, 32, frames) spectrogram. :meth:`fit`
    averages over the batch and over every dimension where ``shape`` has a 1. The statistics are
    buffers, so they are saved in the ``state_dict`` and never trained.
    """

    def __init__(self, shape: tuple = (), eps: float = 1e-5):
        super().__init__()
        self.shape, self.eps = tuple(int(s) for s in shape), eps
        self.register_buffer("mean", torch.zeros(self.shape))
        self.register_buffer("std", torch.ones(self.shape))
        self.register_buffer("fitted", torch.tensor(False))

    def _reduce_dims(self, x: torch.Tensor) -> list[int]:
        if not self.shape:
            return list(range(x.dim()))
        if x.dim() != len(self.shape) + 1 or any(s not in (1, n) for s, n in zip(self.shape, x.shape[1:])):
            raise ValueError(f"Standardize.fit: x of shape {tuple(x.shape)} does not match the statistics' "
                             f"shape {self.shape} (expected (N, ...) with each size equal or 1)")
        return [0] + [i + 1 for i, s in enumerate(self.shape) if s == 1]

    @torch.no_grad()
    def fit(self, x) -> "Standardize":
        """Fit on a tensor of training data, or on an iterable of tensors (chunks of it)."""
        chunks = [x] if isinstance(x, torch.Tensor) else list(x)
        if not chunks or sum(c.numel() for c in chunks) == 0:
            raise ValueError("Standardize.fit: x is empty")
        total = total_sq = count = 0
        for c in chunks:
            dims = self._reduce_dims(c)
            c = c.double()
            total = total + c.sum(dims)
            total_sq = total_sq + c.square().sum(dims)
            count += c.numel() // math.prod(self.shape)  # samples per statistic
        mean = total / count
        std = (total_sq / count - mean.square()).clamp_min(0).sqrt()
        if not torch.isfinite(mean).all() or not torch.isfinite(std).all():
            raise ValueError("Standardize.fit: x contains NaN or inf")
        self.mean.copy_(mean.reshape(self.shape).float())
        self.std.copy_(std.reshape(self.shape).float().clamp_min(self.eps))
        self.fitted.fill_(True)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"shape={self.shape}, fitted={bool(self.fitted)}"
