"""The one entry point for data: :func:`load_pairs`, the course's files or the embedded dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .. import config
from ..embedded.plan import QUICK_SIZES
from ..embedded.store import load_arrays
from .course_files import load_course_files
from .paired import SPLITS, DataError, PairedData


def load_pairs(split: str, source=None, quick: bool | None = None, clean: bool = False) -> PairedData:
    """The one entry point for data: ``split`` is "train" or "test".

    ``source=None`` uses ``MM_DATA`` if set, else the embedded offline dataset; a path means the
    course files in that directory. Quick mode (``quick=None`` reads ``MM_QUICK``) keeps a
    reproducible, stratified subset (about 1000 train / 500 test pairs). ``clean=True`` gives the
    same pairs before any noise was added: the embedded dataset keeps them, the course's files do
    not (:class:`DataError`).
    """
    if split not in SPLITS:
        raise ValueError(f"load_pairs: split must be 'train' or 'test', got {split!r}")
    quick = config.is_quick(quick)
    root = Path(source) if source is not None else config.data_dir()
    if root is None:
        return embedded_pairs(split, quick, clean)
    if clean:
        raise DataError(f"load_pairs(clean=True): the course's files in {root} hold only the noisy pairs")
    data = load_course_files(root)[split]
    return quick_subset(data, split) if quick else data


def quick_subset(data: PairedData, split: str) -> PairedData:
    """A reproducible, label-stratified subset of the quick-mode size for ``split``."""
    n = QUICK_SIZES[split]
    if len(data) <= n:
        return data
    rng = np.random.default_rng(config.SEED)
    if data.has_labels:
        idx, _ = train_test_split(np.arange(len(data)), train_size=n, random_state=config.SEED,
                                  stratify=data.labels.numpy())
    else:
        idx = rng.choice(len(data), n, replace=False)
    return data[np.sort(idx)]


def embedded_pairs(split: str, quick: bool | None = None, clean: bool = False) -> PairedData:
    """The embedded split as :class:`PairedData`, memory-mapped from the cache (built on first use);
    ``clean=True``: the same pairs before noise."""
    arrays, manifest = load_arrays(split, quick)
    n = len(arrays["labels"])
    images = arrays["clean_images" if clean else "images"]
    audio = arrays["clean_audio" if clean else "audio"]
    meta = {k[5:]: np.array(v) for k, v in arrays.items() if k.startswith("meta_")}
    meta["index"] = np.arange(n)
    return PairedData(torch.from_numpy(np.ascontiguousarray(images)).reshape(n, 1, 28, 28),
                      torch.from_numpy(np.ascontiguousarray(audio)).reshape(n, 1, 8000),
                      torch.from_numpy(np.asarray(arrays["labels"], np.int64)), meta, True,
                      name=f"embedded {split}{' (clean)' if clean else ''}",
                      fingerprint=manifest["fingerprint"] + ("-clean" if clean else ""))
