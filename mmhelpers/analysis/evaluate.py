"""Predictions and metrics: overall, per class, per noise scenario, confusion matrices.

Thin wrappers over scikit-learn so every notebook reports the same numbers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, recall_score

from ..cache.results import compute_or_load
from ..data.paired import PairedData, PairedLoader


@dataclass
class Predictions:
    """Model outputs on a dataset, aligned with it pair by pair."""

    logits: np.ndarray   # (N, 10)
    probs: np.ndarray    # (N, 10), softmax of the logits
    preds: np.ndarray    # (N,)
    labels: np.ndarray   # (N,), -1 where unknown

    def scored(self, who: str = "scoring") -> "Predictions":
        """Self, after checking that every pair has a label to score against (else ``ValueError``)."""
        missing = int((np.asarray(self.labels) < 0).sum())
        if missing:
            raise ValueError(f"{who}: {missing} of {len(self.labels)} pairs have no "
                             "label (-1): predictions on a test set without label files cannot be scored; "
                             "add test_images_labels / test_audio_labels to the course folder")
        return self

    @property
    def correct(self) -> np.ndarray:
        self.scored("Predictions.correct")
        return self.preds == self.labels

    @property
    def confidence(self) -> np.ndarray:
        return self.probs.max(1)


def predict(model, data: PairedData, batch_size: int = 256, device=None) -> Predictions:
    """Run ``model(images, audio)`` over ``data`` in eval mode, in order.

    The result is stored and reused (:mod:`mmhelpers.cache.results`) for the same model weights and data:
    a warm re-run of a notebook does not evaluate again.
    """
    spec = {"model": model, "data": data, "n": len(data)}
    return compute_or_load("predict", spec, lambda: _predict(model, data, batch_size, device))


@torch.inference_mode()
def _predict(model, data: PairedData, batch_size: int, device) -> Predictions:
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = [model(x.to(device), a.to(device)).float().cpu()
              for x, a, _ in PairedLoader(data, batch_size, shuffle=False)]
    model.train(was_training)
    logits = torch.cat(chunks)
    probs = torch.softmax(logits, 1)
    return Predictions(logits.numpy(), probs.numpy(), probs.argmax(1).numpy(), data.labels.numpy())


def from_probs(probs: np.ndarray, labels: np.ndarray) -> Predictions:
    """Predictions built from class probabilities (e.g. an average of two models)."""
    probs = np.asarray(probs, np.float64)
    return Predictions(np.log(np.clip(probs, 1e-12, 1)), probs, probs.argmax(1), np.asarray(labels))


def accuracy(pred: Predictions) -> float:
    return float(accuracy_score(pred.scored("accuracy").labels, pred.preds))


def group_accuracy(pred: Predictions, groups) -> dict:
    """Accuracy within each value of ``groups`` (e.g. ``meta["scenario"]``), sorted."""
    groups = np.asarray(groups)
    pred.scored("group_accuracy")
    return {str(g): float(accuracy_score(pred.labels[groups == g],
                                         pred.preds[groups == g]))
            for g in sorted(set(groups.tolist()))}


def per_class_accuracy(pred: Predictions) -> dict:
    """Recall of each class: the accuracy on the pairs of that true label."""
    classes = np.arange(pred.probs.shape[1])
    rec = recall_score(pred.scored("per-class accuracy").labels, pred.preds,
                       labels=classes, average=None, zero_division=0)
    return {int(c): float(r) for c, r in zip(classes, rec)}


def confusion(pred: Predictions, normalize: str | None = "true") -> np.ndarray:
    """The confusion matrix (rows: true class, columns: predicted), normalised per true
    class by default (scikit-learn's ``confusion_matrix``)."""
    return confusion_matrix(pred.scored("confusion").labels, pred.preds,
                            labels=np.arange(pred.probs.shape[1]), normalize=normalize)


def summary(preds: dict, data: PairedData, by: str = "scenario"):
    """A table (pandas DataFrame, in %) with one row per model: overall accuracy and the
    accuracy within each value of ``meta[by]`` (the noise scenario)."""
    rows = {}
    for name, pred in preds.items():
        row = {"overall": accuracy(pred)}
        if by in data.meta:
            row.update(group_accuracy(pred, data.meta[by]))
        rows[name] = row
    return (pd.DataFrame(rows).T * 100).round(2)


def per_class_table(preds: dict):
    return (pd.DataFrame({name: per_class_accuracy(p) for name, p in preds.items()}).T * 100).round(2)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray,
                               n_bins: int = 15) -> float:
    """ECE: the confidence-vs-accuracy gap, averaged over equal-width confidence bins
    weighted by how many predictions fall in each bin (Guo et al., 2017)."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError("expected_calibration_error: probs (N, C) and labels (N,), "
                         f"got {probs.shape}, {labels.shape}")
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs((pred[m] == labels[m]).mean() - conf[m].mean())
    return float(ece)


def sample_table(model, data: PairedData, idx) -> pd.DataFrame:
    """The pairs ``data[idx]`` one per row, as a notebook shows them beside their pictures:
    scenario and noise severities where recorded, label, the model's answer and its
    confidence (%)."""
    idx = np.asarray(idx)
    pred = _predict(model, data[idx], batch_size=len(idx), device=None)
    rows = {"pair": data.meta["index"][idx] if "index" in data.meta else idx}
    for key in ("scenario", "image_noise", "audio_noise"):
        if key in data.meta:
            rows[key.replace("_", " ")] = data.meta[key][idx]
    rows.update({"label": pred.labels, "answer": pred.preds,
                 "confidence (%)": np.round(100 * pred.confidence.astype(float), 1)})
    return pd.DataFrame(rows).set_index("pair").round(2)
