"""Robustness of the trained models (notebooks 3a and 3b): a missing modality, a noise sweep, the gate's
per-sample weights. (Calibration: :mod:`.calibration`; embedding maps: :mod:`.embeddings`.)

The models (:data:`MODELS`) are those of 1a-1f plus two more fusions of the same frozen image and
audio encoders: intermediate fusion trained with modality dropout, and a gate. Each is the model
catalogue's (:func:`mmhelpers.training.catalogue.trained`), so the same cached run as in 1a-1f.
The three embedding fusions differ only in the fusion rule.

A missing modality is simulated three ways (:data:`FILLS`): the raw input zeroed (a dead sensor),
the raw input replaced by its training mean (imputation), or the modality's embedding zeroed inside
the model (``"absent"``: the model is told; only models with an ``image_encoder``/``audio_encoder``).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import auc
from torch import nn

from .. import config
from ..cache.results import compute_or_load
from ..data.paired import MODALITIES, PairedData
from ..embedded.noise import corrupt_audios, corrupt_images
from . import evaluate

FILLS = ("zero", "mean", "absent")
MODALITY_DROPOUT = 0.3
#: the models compared in 3a-3c: label -> (catalogue name, options)
MODELS = {"image": ("image", {}), "audio": ("audio_mel", {}), "early": ("early", {}),
          "intermediate": ("intermediate", {}), "late": ("late", {}),
          f"intermediate + mod. dropout {MODALITY_DROPOUT}": (
              "intermediate", {"modality_dropout": MODALITY_DROPOUT}),
          "gated": ("gated", {})}
#: severities of the noise sweep and size of its fixed test subset, (full, quick)
SEVERITIES = ((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), (0.0, 0.5, 1.0))
SUBSET = (1000, 200)
TSNE_POINTS = (600, 200)


def severities(quick: bool | None = None) -> tuple:
    return config.by_mode(*SEVERITIES, quick)


def subset_size(quick: bool | None = None) -> int:
    """How many test pairs the sweeps and tables of 3a-3c use."""
    return config.by_mode(*SUBSET, quick)


# ----------------------------------------------------------------------------- missing and noisier views

def training_means(train_data: PairedData) -> dict:
    """The mean training image (1, 28, 28) and mean training waveform (1, 8000)."""
    return {"image": train_data.images.mean(0), "audio": train_data.audio.mean(0)}


def without(data: PairedData, modality: str, fill: str, means: dict | None = None) -> PairedData:
    """``data`` with ``modality`` missing at the input: ``fill="zero"`` or ``"mean"`` (``means``)."""
    if modality not in MODALITIES or fill not in ("zero", "mean"):
        raise ValueError(f"without: modality in {MODALITIES}, fill in ('zero', 'mean'); got {modality!r}, {fill!r}")
    x = data.images if modality == "image" else data.audio
    if fill == "mean":
        if means is None:
            raise ValueError("without: fill='mean' needs means=training_means(splits.train)")
        new = means[modality].expand_as(x).clone()
    else:
        new = torch.zeros_like(x)
    return data.with_views(f"{modality} {fill}", **{"images" if modality == "image" else "audio": new})


@contextmanager
def absent(model: nn.Module, modality: str):
    """Inside the block, ``model``'s ``<modality>_encoder`` outputs zeros: the embedding a modality-
    dropout model was trained to read as "missing". Raises ``AttributeError`` for other models."""
    encoder = getattr(model, f"{modality}_encoder")
    handle = encoder.register_forward_hook(lambda m, inp, out: torch.zeros_like(out))
    try:
        yield model
    finally:
        handle.remove()


def corrupted(data: PairedData, modality: str, severity: float, seed: int = config.SEED) -> PairedData:
    """``data`` with one modality passed through the generator's own corruption at ``severity``.
    The corruption is a function of the data, the severity and the seed, so it is stored and read
    back on a re-run (:func:`~mmhelpers.cache.results.compute_or_load`)."""
    if modality not in MODALITIES:
        raise ValueError(f"corrupted: modality must be one of {MODALITIES}, got {modality!r}")
    corrupt, view = (corrupt_images, "images") if modality == "image" else (corrupt_audios, "audio")
    spec = {"data": data, "modality": modality, "severity": float(severity), "seed": seed}
    new = compute_or_load("corrupted", spec, lambda: corrupt(getattr(data, view).numpy(), severity, seed))
    return data.with_views(f"{modality} {severity:g}", **{view: new})


# ----------------------------------------------------------------------------- evaluation

def predict(model, data: PairedData) -> tuple[evaluate.Predictions, np.ndarray | None]:
    """Predictions and, for a model with ``last_weights`` (the gate), the (N, 2) weights."""
    if not hasattr(model, "last_weights"):
        return evaluate.predict(model, data), None
    weights = []
    handle = model.register_forward_hook(lambda m, inp, out: weights.append(m.last_weights.cpu()))
    try:
        pred = evaluate.predict(model, data)
    finally:
        handle.remove()
    return pred, torch.cat(weights).numpy()


def missing_table(zoo: dict, data: PairedData, means: dict):
    """Accuracy (%) per model with both modalities, and with each one missing under each fill."""
    rows = {}
    for name, model in zoo.items():
        row = {("both", "present"): evaluate.accuracy(evaluate.predict(model, data))}
        for m in MODALITIES:
            for fill in ("zero", "mean"):
                row[(f"no {m}", fill)] = evaluate.accuracy(evaluate.predict(model, without(data, m, fill, means)))
            if hasattr(model, f"{m}_encoder"):
                with absent(model, m):
                    row[(f"no {m}", "absent")] = evaluate.accuracy(evaluate.predict(model, data))
        rows[name] = row
    return (pd.DataFrame(rows).T * 100).round(1)


def noise_sweep(zoo: dict, data: PairedData, levels=None, seed: int = config.SEED):
    """Accuracy while one modality is corrupted at each severity and the other stays as given.

    Returns a long DataFrame: ``model, corrupted, severity, accuracy`` (%), plus ``image_weight``
    (the gate's mean weight on the image) for gated models.
    """
    levels = severities() if levels is None else levels
    spec = {"zoo": zoo, "data": data, "levels": [float(s) for s in levels], "seed": seed}
    return compute_or_load("noise_sweep", spec, lambda: _noise_sweep(zoo, data, levels, seed))


def _noise_sweep(zoo: dict, data: PairedData, levels, seed: int):
    records, base = [], {}
    for modality in MODALITIES:
        for s in levels:
            d = data if s == 0 else corrupted(data, modality, s, seed)
            for name, model in zoo.items():
                if s == 0 and name in base:
                    rec = dict(base[name])
                else:
                    pred, w = predict(model, d)
                    rec = {"accuracy": 100 * evaluate.accuracy(pred),
                           "image_weight": float(w[:, 0].mean()) if w is not None else np.nan}
                    if s == 0:
                        base[name] = rec
                records.append(dict(model=name, corrupted=modality, severity=float(s), **rec))
    return pd.DataFrame(records)


def robustness_scores(sweep):
    """Area under each accuracy-vs-severity curve divided by the severity range (sklearn ``auc``):
    the mean accuracy (%) over the sweep; a table models x corrupted modality, plus their mean."""
    def area(g):
        s = g.sort_values("severity")
        return auc(s.severity, s.accuracy) / (s.severity.max() - s.severity.min())

    table = sweep.groupby(["model", "corrupted"], sort=False).apply(area, include_groups=False).unstack()
    table.columns = [f"{c} corrupted" for c in table.columns]
    table["mean"] = table.mean(axis=1)
    return table.round(1).sort_values("mean", ascending=False)
