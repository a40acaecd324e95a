"""Searching the fusion space (:mod:`mmhelpers.models.searchable`): random search, and sequential
model-based search as in MFAS (Perez-Rúa et al., CVPR 2019).

A candidate's score is its validation accuracy after a few epochs of the one trainer
(:func:`~mmhelpers.training.trainer.fit`) on the cached layer outputs; the training seed is fixed,
so a candidate has one score whichever search trains it, and scores are stored
(:mod:`mmhelpers.cache.results`). The search's own seed decides only what it tries.

Model-based search grows architectures one fusion layer at a time. Step 0 trains one-layer
candidates. At each later step a :class:`Surrogate` (an MLP over the candidate's encoding) is fitted
to every score so far; the ``k`` best candidates are extended by one layer in every way, the
surrogate predicts each extension's score, and ``k`` of them are sampled with probability
proportional to ``(predicted / sum of predicted) ^ (1 / T)``, with a temperature ``T`` that falls
over the steps (:func:`temperature`): exploration first, then exploitation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .. import config
from ..cache.results import compute_or_load
from ..data.splits import Splits
from ..models.searchable import SearchedFusion, SearchSpace, describe
from .trainer import fit


@dataclass(frozen=True)
class Trial:
    """One trained candidate: its score (validation accuracy, %), the step that proposed it and
    the surrogate's prediction for it (NaN where none was made)."""

    candidate: tuple
    accuracy: float
    step: int
    predicted: float = float("nan")


@dataclass(frozen=True)
class CandidateTraining:
    """How every candidate is trained and scored."""

    epochs: int = 3
    hidden: int = 32
    batch_size: int = 256
    lr: float = 3e-3
    seed: int = field(default_factory=config.training_seed)

    def score(self, candidate, space: SearchSpace, features: Splits) -> float:
        """Validation accuracy (%) of ``candidate`` (stored and reused)."""
        spec = {
            "candidate": describe(candidate),
            "space": repr(space),
            "training": repr(self),
            "train": features.train,
            "val": features.val,
        }
        return compute_or_load(
            "fusion_search_scores",
            spec,
            lambda: self._train(candidate, space, features),
        )

    def build(self, candidate, space: SearchSpace) -> SearchedFusion:
        config.seed_everything(self.seed)
        return SearchedFusion(candidate, space, hidden=self.hidden)

    def _train(self, candidate, space, features) -> float:
        model = self.build(candidate, space)
        history = fit(
            model,
            features.train,
            features.val,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=self.seed,
            progress=False,
        )
        return 100 * float(history.best["val_acc"])


def random_search(space: SearchSpace, budget: int, score, seed: int) -> list[Trial]:
    """``budget`` distinct candidates drawn uniformly from the space, each scored by ``score``."""
    rng, seen, trials = np.random.default_rng(seed), set(), []
    while len(trials) < min(budget, space.size()):
        candidate = space.sample(rng)
        if candidate not in seen:
            seen.add(candidate)
            trials.append(Trial(candidate, score(candidate), step=0))
    return trials


def temperature(step: int, high: float = 10.0, low: float = 0.2) -> float:
    """MFAS's schedule: ``(high - low) exp(-(step + 1)^2 / 16) + low``."""
    return (high - low) * float(np.exp(-((step + 1) ** 2) / 16)) + low


def sampling_probabilities(predicted: np.ndarray, step: int) -> np.ndarray:
    """``(p / sum p) ^ (1 / T)``, normalised: near uniform at high T, near
    greedy at low T."""
    share = np.clip(np.asarray(predicted, float), 1e-6, None)
    weights = (share / share.sum()) ** (1.0 / temperature(step))
    return weights / weights.sum()


def model_based_search(
    space: SearchSpace,
    budget: int,
    score,
    seed: int,
    first: int | None = None,
    surrogate_epochs: int = 300,
) -> list[Trial]:
    """MFAS-style search of ``budget`` candidates. Step 0 trains ``first``
    one-layer candidates (all of them by default, at most half the budget); each
    of the ``space.max_layers - 1`` later steps trains an equal share of the
    rest, sampled from the extensions of the best so far."""
    rng = np.random.default_rng(seed)
    one_layer = [(c,) for c in space.choices]
    first = min(first or len(one_layer), budget // 2, len(one_layer))
    order = rng.permutation(len(one_layer))[:first]
    trials = [Trial(one_layer[i], score(one_layer[i]), step=0) for i in sorted(order)]
    steps = max(1, space.max_layers - 1)
    for step in range(1, steps + 1):
        k = (budget - len(trials)) // (steps - step + 1)
        tried = {t.candidate for t in trials}
        growable = sorted(
            (t for t in trials if len(t.candidate) < space.max_layers),
            key=lambda t: -t.accuracy,
        )[:k]
        pool = [
            c for t in growable for c in space.extensions(t.candidate) if c not in tried
        ]
        if not pool or k < 1:
            break
        surrogate = Surrogate.fitted(
            space, trials, seed=seed + step, epochs=surrogate_epochs
        )
        predicted = surrogate.predict(space, pool)
        picks = rng.choice(
            len(pool),
            size=min(k, len(pool)),
            replace=False,
            p=sampling_probabilities(predicted, step),
        )
        trials += [
            Trial(pool[i], score(pool[i]), step=step, predicted=float(predicted[i]))
            for i in picks
        ]
    return trials


class Surrogate(nn.Module):
    """Predicts a candidate's score (%) from :meth:`SearchSpace.encode`: an MLP with a sigmoid
    output scaled to 0-100, fitted by mean squared error."""

    def __init__(self, width: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 100 * torch.sigmoid(self.net(x)).squeeze(1)

    @classmethod
    def fitted(
        cls, space: SearchSpace, trials, seed: int, epochs: int = 300, lr: float = 1e-2
    ) -> "Surrogate":
        """A surrogate fitted to ``trials`` (full batch: a few dozen points)."""
        x = torch.from_numpy(np.stack([space.encode(t.candidate) for t in trials]))
        y = torch.tensor([t.accuracy for t in trials], dtype=torch.float32)
        config.seed_everything(seed)
        model = cls(x.shape[1])
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        return model.eval()

    @torch.no_grad()
    def predict(self, space: SearchSpace, candidates) -> np.ndarray:
        return self(
            torch.from_numpy(np.stack([space.encode(c) for c in candidates]))
        ).numpy()


def best_so_far(trials) -> np.ndarray:
    """The best score after each trained candidate."""
    return np.maximum.accumulate([t.accuracy for t in trials])
