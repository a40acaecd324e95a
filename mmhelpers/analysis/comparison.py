"""Comparing models on the same test pairs: the oracle-view reference, means over seeds,
bootstrap intervals and McNemar's paired test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

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


def accuracy_interval(pred: Predictions, confidence: float = 0.95, n_resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float]:
    """A bootstrap interval (%) for the accuracy of ``pred``, resampling the test pairs
    (scipy.stats.bootstrap, BCa)."""
    correct = pred.correct.astype(float)
    result = stats.bootstrap((correct,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method="BCa", random_state=np.random.default_rng(seed))
    return 100 * float(result.confidence_interval.low), 100 * float(result.confidence_interval.high)


def mcnemar_p(pred_a: Predictions, pred_b: Predictions) -> float:
    """McNemar's exact test of two models scored on the same pairs: the two-sided binomial test
    of the pairs only ``a`` gets right against those only ``b`` gets right (scipy.stats.binomtest).
    A small p says the two accuracies differ by more than chance."""
    a, b = pred_a.correct, pred_b.correct
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
