"""A search space over fusion points, in the form of MFAS (Perez-Rúa et al., CVPR 2019).

The trained image and audio encoders stay frozen; the output of each of their layers is pooled
globally into one vector per pair (:mod:`mmhelpers.training.layer_outputs`). A *candidate* is a
sequence of one to ``max_layers`` fusion layers; fusion layer ``k`` picks one image layer, one audio
layer and a nonlinearity, and computes

    f_k = act_k(Linear(concat(image layer, audio layer, f_{k-1})))      (no f_0 for the first),

and a linear classifier reads the last ``f``. :class:`SearchSpace` counts, enumerates and samples
candidates and gives each as the indices MFAS's surrogate reads; :class:`SearchedFusion` is the
network of one candidate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


@dataclass(frozen=True)
class FusionLayer:
    """One fusion layer: image layer ``image`` and audio layer ``audio`` (numbered from 1, as in
    the slides' x1..x3 and y1..y5) and the nonlinearity ``act``."""

    image: int
    audio: int
    act: str

    def __str__(self) -> str:
        return f"(x{self.image}, y{self.audio}, {self.act})"


@dataclass(frozen=True)
class SearchSpace:
    """Candidates of 1 to ``max_layers`` fusion layers over image layers of widths ``image_dims``
    and audio layers of widths ``audio_dims``."""

    image_dims: tuple[int, ...]
    audio_dims: tuple[int, ...]
    activations: tuple[str, ...] = ("relu", "sigmoid")
    max_layers: int = 3

    def __post_init__(self):
        unknown = set(self.activations) - set(ACTIVATIONS)
        if unknown or not self.image_dims or not self.audio_dims or self.max_layers < 1:
            raise ValueError(
                f"SearchSpace: need layers, max_layers >= 1 and activations from {sorted(ACTIVATIONS)}; "
                f"got {self}"
            )

    @property
    def choices(self) -> list[FusionLayer]:
        """Every possible fusion layer, in a fixed order."""
        return [
            FusionLayer(i, a, act)
            for i in range(1, len(self.image_dims) + 1)
            for a in range(1, len(self.audio_dims) + 1)
            for act in self.activations
        ]

    def size(self) -> int:
        """``sum_{l=1}^{L} (I * A * N)^l``: every sequence of 1 to L fusion layers."""
        c = len(self.image_dims) * len(self.audio_dims) * len(self.activations)
        return sum(c**n for n in range(1, self.max_layers + 1))

    def enumerate(self):
        """Every candidate (a generator: the space can be large)."""
        for n in range(1, self.max_layers + 1):
            yield from itertools.product(self.choices, repeat=n)

    def sample(self, rng: np.random.Generator) -> tuple[FusionLayer, ...]:
        """One random candidate as MFAS's random search draws it: the number of fusion layers
        uniformly from 1 to ``max_layers`` first, then each layer uniformly from :attr:`choices`
        (so each length is drawn equally often, not in proportion to its count)."""
        n = int(rng.integers(1, self.max_layers + 1))
        return tuple(self.choices[int(k)] for k in rng.integers(len(self.choices), size=n))

    def indices(self, candidate) -> np.ndarray:
        """``(len(candidate), 3)`` floats: per fusion layer its image layer, audio layer and
        nonlinearity as 0-based indices, the description MFAS's surrogate reads."""
        return np.array(
            [[layer.image - 1, layer.audio - 1, self.activations.index(layer.act)]
             for layer in candidate],
            np.float32,
        ).reshape(-1, 3)


def describe(candidate) -> str:
    """``(x3, y2, relu) -> (x2, y5, sigmoid)``."""
    return " -> ".join(str(layer) for layer in candidate)


class SearchedFusion(nn.Module):
    """The network of one candidate. It takes every image layer's pooled output side by side
    (B, sum(image_dims)) and every audio layer's (B, sum(audio_dims)) and reads the ones its
    fusion layers picked."""

    def __init__(
        self, candidate, space: SearchSpace, hidden: int = 32, n_classes: int = 10
    ):
        super().__init__()
        if not 1 <= len(candidate) <= space.max_layers:
            raise ValueError(
                f"SearchedFusion: a candidate has 1 to {space.max_layers} layers, got {len(candidate)}"
            )
        self.candidate, self.space = tuple(candidate), space
        self.image_slices = _slices(space.image_dims)
        self.audio_slices = _slices(space.audio_dims)
        layers = []
        for k, layer in enumerate(self.candidate):
            width = (
                space.image_dims[layer.image - 1]
                + space.audio_dims[layer.audio - 1]
                + (hidden if k else 0)
            )
            layers.append(
                nn.Sequential(nn.Linear(width, hidden), ACTIVATIONS[layer.act]())
            )
        self.fusion_layers = nn.ModuleList(layers)
        self.classifier = nn.Linear(hidden, n_classes)

    def extra_repr(self) -> str:
        return describe(self.candidate)

    def forward(
        self, image_layers: torch.Tensor, audio_layers: torch.Tensor
    ) -> torch.Tensor:
        fused = None
        for layer, net in zip(self.candidate, self.fusion_layers):
            parts = [
                image_layers[:, self.image_slices[layer.image - 1]],
                audio_layers[:, self.audio_slices[layer.audio - 1]],
            ]
            fused = net(torch.cat(parts if fused is None else parts + [fused], dim=1))
        return self.classifier(fused)


def _slices(dims) -> list[slice]:
    ends = np.cumsum(dims)
    return [slice(int(e - d), int(e)) for d, e in zip(dims, ends)]
