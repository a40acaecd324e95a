"""The recipes: the training settings of every model in the series, one row each.

Notebooks 1a-1f, 3a and 3b train (or load, :func:`~mmhelpers.training.checkpoints.train_or_load`)
their models with these rows, so the same model is the same cached run wherever it appears. The
settings were chosen on the *validation* split; quick mode only cuts epochs. Adding a model means
one class (:mod:`mmhelpers.models`) and one row here.

Evidence (validation accuracy, mean of 3 seeds). Fusion heads on frozen encoders (batch 256):
intermediate 10 / 20 / 30 epochs at lr 3e-3 99.16 / 99.31 / 99.33% (at 1e-3: 99.02 / 99.21 /
99.27%), gated 98.86 / 99.09 / 99.16%. Fine-tuning everything instead (warm start, 2 epochs, lr
1e-3) reached 98.94% at ~20 s a seed, against ~2 s for the head. Unimodal epochs, by the late
fusion's validation accuracy: image 5 / audio 5 epochs 99.41%, 8 / 5 99.51%, 8 / 8 99.52%, 8 / 10
99.54% (two more audio epochs for +0.02: no). The raw-waveform audio model gets the log-mel
model's budget, 8 epochs, so that 1b compares the two at equal cost in epochs (72.7% against 83.2%
on validation; at its earlier 4 epochs the raw model had 69.2%). Early fusion trains a whole CNN
and gets the unimodal budget, 8 epochs (seed 0, validation): 2 epochs 87.3%, 4 92.9%, 8 96.7%,
12 97.7%, 16 98.1% (382 s); 1f shows the sweep up to 12 and keeps 8 for its three seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import config


@dataclass(frozen=True)
class Recipe:
    """Epochs (full mode, quick mode), batch size, peak learning rate, and whether to drop a last
    batch smaller than the others."""

    epochs: tuple[int, int]
    batch_size: int
    lr: float
    drop_last: bool = False

    def current_epochs(self, quick: bool | None = None) -> int:
        return self.epochs[1 if config.is_quick(quick) else 0]


RECIPES = {
    "image":        Recipe(epochs=(8, 2), batch_size=128, lr=3e-3),
    "audio_mel":    Recipe(epochs=(8, 2), batch_size=128, lr=3e-3),
    "audio_raw":    Recipe(epochs=(8, 2), batch_size=128, lr=3e-3),  # 1b: the log-mel model's budget
    "early":        Recipe(epochs=(8, 1), batch_size=128, lr=3e-3),  # a whole CNN: the unimodal budget
    "intermediate": Recipe(epochs=(20, 3), batch_size=256, lr=3e-3),  # a head on frozen encoders: seconds
    "gated":        Recipe(epochs=(30, 3), batch_size=256, lr=3e-3),  # a head on frozen encoders: seconds
    "late":         Recipe(epochs=(10, 2), batch_size=256, lr=5e-2),  # two weights on frozen logits: seconds
    "contrastive":  Recipe(epochs=(6, 1), batch_size=256, lr=3e-3, drop_last=True),  # 3b, no labels
}
#: the seeds averaged over in comparisons
SEEDS = (0, 1, 2)


def seeds(quick: bool | None = None) -> tuple[int, ...]:
    """The seeds of a comparison: three in full mode, one in quick mode."""
    return SEEDS[:1] if config.is_quick(quick) else SEEDS


def recipe_table(*names: str):
    """The recipes of ``names`` as a table a notebook displays where it introduces a model:
    epochs (full and quick mode), batch size and peak learning rate of Adam's one-cycle
    schedule (:func:`~mmhelpers.training.trainer.fit`)."""
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise KeyError(f"recipe_table: no recipe named {unknown}; known: {sorted(RECIPES)}")
    rows = {n: {"epochs": RECIPES[n].epochs[0], "epochs (quick mode)": RECIPES[n].epochs[1],
                "batch size": RECIPES[n].batch_size, "peak learning rate": RECIPES[n].lr}
            for n in names}
    return pd.DataFrame(rows).T.astype({"epochs": int, "epochs (quick mode)": int,
                                        "batch size": int})
