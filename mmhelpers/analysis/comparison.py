"""Comparing models on the same test pairs: the oracle-view reference, means over seeds, 95%
intervals (a bootstrap over the test pairs, a t interval over the seeds) and McNemar's paired test.

The statistics are the libraries': ``scipy.stats.bootstrap`` (BCa), ``scipy.stats.t``,
statsmodels' exact McNemar test and its Holm correction for testing several pairs of models.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from ..cache.results import compute_or_load
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


def accuracy_interval(pred, confidence: float = 0.95, n_resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float]:
    """A bootstrap interval (%) for the accuracy of ``pred``, resampling the test pairs
    (scipy.stats.bootstrap, BCa). ``pred``: :class:`Predictions`, or one number per pair (1 right,
    0 wrong; over several seeds, the share of seeds that got the pair right). Stored, so that a
    re-run reads it (:func:`~mmhelpers.cache.results.compute_or_load`): BCa with 2000 resamples
    takes 0.2 s for the 5859 test pairs, and a notebook's tables ask for dozens."""
    correct = np.asarray(pred.correct if isinstance(pred, Predictions) else pred, dtype=float)
    if np.ptp(correct) == 0:  # all right (or all wrong): no spread to resample
        return 100 * float(correct[0]), 100 * float(correct[0])
    spec = {"correct": correct, "confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    return compute_or_load("accuracy_interval", spec, lambda: _bootstrap(correct, confidence, n_resamples, seed))


def _bootstrap(correct: np.ndarray, confidence: float, n_resamples: int, seed: int) -> tuple[float, float]:
    result = stats.bootstrap((correct,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method="BCa", random_state=np.random.default_rng(seed))
    return 100 * float(result.confidence_interval.low), 100 * float(result.confidence_interval.high)


def seed_interval(accuracies, confidence: float = 0.95) -> tuple[float, float]:
    """A t interval for the mean of ``accuracies`` (one per seed): how far another set of seeds
    might move the mean. ``(nan, nan)`` for a single seed."""
    acc = np.asarray(accuracies, dtype=float)
    if len(acc) < 2:
        return float("nan"), float("nan")
    if np.ptp(acc) == 0:
        return float(acc[0]), float(acc[0])
    low, high = stats.t.interval(confidence, df=len(acc) - 1, loc=acc.mean(), scale=stats.sem(acc))
    return float(low), float(high)


def by_seed(preds: dict) -> dict:
    """``preds[seed][model]``: as given, or one seed's ``preds[model]`` wrapped as seed 0."""
    return {0: preds} if all(isinstance(p, Predictions) for p in preds.values()) else preds


def correct_over_seeds(preds_by_seed: dict, model: str) -> np.ndarray:
    """Per test pair, the share of seeds whose ``model`` got it right."""
    return np.mean([p[model].correct for p in preds_by_seed.values()], axis=0)


def interval(low: float, high: float) -> str:
    return "n/a (one seed)" if np.isnan(low) else f"{low:.2f} to {high:.2f}"


def interval_table(preds_by_seed: dict, data: PairedData, confidence: float = 0.95, by: str = "scenario"):
    """Per model (rows) and group (columns: overall, then each value of ``meta[by]``): the
    accuracy (%) averaged over the seeds, with a bootstrap interval over the test pairs of the group
    in brackets. With one seed (``preds[model]`` also works), that seed's accuracy and interval."""
    preds_by_seed = by_seed(preds_by_seed)
    groups = {"overall": np.ones(len(data), bool)}
    if by in data.meta:
        groups.update({g: np.asarray(data.meta[by]) == g for g in data.scenarios()})
    rows = {}
    for model in next(iter(preds_by_seed.values())):
        right = correct_over_seeds(preds_by_seed, model)
        rows[model] = {g: "{:.2f} [{:.2f}, {:.2f}]".format(100 * right[m].mean(),
                                                           *accuracy_interval(right[m], confidence))
                       for g, m in groups.items()}
    return pd.DataFrame(rows).T


def overall_intervals(preds_by_seed: dict, confidence: float = 0.95):
    """Per model: the overall accuracy's two 95% intervals, over the test pairs (of the accuracy
    averaged over the seeds) and over the seeds (:func:`seed_interval`). One seed: ``preds[model]``."""
    preds_by_seed = by_seed(preds_by_seed)
    rows = {}
    for model in next(iter(preds_by_seed.values())):
        accuracies = [100 * p[model].correct.mean() for p in preds_by_seed.values()]
        rows[model] = {f"{confidence:.0%} interval, test pairs": interval(*accuracy_interval(
                           correct_over_seeds(preds_by_seed, model), confidence)),
                       f"{confidence:.0%} interval, seeds": interval(*seed_interval(accuracies, confidence))}
    return pd.DataFrame(rows).T


def mcnemar_p(pred_a: Predictions, pred_b: Predictions) -> float:
    """McNemar's exact test of two models scored on the same pairs (statsmodels):
    a binomial test of the pairs only ``a`` gets right against those only ``b``
    gets right. A small p says the accuracies differ by more than chance."""
    a, b = pred_a.correct.astype(bool), pred_b.correct.astype(bool)
    table = [[int((a & b).sum()), int((a & ~b).sum())],
             [int((~a & b).sum()), int((~a & ~b).sum())]]
    return float(mcnemar(table, exact=True).pvalue)


def paired_tests(preds_by_seed: dict, models, alpha: float = 0.05):
    """Every pair of ``models`` on the same test pairs: the accuracy difference
    (points, mean over the seeds) and, per seed, McNemar's exact p, Holm-corrected
    over the pairs tested. A pair *differs* when the corrected p is below ``alpha``
    on every seed. One seed: ``preds[model]`` works too."""
    preds_by_seed = by_seed(preds_by_seed)
    pairs = list(combinations(models, 2))
    adjusted = {}
    for seed, p in preds_by_seed.items():
        raw = [mcnemar_p(p[a], p[b]) for a, b in pairs]
        adjusted[seed] = multipletests(raw, method="holm")[1]
    rows = {}
    for k, (a, b) in enumerate(pairs):
        diff = [p[a].correct.mean() - p[b].correct.mean()
                for p in preds_by_seed.values()]
        row = {"difference (points)": round(100 * float(np.mean(diff)), 2)}
        for seed in preds_by_seed:
            row[f"p, seed {seed}"] = float(adjusted[seed][k])
        differ = all(adjusted[s][k] < alpha for s in preds_by_seed)
        row[f"differ (p < {alpha} on every seed)"] = differ
        rows[f"{a} vs {b}"] = row
    return pd.DataFrame(rows).T.infer_objects()


def readable_tests(tests):
    """:func:`paired_tests` for display: p-values to two significant digits (one that underflows
    to 0.0 as "< 1e-300", not 0)."""
    def shown(p):
        return "< 1e-300" if p == 0 else f"{p:.2g}"

    return tests.assign(**{c: tests[c].map(shown) for c in tests if c.startswith("p,")})
