"""A fixed random subset of pairs, as given or as the same pairs before noise.

The embedded dataset keeps every pair before noise (``load_pairs(split, clean=True)``); the
course's files (``MM_DATA``) hold only the noisy pairs. Notebooks that need clean views (a
contrastive alignment trained on clean positives, a noise sweep that adds its own noise, the
generative models of 4c) ask :func:`has_clean_views` first and say which they used.
"""

from __future__ import annotations

import numpy as np

from .. import config
from .loading import load_pairs
from .paired import DataError, PairedData


def has_clean_views(data: PairedData) -> bool:
    """Whether the pairs of ``data`` exist before noise: the embedded dataset's do, the course's
    files' do not."""
    return config.data_dir() is None and "index" in data.meta


def subset(data: PairedData, split: str, n: int | None = None, *, clean: bool = False,
           seed: int = config.SEED) -> PairedData:
    """``n`` pairs of ``data`` drawn at random by ``seed`` (in their order; all pairs when ``n`` is
    None or larger), as given or, with ``clean=True``, the same pairs before noise.

    ``split``: where the pairs of ``data`` come from ("train" for the training and validation
    parts, "test"), to find their clean views. Raises :class:`DataError` for ``clean=True`` when
    there are none (:func:`has_clean_views`).
    """
    n = len(data) if n is None else min(n, len(data))
    idx = np.sort(np.random.default_rng(seed).choice(len(data), n, replace=False))
    part = data[idx]
    if not clean:
        return part
    if not has_clean_views(part):
        raise DataError(f"subset(clean=True): {data.name or 'these pairs'} have no clean views "
                        "(the course's files hold only the noisy pairs)")
    return load_pairs(split, clean=True)[part.meta["index"]]
