"""Contrastive audio-image alignment (notebook 3d): the Problem 2 losses put to work.

An image encoder and a log-mel audio encoder each get a projection head
(:class:`~mmhelpers.models.alignment.AlignmentModel`); the pair ``(image_i, audio_i)`` is the
positive and every other embedding in the batch a negative (:func:`mmhelpers.losses.nt_xent` /
:func:`~mmhelpers.losses.nt_logistic`, eq. (1) / (5)). No label is used for training: the one
trainer (:func:`~mmhelpers.training.trainer.fit`) runs with :class:`ContrastiveLoss` in place of
cross-entropy, through the one train-or-load (the catalogue's ``"contrastive"`` entry,
:mod:`mmhelpers.training.catalogue`). The learned spaces are judged in
:mod:`mmhelpers.analysis.alignment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from .. import config, losses
from ..data.paired import PairedData
from ..models.alignment import AlignmentModel
from ..models.classifier import fit_normalisation

#: the batch losses compared: eq. (1), eq. (5) as written (negatives summed), and eq. (5) with
#: the negative terms averaged, which balances the one positive against the 2N - 2 negatives
LOSSES = {"nt_xent": losses.nt_xent, "nt_logistic": losses.nt_logistic,
          "nt_logistic_mean": partial(losses.nt_logistic, negatives="mean")}
#: temperatures of NT-Xent's sweep, trained in 2d (full, quick)
TAUS = ((0.05, 0.1, 0.3, 1.0), (0.1, 1.0))
#: 3d's grid in full mode, the temperatures each loss trains at: NT-Xent's whole sweep; its closest
#: rival, averaged NT-Logistic, around the sweep's optimum; summed NT-Logistic, far behind at every
#: temperature tried, at one. (Every run costs about two yardstick epochs; 3d stays under 15.)
GRID_TAUS = {"nt_xent": TAUS[0], "nt_logistic": (1.0,), "nt_logistic_mean": (0.1, 0.3, 1.0)}
#: training pairs and test pairs per run (full, quick)
SIZES = (dict(n_train=1500, n_test=2000), dict(n_train=800, n_test=400))


def taus(quick: bool | None = None) -> tuple:
    """NT-Xent's temperature sweep (2d): four values in full mode, two in quick mode."""
    return config.by_mode(*TAUS, quick)


def grid_taus(quick: bool | None = None) -> dict:
    """3d's grid, ``{loss: temperatures}``: :data:`GRID_TAUS` in full mode; in quick mode every loss
    at the quick sweep's two temperatures."""
    return config.by_mode(dict(GRID_TAUS), {loss: taus(True) for loss in LOSSES}, quick)


def sizes(quick: bool | None = None) -> dict:
    return dict(config.by_mode(*SIZES, quick))


@dataclass(frozen=True)
class ContrastiveLoss:
    """The training loss of one run: ``LOSSES[name](*model(images, audio), tau)``.
    The labels are not used."""

    name: str
    tau: float

    def __post_init__(self):
        if self.name not in LOSSES:
            raise ValueError(f"ContrastiveLoss: name must be one of {tuple(LOSSES)}, "
                             f"got {self.name!r}")

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        return LOSSES[self.name](*model(images, audio), self.tau)


def untrained_alignment(data: PairedData, seed: int | None = None) -> AlignmentModel:
    """The baseline: an :class:`AlignmentModel` as initialised by ``seed``, its input normalisation
    fitted on ``data``."""
    seed = config.training_seed() if seed is None else seed
    config.seed_everything(seed)
    model = AlignmentModel()
    fit_normalisation(model, data.images, data.audio)
    return model.to(config.device()).eval()
