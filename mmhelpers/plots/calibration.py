"""Reliability diagrams (notebook 3c), drawn from scikit-learn's ``calibration_curve``; the
calibration error and temperature scaling are in :mod:`mmhelpers.analysis.calibration`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve

from . import style


def plot_reliability(preds: dict, n_bins: int = 10, min_count: int = 10):
    """Reliability diagrams (sklearn ``calibration_curve`` of correctness vs confidence); bins
    with fewer than ``min_count`` predictions are left out, marker area grows with the bin's count."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfectly calibrated")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for (name, p), color in zip(preds.items(), style.colors(preds)):
        frac, conf = calibration_curve(p.correct, p.confidence, n_bins=n_bins, strategy="uniform")
        counts = np.bincount(np.searchsorted(edges[1:-1], p.confidence), minlength=n_bins)
        counts = counts[counts > 0]  # calibration_curve's non-empty bins, same binning, same order
        keep = counts >= min_count
        ax.plot(conf[keep], frac[keep], "-", lw=1.2, label=name, color=color)
        ax.scatter(conf[keep], frac[keep], s=6 + 60 * np.sqrt(counts[keep] / counts.sum()),
                   color=color)
    ax.set(xlabel="confidence (max probability)", ylabel="accuracy in the bin",
           title=f"reliability diagram (bins with >= {min_count} predictions)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
