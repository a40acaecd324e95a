"""What a cross-modal attention looks at (notebook 4d): the weights of
:class:`~mmhelpers.models.cross_attention.CrossAttentionFusion` over a dataset, and measures of them.

* :func:`attention_weights` - (N, heads, frames, positions) for every pair, and the audio
  frames they come from, from the frozen trunks' stored outputs;
* :func:`normalised_entropy` - how spread the attention is: 0 on one position, 1 uniform;
* :func:`ink_positions`, :func:`mass_on` - which of the 7x7 positions hold the digit's ink (in
  the clean view), and the share of attention that lands there;
* :func:`head_distance` - how differently the heads look at one image;
* :func:`scenario_summary` - those measures, averaged per noise scenario;
* :func:`frame_measures` - does the attention move with time (a frame following a stroke), or
  only sharpen where the word is?
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..data.paired import PairedData
from ..training.frozen_members import member_outputs

#: an image position holds ink when the mean of its 4x4 pixels of the clean view is above this
INK_THRESHOLD = 0.1


@torch.inference_mode()
def attention_weights(model, data: PairedData,
                      batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, frames)`` of ``model`` (a frozen-member :class:`CrossAttentionFusion`) for
    every pair of ``data``: the attention weights (N, heads, frames, positions) and the audio
    trunk's frames the queries are made from (N, frames, features), both from the trunks'
    outputs computed once per split
    (:func:`~mmhelpers.training.frozen_members.member_outputs`)."""
    model.eval()
    enc = member_outputs(model, data)
    out = [model.attend(p, f)[2].float() for p, f in
           zip(enc.images.split(batch_size), enc.audio.split(batch_size))]
    return torch.cat(out).numpy(), enc.audio.numpy()


def normalised_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy of each attention distribution (the last axis) over ``log(positions)``: 0 when
    all the weight is on one position, 1 when it is spread evenly."""
    w = np.clip(weights, 1e-12, 1.0)
    return -(weights * np.log(w)).sum(-1) / math.log(weights.shape[-1])


def ink_positions(images, grid: int = 7, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """(N, grid * grid) booleans: the positions of the attention's grid (row by row) whose
    pixels of ``images`` (N, 1, 28, 28) in [0, 1] average above ``threshold``."""
    images = torch.as_tensor(images, dtype=torch.float32)
    pooled = torch.nn.functional.adaptive_avg_pool2d(images, grid)
    return (pooled.flatten(1) > threshold).numpy()


def mass_on(weights: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The share of attention on ``positions`` (N, P) booleans, per pair and every leading axis
    of ``weights`` (N, ..., P)."""
    mask = positions.reshape(len(positions), *([1] * (weights.ndim - 2)), -1)
    return (weights * mask).sum(-1)


def head_distance(weights: np.ndarray) -> np.ndarray:
    """Per pair, the total variation distance between two heads' attention averaged over the
    frames (half the sum of absolute differences: 0 for the same map, 1 for maps without a
    position in common), averaged over every two heads; (N,)."""
    maps = weights.mean(2)                                 # (N, heads, P)
    n = maps.shape[1]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if not pairs:
        return np.zeros(len(maps))
    return np.mean([0.5 * np.abs(maps[:, i] - maps[:, j]).sum(-1) for i, j in pairs], axis=0)


def scenario_summary(weights: np.ndarray, ink: np.ndarray, scenario) -> pd.DataFrame:
    """Per noise scenario (rows), averaged over its pairs, heads and frames: the normalised
    entropy, the largest weight, the attention on the clean view's ink (%), the ink's share of
    the positions (%) (what an attention spread evenly would put on it) and the distance
    between the heads' maps (:func:`head_distance`)."""
    per_pair = pd.DataFrame({
        "entropy (0 to 1)": normalised_entropy(weights).mean((1, 2)),
        "largest weight": weights.max(-1).mean((1, 2)),
        "attention on the ink (%)": 100 * mass_on(weights, ink).mean((1, 2)),
        "ink's share of the positions (%)": 100 * ink.mean(1),
        "distance between heads (0 to 1)": head_distance(weights)})
    return per_pair.groupby(np.asarray(scenario)).mean().rename_axis("scenario")


def centroids(weights: np.ndarray, grid: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The attention's centre of mass in grid cells, (row, column), for every distribution."""
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    return (weights * rows).sum(-1), (weights * cols).sum(-1)


def frame_measures(weights: np.ndarray, frames: np.ndarray) -> dict:
    """Whether the attention follows time. Over every pair and head: the correlation of a
    frame's index with its attention's centre (row and column; a frame that followed the pen
    would move it), how far the centre moves over a clip (standard deviation over the frames,
    in grid cells), and, within each clip, the correlation between a frame's feature norm (how
    much of the word it holds) and its attention's entropy."""
    row, col = centroids(weights)
    time = np.broadcast_to(np.arange(weights.shape[2]), row.shape).ravel()
    entropy = normalised_entropy(weights).mean(1)          # (N, frames)
    norms = np.linalg.norm(frames, axis=-1)                # (N, frames)
    e = entropy - entropy.mean(1, keepdims=True)
    n = norms - norms.mean(1, keepdims=True)
    within = (e * n).sum(1) / np.sqrt((e * e).sum(1) * (n * n).sum(1) + 1e-12)
    return {"correlation of time with the centre's row": np.corrcoef(time, row.ravel())[0, 1],
            "correlation of time with the centre's column": np.corrcoef(time, col.ravel())[0, 1],
            "the centre's movement over a clip (grid cells)": float(
                np.hypot(row.std(2), col.std(2)).mean()),
            "correlation of a frame's norm with its entropy": float(within.mean())}
