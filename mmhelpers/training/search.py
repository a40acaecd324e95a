"""Searching the fusion space (:mod:`mmhelpers.models.searchable`): MFAS (Perez-Rúa et al., CVPR
2019) as its authors' code runs it (github.com/jperezrua/mfas, ``ModelSearcher._epnas`` in
``models/searchable.py``, helpers in ``models/search/tools.py`` and ``surrogate.py``), and its
random-search baseline (``_randsearch``).

MFAS, with ``E`` search iterations, ``L`` progression steps (the most fusion layers), ``K``
samples per step and ``C`` choices per fusion layer:

* For iteration ``e = 0..E-1`` and step ``l = 0..L-1``, in that order:

  1. *Unfold*: every configuration sampled at the previous step is combined with each of the
     ``C`` choices for fusion layer ``l``: appended when the configuration has ``l`` layers,
     put in place of its layer ``l`` when it is longer (iterations after the first, whose
     configurations already have ``L`` layers). At the very first step there is none: the ``C``
     one-layer configurations.
  2. At the very first step (``e = l = 0``) all ``C`` are trained; at every other step the
     surrogate predicts the accuracy of each unfolded configuration.
  3. ``K`` configurations are sampled without replacement with probability
     ``(a / sum a) ^ (1 / T)``, normalised, ``a`` being the measured (first step) or predicted
     accuracies, at the current temperature ``T``. At every step but the first the ``K`` are
     trained (a configuration trained before is trained again and counts again).
  4. The trained configurations join the surrogate's data (one accuracy per configuration, the
     highest) and the surrogate trains ``surrogate_epochs`` more epochs on all of it, keeping its
     weights and its Adam optimizer from step to step; an epoch takes one step per group of
     configurations of equal length.
  5. The temperature becomes ``(T0 - Tf) exp(-(i + 1)^2 / decay^2) + Tf`` with
     ``i = e * E + l`` (the reference multiplies by the number of iterations, not of steps; the
     two agree when ``E = L``). It starts at ``T0``, so steps 0, 1, 2 sample at 10.0, 9.41, 7.83
     with the reference's defaults.

* It trains ``C + (E L - 1) K`` configurations. The surrogate is the reference's
  ``SimpleRecurrentSurrogate``: each fusion layer's three indices go through a linear layer and a
  sigmoid (100 units), an LSTM (100 units) reads the sequence, and a linear layer and a sigmoid
  give the accuracy (a fraction) from its last output; its linear layers start with weights
  uniform in ±0.1 and biases 1.8; mean squared error, Adam at ``lr_surrogate``.

Random search draws the number of fusion layers uniformly, then each layer uniformly
(``sample_k_configurations_directly``), with repeats. The reference trains ``E L K`` of them;
here it trains as many as MFAS does, so both have one budget.

A configuration's score is its validation accuracy after a few epochs of the one trainer
(:func:`~mmhelpers.training.trainer.fit`) on the cached layer outputs, with a fixed training seed:
it has one score whichever search trains it, stored (:mod:`mmhelpers.cache.results`), so a
repeat costs a look-up here where the reference trains again. The search's own seed decides only
what it samples.
"""

from __future__ import annotations

import math
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
    """One trained configuration: its score (validation accuracy, %), the search step that
    trained it and the surrogate's prediction for it (%, NaN where none was made)."""

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
        spec = {"candidate": describe(candidate), "space": repr(space),
                "training": repr(self), "train": features.train, "val": features.val}
        return compute_or_load("fusion_search_scores", spec,
                               lambda: self._train(candidate, space, features))

    def build(self, candidate, space: SearchSpace) -> SearchedFusion:
        config.seed_everything(self.seed)
        return SearchedFusion(candidate, space, hidden=self.hidden)

    def _train(self, candidate, space, features) -> float:
        model = self.build(candidate, space)
        history = fit(model, features.train, features.val, epochs=self.epochs,
                      batch_size=self.batch_size, lr=self.lr, seed=self.seed, progress=False)
        return 100 * float(history.best["val_acc"])


@dataclass(frozen=True)
class MFASSettings:
    """The search's settings; the defaults are the reference's (``main_searchable_ntu.py``:
    ``--search_iterations``, ``--num_samples``, the temperatures, ``--epochs_surrogate``,
    ``--lr_surrogate``)."""

    iterations: int = 3
    samples: int = 15
    initial_temperature: float = 10.0
    final_temperature: float = 0.2
    temperature_decay: float = 4.0
    surrogate_epochs: int = 50
    surrogate_lr: float = 1e-3

    def schedule(self, i: int) -> float:
        """``compute_temperature``: ``(T0 - Tf) exp(-(i + 1)^2 / decay^2) + Tf``."""
        high, low = self.initial_temperature, self.final_temperature
        return (high - low) * math.exp(-((i + 1) ** 2) / self.temperature_decay**2) + low

    def temperatures(self, steps: int) -> list[float]:
        """The temperature each of the ``iterations * steps`` steps samples at, in order."""
        out, t = [], self.initial_temperature
        for e in range(self.iterations):
            for layer in range(steps):
                out.append(t)
                t = self.schedule(e * self.iterations + layer)
        return out

    def budget(self, space: SearchSpace) -> int:
        """Configurations trained: ``C + (E L - 1) K``."""
        steps = self.iterations * space.max_layers
        return len(space.choices) + (steps - 1) * self.samples


@dataclass(frozen=True)
class Step:
    """One step of MFAS: what it extended (sampled at the step before), what it sampled and
    what it trained."""

    iteration: int
    layer: int
    temperature: float
    extended: tuple
    sampled: tuple
    trials: tuple


