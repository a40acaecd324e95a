"""Calibration: does a model's confidence match how often it is right? (notebook 3c)

Expected calibration error (:func:`evaluate.expected_calibration_error`) per model and per
scenario, and temperature scaling fitted on the validation split. The reliability diagrams are
:mod:`mmhelpers.plots.calibration`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from ..data.paired import PairedData
from . import evaluate


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature scaling (Guo et al., 2017): the T > 0 minimising the negative
    log-likelihood of ``softmax(logits / T)`` (searched as log T in [-3, 3])."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        return -log_softmax(logits / np.exp(log_t), axis=1)[rows, labels].mean()

    best = minimize_scalar(nll, bounds=(-3, 3), method="bounded")
    return float(np.exp(best.x))


def calibration_table(preds: dict, data: PairedData, temperatures: dict | None = None, n_bins: int = 15):
    """Per model: accuracy, mean confidence and ECE (%) overall and per scenario; with
    ``temperatures`` also the fitted T and the ECE after dividing the logits by it."""
    rows = {}
    for name, p in preds.items():
        row = {"accuracy": 100 * evaluate.accuracy(p), "confidence": 100 * p.confidence.mean(),
               "ECE": 100 * evaluate.expected_calibration_error(p.probs, p.labels, n_bins)}
        for g in sorted(set(data.meta.get("scenario", []))):
            m = data.meta["scenario"] == g
            row[f"ECE {g}"] = 100 * evaluate.expected_calibration_error(p.probs[m], p.labels[m], n_bins)
        if temperatures:
            t = temperatures[name]
            row["T"] = t
            row["ECE after T"] = 100 * evaluate.expected_calibration_error(softmax(p.logits / t, 1), p.labels, n_bins)
        rows[name] = row
    return pd.DataFrame(rows).T.round(2)


