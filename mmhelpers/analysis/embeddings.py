"""Embedding maps (notebook 3c): what each model's last hidden layer looks like.

``model.embed`` over a dataset, silhouette scores by digit and by scenario, and 2-D t-SNE
coordinates (scikit-learn); the maps are drawn by :mod:`mmhelpers.plots.embeddings`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .. import config
from ..cache.results import compute_or_load
from ..data.paired import PairedData, PairedLoader


def embeddings(model, data: PairedData, batch_size: int = 512) -> np.ndarray:
    """``model.embed(images, audio)`` over ``data`` in eval mode."""
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        return torch.cat([model.embed(x.to(device), a.to(device)).float().cpu()
                          for x, a, _ in PairedLoader(data, batch_size, shuffle=False)]).numpy()


def separation(embs: dict, data: PairedData):
    """Silhouette scores (scikit-learn, cosine) of each embedding grouped by digit and by scenario:
    near 1 = tight, separate groups; near 0 = mixed. Computed in the embedding space itself."""
    groups = {"by digit": data.labels.numpy()}
    if len(data.scenarios()) > 1:  # the course's files record none ("unknown" throughout)
        groups["by scenario"] = data.meta["scenario"]
    return pd.DataFrame({name: {g: silhouette_score(e, y, metric="cosine") for g, y in groups.items()}
                         for name, e in embs.items()}).T.round(3)


def tsne(points: np.ndarray, seed: int = config.SEED) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA initialisation) of standardised ``points`` (stored and reused for
    the same points and seed, :mod:`mmhelpers.cache.results`)."""
    spec = {"points": np.asarray(points), "seed": seed}
    return compute_or_load("tsne", spec, lambda: _tsne(points, seed))


def _tsne(points: np.ndarray, seed: int) -> np.ndarray:
    x = StandardScaler().fit_transform(points)
    # one OpenMP thread: scikit-learn's OpenMP threads spinning against torch's cost 10-50x here
    with threadpool_limits(1, user_api="openmp"):
        return TSNE(2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca", random_state=seed).fit_transform(x)


