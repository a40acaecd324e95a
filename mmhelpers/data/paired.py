"""Paired (image, audio, label) data: the container and the batch loader.

An image and its audio are stored in separate tensors, so the one rule here is: *every* selection,
shuffle or split indexes all of them with the same index, and nothing else ever reorders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .. import config
from ..cache.fingerprint import fingerprint
from ..embedded.plan import SCENARIOS as SCENARIO_ORDER

IMAGE_SHAPE = (1, 28, 28)
AUDIO_SHAPE = (1, 8000)
N_CLASSES = 10
SPLITS = ("train", "test")
MODALITIES = ("image", "audio")


class DataError(ValueError):
    """Bad input data: the message names the file (or argument) and says what was expected."""


@dataclass
class PairedData:
    """Aligned pairs: ``images`` (N,1,28,28) float32, ``audio`` (N,1,8000) float32,
    ``labels`` (N,) int64 (-1 where unknown), ``meta`` a dict of length-N numpy arrays.

    ``features``: empty for raw inputs. Otherwise it names what was precomputed from them and is
    held instead (log-mel spectrograms as ``audio``, see :mod:`mmhelpers.features.precompute`; two
    frozen members' outputs as ``images`` and ``audio``, see :mod:`mmhelpers.training.frozen_members`); shapes are
    then free, but every field still has one row per pair.
    """

    images: torch.Tensor
    audio: torch.Tensor
    labels: torch.Tensor
    meta: dict = field(default_factory=dict)
    has_labels: bool = True
    name: str = ""
    #: content hash of the data this selection came from, plus the selection (keys model caches)
    fingerprint: str = ""
    features: str = ""

    def __post_init__(self):
        n = len(self.labels)
        if not self.features and (self.images.shape[1:] != IMAGE_SHAPE or self.audio.shape[1:] != AUDIO_SHAPE):
            raise DataError(f"PairedData {self.name!r}: expected images (N,1,28,28) and audio (N,1,8000), "
                            f"got {tuple(self.images.shape)} and {tuple(self.audio.shape)}")
        sizes = {"images": len(self.images), "audio": len(self.audio), "labels": n}
        sizes.update({f"meta[{k!r}]": len(v) for k, v in self.meta.items()})
        if len(set(sizes.values())) != 1:
            raise DataError(f"PairedData {self.name!r}: all fields must have the same length, got {sizes}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def noise_known(self) -> bool:
        """Whether each pair's noise severities are recorded (``meta["image_noise"]`` and
        ``meta["audio_noise"]``): true for the embedded dataset, false for the course's files."""
        return "image_noise" in self.meta and "audio_noise" in self.meta

    def scenarios(self) -> list[str]:
        """The noise scenarios present, in the generator's order (the course's files: ``["unknown"]``)."""
        present = set(np.asarray(self.meta.get("scenario", np.full(len(self), "unknown"))).tolist())
        return [s for s in SCENARIO_ORDER if s in present] + sorted(present - set(SCENARIO_ORDER))

    def __getitem__(self, idx) -> "PairedData":
        """Select pairs by an index tensor/array/list or a slice; all fields move together."""
        if isinstance(idx, slice):
            idx = np.arange(len(self))[idx]
        if isinstance(idx, (int, np.integer)):
            raise TypeError("PairedData[idx]: use an index array or slice (e.g. data[[i]]), not a bare int")
        t = torch.as_tensor(np.asarray(idx) if not torch.is_tensor(idx) else idx, dtype=torch.long)
        if t.ndim != 1:
            raise TypeError(f"PairedData[idx]: idx must be 1-D, got shape {tuple(t.shape)}")
        if t.dtype == torch.bool:  # pragma: no cover - as_tensor with dtype long never yields bool
            t = t.nonzero().flatten()
        n = t.numpy()
        return PairedData(self.images[t], self.audio[t], self.labels[t],
                          {k: v[n] for k, v in self.meta.items()}, self.has_labels, self.name,
                          self.selection_fingerprint(n), self.features)

    def with_views(self, tag: str, images=None, audio=None) -> "PairedData":
        """A copy with new ``images`` and/or ``audio`` (labels and meta unchanged), named and
        fingerprinted as this data plus ``tag`` (say what was changed: ``"image zero"``)."""
        images = self.images if images is None else torch.as_tensor(images, dtype=torch.float32)
        audio = self.audio if audio is None else torch.as_tensor(audio, dtype=torch.float32)
        return PairedData(images.reshape(self.images.shape), audio.reshape(self.audio.shape), self.labels,
                          self.meta, self.has_labels, f"{self.name} [{tag}]",
                          f"{self.fingerprint}|{tag}" if self.fingerprint else "")

    def selection_fingerprint(self, idx) -> str:
        """The fingerprint ``self[idx]`` gets; empty for data without one (a selection of unidentified
        data stays unidentified, so no cache can mistake it for other data)."""
        if not self.fingerprint:
            return ""
        return fingerprint({"of": self.fingerprint, "pairs": np.asarray(idx, np.int64)})

    def split(self, val_fraction: float = 0.2, seed: int = config.SEED) -> tuple["PairedData", "PairedData"]:
        """Stratified (by label) train/validation split of whole pairs, reproducible by ``seed``.

        Data too small to stratify (a class with one pair, fewer validation pairs than classes)
        is split at random instead; pairs are kept whole either way.
        """
        tr, va = self.split_indices(val_fraction, seed)
        return self[tr], self[va]

    def split_indices(self, val_fraction: float = 0.2, seed: int = config.SEED) -> tuple[np.ndarray, np.ndarray]:
        """The sorted pair indices of :meth:`split`'s two parts, without copying any data."""
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"split: val_fraction must be in (0, 1), got {val_fraction}")
        strat = self.labels.numpy() if self.has_labels else None
        if strat is not None:  # stratifying needs >= 2 pairs per class and room for every class
            counts = np.bincount(strat[strat >= 0])
            n_val = math.ceil(val_fraction * len(self))
            k = int((counts > 0).sum())
            if k == 0 or counts[counts > 0].min() < 2 or not k <= n_val <= len(self) - k:
                strat = None
        tr, va = train_test_split(np.arange(len(self)), test_size=val_fraction, random_state=seed,
                                  stratify=strat)
        tr.sort(), va.sort()
        return tr, va

    def summary(self) -> str:
        return (f"{self.name or 'pairs'}: {len(self)} pairs, images {tuple(self.images.shape)}, "
                f"audio {tuple(self.audio.shape)}{' (' + self.features + ')' if self.features else ''}, "
                f"labels {'yes' if self.has_labels else 'no'}")


class PairedLoader:
    """Batches ``(images, audio, labels)`` by slicing preloaded tensors with one permuted index.

    No per-item Python work and no worker processes (they would compete with training for the
    CPU). Each epoch draws a new permutation from ``seed`` and the epoch number, so runs are
    reproducible; every pair appears exactly once per epoch and is never broken up.
    """

    def __init__(self, data: PairedData, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False):
        if not isinstance(data, PairedData):
            raise TypeError(f"PairedLoader: data must be a PairedData, got {type(data).__name__}")
        if int(batch_size) < 1:
            raise ValueError(f"PairedLoader: batch_size must be >= 1, got {batch_size}")
        self.data, self.batch_size, self.shuffle = data, int(batch_size), shuffle
        self.seed, self.drop_last, self.epoch = seed, drop_last, 0

    def __len__(self) -> int:
        n = len(self.data) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self):
        n = len(self.data)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        self.epoch += 1
        d = self.data
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield d.images[idx], d.audio[idx], d.labels[idx]
