"""Train / validation / test: the training pairs split once (:mod:`.grouping`), the test pairs as given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import config
from ..cache.arrays import read_or_build
from .grouping import is_grouped, validation_indices
from .loading import load_pairs
from .paired import PairedData

VAL_FRACTION = 0.2


@dataclass
class Splits:
    """Train / validation (from the training data, fixed seed) / test pairs; ``grouped``: whether
    the validation part shares no source digit and no voice with the train part."""

    train: PairedData
    val: PairedData
    test: PairedData
    grouped: bool = False

    def __iter__(self):
        return iter((self.train, self.val, self.test))

    def summary(self) -> str:
        how = ("grouped: no source digit and no voice shared with the train part" if self.grouped
               else "stratified at random")
        return "\n".join([*(d.summary() for d in self), f"validation part: {how}"])


def load_splits(quick: bool | None = None, source=None) -> Splits:
    """The training pairs split about 80/20 (seed fixed) into train and validation parts, plus test.

    On the embedded data the validation part is grouped like the test split: it shares no source
    digit and no voice variant with the train part, and holds the classes in the same shares
    (:func:`~mmhelpers.data.grouping.validation_indices`). The course's files record neither, so
    there it is a stratified random part.

    The two parts are written once to the cache and memory-mapped from there (:func:`_selection`):
    notebooks running at the same time share one copy of them instead of holding one each.
    """
    full = load_pairs("train", source=source, quick=quick)
    tr, va = (_selection(full, idx) for idx in validation_indices(full, VAL_FRACTION, seed=config.SEED))
    tr.name, va.name = f"{full.name} (train part)", f"{full.name} (validation part)"
    return Splits(tr, va, load_pairs("test", source=source, quick=quick), grouped=is_grouped(full))


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
