"""Zero-shot transfer across modalities (notebook 4d): one modality helps the other learn digits
it never saw labelled.

* :func:`zero_shot_split` - who may use which labels: the pairs all stay (for an alignment that
  uses no label), one modality keeps every label, the other loses those of some digits;
* :func:`prototype_predictions` - the other modality's embeddings classified by the nearest class
  prototype (cosine) of one modality's labelled embeddings
  (:func:`~mmhelpers.analysis.retrieval.prototypes`);
* :func:`restrict`, :func:`held_out_table` - accuracy on the held-out digits and on the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.paired import MODALITIES, PairedData
from .evaluate import Predictions


@dataclass(frozen=True)
class ZeroShotSplit:
    """``pairs``: every pair, as given (an alignment that uses no label trains on them all).
    ``labelled[m]``: the pairs whose view of modality ``m`` keeps its label; for
    ``unlabelled``, none of the digits ``held_out``."""

    pairs: PairedData
    labelled: dict
    held_out: tuple
    unlabelled: str


def zero_shot_split(data: PairedData, held_out=(8, 9),
                    unlabelled: str = "audio") -> ZeroShotSplit:
    """The pairs of ``data`` with the labels of the digits ``held_out`` taken from the
    ``unlabelled`` modality ("audio" or "image"): its labelled pairs are those of the
    other digits; the other modality keeps every label; every pair stays."""
    if unlabelled not in MODALITIES:
        raise ValueError(f"zero_shot_split: unlabelled must be one of {MODALITIES}, "
                         f"got {unlabelled!r}")
    held_out = tuple(int(d) for d in held_out)
    keep = np.flatnonzero(~np.isin(data.labels.numpy(), held_out))
    labelled = {m: data[keep] if m == unlabelled else data for m in MODALITIES}
    return ZeroShotSplit(data, labelled, held_out, unlabelled)


def prototype_predictions(z: np.ndarray, classes: np.ndarray, protos: np.ndarray,
                          labels) -> Predictions:
    """Each row of ``z`` (unit embeddings) classified by its nearest prototype
    (cosine): the cosines act as the logits."""
    cos = torch.as_tensor(z @ protos.T, dtype=torch.float32)
    logits = torch.full((len(z), int(classes.max()) + 1), -torch.inf)
    logits[:, torch.as_tensor(classes)] = cos
    probs = torch.softmax(logits, 1)
    return Predictions(logits.numpy(), probs.numpy(), probs.argmax(1).numpy(),
                       np.asarray(labels))


def restrict(pred: Predictions, mask) -> Predictions:
    """The predictions of the pairs where ``mask`` is true."""
    mask = np.asarray(mask, bool)
    return Predictions(pred.logits[mask], pred.probs[mask], pred.preds[mask], pred.labels[mask])


def held_out_table(preds: dict, held_out) -> pd.DataFrame:
    """Accuracy (%) of each model (rows) on the pairs of the digits ``held_out`` and on the others."""
    rows = {}
    for name, p in preds.items():
        held = np.isin(p.labels, held_out)
        rows[name] = {"held-out digits": 100 * p.correct[held].mean(),
                      "other digits": 100 * p.correct[~held].mean()}
    return pd.DataFrame(rows).T
