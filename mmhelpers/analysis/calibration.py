"""Calibration: does a model's confidence match how often it is right? (notebook 3c)

Expected calibration error (:func:`evaluate.expected_calibration_error`) per model and per
scenario, temperature scaling fitted on the validation split, and reliability diagrams drawn from
scikit-learn's ``calibration_curve``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.calibration import calibration_curve

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


def plot_reliability(preds: dict, n_bins: int = 10, min_count: int = 10):
    """Reliability diagrams (sklearn ``calibration_curve`` of correctness vs confidence); bins
    with fewer than ``min_count`` predictions are left out, marker area grows with the bin's count."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfectly calibrated")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for name, p in preds.items():
        frac, conf = calibration_curve(p.correct, p.confidence, n_bins=n_bins, strategy="uniform")
        counts = np.bincount(np.searchsorted(edges[1:-1], p.confidence), minlength=n_bins)
        counts = counts[counts > 0]  # calibration_curve's non-empty bins, same binning, same order
        keep = counts >= min_count
        line, = ax.plot(conf[keep], frac[keep], "-", lw=1.2, label=name)
        ax.scatter(conf[keep], frac[keep], s=6 + 60 * np.sqrt(counts[keep] / counts.sum()), color=line.get_color())
    ax.set(xlabel="confidence (max probability)", ylabel="accuracy in the bin",
           title=f"reliability diagram (bins with >= {min_count} predictions)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