def unfold(sampled, space: SearchSpace, layer: int) -> list[tuple]:
    """Every configuration in ``sampled`` with fusion layer ``layer`` set to each choice
    (``merge_unfolded_with_sampled``); the one-layer configurations when ``sampled``
    is empty."""
    if not sampled:
        return [(c,) for c in space.choices]
    return [tuple(prev[:layer]) + (c,) + tuple(prev[layer + 1:])
            for prev in sampled for c in space.choices]


def sample_configurations(accuracies, k: int, temperature: float, rng) -> np.ndarray:
    """``k`` indices without replacement, with probability ``(a / sum a) ^ (1 / T)``,
    normalised (``sample_k_configurations``)."""
    share = np.asarray(accuracies, float) / np.sum(accuracies)
    powered = share ** (1.0 / temperature)
    return rng.choice(len(share), size=k, replace=False, p=powered / powered.sum())


def mfas_steps(space: SearchSpace, score, seed: int,
               settings: MFASSettings = MFASSettings()) -> list[Step]:
    """MFAS's search (module docstring), step by step; ``score(candidate)`` trains one
    (%)."""
    rng = np.random.default_rng(seed)
    surrogate = RecurrentSurrogate.seeded(seed)
    optimizer = torch.optim.Adam(surrogate.parameters(), lr=settings.surrogate_lr)
    data, steps, sampled = {}, [], ()
    temperatures = iter(settings.temperatures(space.max_layers))
    for e in range(settings.iterations):
        for layer in range(space.max_layers):
            t, unfolded = next(temperatures), unfold(sampled, space, layer)
            if not steps:
                trials = [Trial(c, score(c), step=0) for c in unfolded]
                pick = sample_configurations([tr.accuracy for tr in trials],
                                             settings.samples, t, rng)
            else:
                guess = 100 * surrogate.predict(space, unfolded)
                pick = sample_configurations(guess, settings.samples, t, rng)
                trials = [Trial(unfolded[i], score(unfolded[i]), step=len(steps),
                                predicted=float(guess[i])) for i in pick]
            for tr in trials:
                data[tr.candidate] = max(tr.accuracy, data.get(tr.candidate, -1.0))
            surrogate.train_on(space, data, optimizer, settings.surrogate_epochs)
            new = tuple(unfolded[i] for i in pick)
            steps.append(Step(e, layer, t, sampled, new, tuple(trials)))
            sampled = new
    return steps


def model_based_search(space: SearchSpace, score, seed: int,
                       settings: MFASSettings = MFASSettings()) -> list[Trial]:
    """MFAS's trained configurations in the order it trains them (:func:`mfas_steps`)."""
    return [t for step in mfas_steps(space, score, seed, settings) for t in step.trials]


def random_search(space: SearchSpace, budget: int, score, seed: int) -> list[Trial]:
    """``budget`` configurations drawn as MFAS's random search draws them
    (:meth:`SearchSpace.sample`: number of layers first), repeats included, each scored."""
    rng = np.random.default_rng(seed)
    draws = [space.sample(rng) for _ in range(budget)]
    return [Trial(c, score(c), step=0) for c in draws]


class RecurrentSurrogate(nn.Module):
    """The reference's ``SimpleRecurrentSurrogate``: predicts the accuracy (a fraction) of a
    configuration from its fusion layers' indices (:meth:`SearchSpace.indices`)."""

    def __init__(self, hidden: int = 100, features: int = 3, embedding: int = 100):
        super().__init__()
        self.embedding = nn.Sequential(nn.Linear(features, embedding), nn.Sigmoid())
        self.lstm = nn.LSTM(embedding, hidden)
        self.head = nn.Sequential(nn.Linear(hidden, 1), nn.Sigmoid())
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.uniform_(m.weight, -0.1, 0.1)
                nn.init.constant_(m.bias, 1.8)

    @classmethod
    def seeded(cls, seed: int) -> "RecurrentSurrogate":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls()

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        """``sequences``: (layers, batch, 3) -> (batch,)."""
        out, _ = self.lstm(self.embedding(sequences))
        return self.head(out[-1]).squeeze(1)

    def train_on(self, space, data: dict, optimizer, epochs: int) -> None:
        """``epochs`` epochs over ``data`` (configuration -> accuracy, %), one optimizer step per
        group of equal length (``train_simple_surrogate``)."""
        groups = {}
        for c, acc in data.items():
            groups.setdefault(len(c), []).append((c, acc))
        batches = [(_sequences(space, [c for c, _ in g]),
                    torch.tensor([a / 100 for _, a in g], dtype=torch.float32))
                   for g in groups.values()]
        self.train()
        for _ in range(epochs):
            for x, y in batches:
                optimizer.zero_grad()
                nn.functional.mse_loss(self(x), y).backward()
                optimizer.step()
        self.eval()

    @torch.no_grad()
    def predict(self, space: SearchSpace, candidates) -> np.ndarray:
        """Predicted accuracy (a fraction) of each candidate, in order."""
        out = np.empty(len(candidates), np.float32)
        for n in sorted({len(c) for c in candidates}):
            at = [i for i, c in enumerate(candidates) if len(c) == n]
            out[at] = self(_sequences(space, [candidates[i] for i in at])).numpy()
        return out


def _sequences(space, candidates) -> torch.Tensor:
    return torch.from_numpy(np.stack([space.indices(c) for c in candidates], axis=1))


def best_so_far(trials) -> np.ndarray:
    """The best score after each trained configuration."""
    return np.maximum.accumulate([t.accuracy for t in trials])
