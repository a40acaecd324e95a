"""Train / validation / test: the course's training pairs split once, the test pairs as given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import config
from ..cache.arrays import read_or_build
from .loading import load_pairs
from .paired import PairedData

VAL_FRACTION = 0.2


@dataclass
class Splits:
    """Train / validation (from the training data, fixed seed) / test pairs."""

    train: PairedData
    val: PairedData
    test: PairedData

    def __iter__(self):
        return iter((self.train, self.val, self.test))

    def summary(self) -> str:
        return "\n".join(d.summary() for d in self)


def load_splits(quick: bool | None = None, source=None) -> Splits:
    """The course's train data split 80/20 (stratified, seed fixed) into train/validation, plus test.

    The two parts are written once to the cache and memory-mapped from there (:func:`_selection`):
    notebooks running at the same time share one copy of them instead of holding one each.
    """
    full = load_pairs("train", source=source, quick=quick)
    tr, va = (_selection(full, idx) for idx in full.split_indices(VAL_FRACTION, seed=config.SEED))
    tr.name, va.name = f"{full.name} (train part)", f"{full.name} (validation part)"
    return Splits(tr, va, load_pairs("test", source=source, quick=quick))


def _selection(data: PairedData, idx) -> PairedData:
    """``data[idx]``, its tensors memory-mapped (copy-on-write) from ``<cache>/selections``."""
    fp = data.selection_fingerprint(idx)
    if not fp:
        return data[idx]
    idx = np.asarray(idx)

    def build():
        part = data[idx]
        return {"images": part.images.numpy(), "audio": part.audio.numpy(), "labels": part.labels.numpy()}

    arrays = read_or_build(config.cache_dir() / "selections" / fp, build, {"of": data.fingerprint, "pairs": len(idx)})
    meta = {k: v[idx] for k, v in data.meta.items()}
    return PairedData(torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["audio"]),
                      torch.from_numpy(arrays["labels"]), meta, data.has_labels, data.name, fp)
