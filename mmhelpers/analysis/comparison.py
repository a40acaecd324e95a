"""Comparing models on the same test pairs: the oracle-view reference and means over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.paired import PairedData
from . import evaluate
from .evaluate import Predictions


def oracle_view(image_pred, audio_pred, data: PairedData):
    """The "oracle view" reference: per pair, the unimodal model's answer for the cleaner modality
    (the lower recorded noise severity; ties go to the image). Needs ``meta["image_noise"]``."""
    if "image_noise" not in data.meta:
        raise ValueError("oracle_view needs per-pair noise severities (embedded dataset); the course files have none")
    use_image = data.meta["image_noise"] <= data.meta["audio_noise"]
    probs = np.where(use_image[:, None], image_pred.probs, audio_pred.probs)
    return Predictions(np.log(np.clip(probs, 1e-12, 1)), probs, probs.argmax(1), image_pred.labels)


def seed_table(preds_by_seed: dict, data: PairedData):
    """Mean and std over seeds of :func:`evaluate.summary`; ``preds_by_seed[seed][model] = Predictions``."""
    tables = [evaluate.summary(p, data) for p in preds_by_seed.values()]
    stacked = pd.concat(tables, keys=list(preds_by_seed), names=["seed", "model"])
    mean = stacked.groupby(level="model", sort=False).mean()
    std = stacked.groupby(level="model", sort=False).std(ddof=0).fillna(0.0)
    return mean.round(2), std.round(2)
