"""Paired (image, audio, label) data: the container, the batch loader, and the course-file reader.

An image and its audio are stored in separate tensors, so the one rule here is: *every* selection,
shuffle or split indexes all of them with the same index, and nothing else ever reorders them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import config
from .embedded import SCENARIOS as SCENARIO_ORDER

IMAGE_SHAPE = (1, 28, 28)
AUDIO_SHAPE = (1, 8000)
N_CLASSES = 10
SPLITS = ("train", "test")


class DataError(ValueError):
    """Bad input data: the message names the file (or argument) and says what was expected."""


@dataclass
class PairedData:
    """Aligned pairs: ``images`` (N,1,28,28) float32, ``audio`` (N,1,8000) float32,
    ``labels`` (N,) int64 (-1 where unknown), ``meta`` a dict of length-N numpy arrays.

    ``features``: empty for raw inputs. Otherwise it names what was precomputed from them and is
    held instead (log-mel spectrograms as ``audio``, see :mod:`mmhelpers.precompute`; two
    classifiers' logits as ``images`` and ``audio``, see :mod:`mmhelpers.experiments`); shapes are
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

    def selection_fingerprint(self, idx) -> str:
        """The fingerprint ``self[idx]`` gets; empty for data without one (a selection of unidentified
        data stays unidentified, so no cache can mistake it for other data)."""
        if not self.fingerprint:
            return ""
        return hashlib.sha1(f"{self.fingerprint}|".encode() + np.asarray(idx, np.int64).tobytes()).hexdigest()[:16]

    def split(self, val_fraction: float = 0.2, seed: int = config.SEED) -> tuple["PairedData", "PairedData"]:
        """Stratified (by label) train/validation split of whole pairs, reproducible by ``seed``.

        Data too small to stratify (a class with one pair, fewer validation pairs than classes)
        is split at random instead; pairs are kept whole either way.
        """
        tr, va = self.split_indices(val_fraction, seed)
        return self[tr], self[va]

    def split_indices(self, val_fraction: float = 0.2, seed: int = config.SEED) -> tuple[np.ndarray, np.ndarray]:
        """The sorted pair indices of :meth:`split`'s two parts, without copying any data."""
        from sklearn.model_selection import train_test_split

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
                f"audio {tuple(self.audio.shape)}{' (' + self.features + ')' if self.features else ''}, labels {'yes' if self.has_labels else 'no'}")


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


# ----------------------------------------------------------------------------- course files

COURSE_FILES = {
    "train": ("training_images", "training_audio", "training_images_labels", "training_audio_labels"),
    "test": ("test_images", "test_audio", "test_images_labels", "test_audio_labels"),
}


def _find(root: Path, stem: str, required: bool = True) -> Path | None:
    for ext in (".pth", ".pt", ".npy"):
        if (root / f"{stem}{ext}").is_file():
            return root / f"{stem}{ext}"
    if required:
        expected = ", ".join(f"{s}.pth|.npy" for split in SPLITS for s in COURSE_FILES[split][:2])
        raise DataError(f"missing course file {root / (stem + '.pth')} (or .npy). Expected in {root}: "
                        f"{expected}, training_images_labels, training_audio_labels, and optionally "
                        f"test_images_labels, test_audio_labels")
    return None


def _read(path: Path) -> np.ndarray:
    """Read one file without changing it; return a numpy array (values unchanged)."""
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
            arr = obj.numpy() if torch.is_tensor(obj) else np.asarray(obj)
    except Exception as exc:  # corrupt file, pickle, wrong format
        raise DataError(f"{path}: could not read it as a tensor/array ({type(exc).__name__}: {exc})") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(f"{path}: expected a numeric tensor/array, got dtype {arr.dtype}")
    return arr


def _check_finite(path: Path, arr: np.ndarray) -> None:
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise DataError(f"{path}: contains {bad} NaN/Inf values; expected finite numbers")


def _as_images(path: Path, arr: np.ndarray) -> torch.Tensor:
    if arr.shape[1:] in {(1, 28, 28), (28, 28), (784,)} and arr.ndim >= 2:
        _check_finite(path, arr)
        return torch.from_numpy(np.ascontiguousarray(arr.reshape(len(arr), *IMAGE_SHAPE), dtype=np.float32))
    raise DataError(f"{path}: expected images of shape (N,1,28,28), (N,28,28) or (N,784), got {arr.shape}")


def _as_audio(path: Path, arr: np.ndarray) -> torch.Tensor:
    if arr.ndim >= 2 and arr.shape[1:] in {(1, 8000), (8000,)}:
        _check_finite(path, arr)
        return torch.from_numpy(np.ascontiguousarray(arr.reshape(len(arr), *AUDIO_SHAPE), dtype=np.float32))
    raise DataError(f"{path}: expected audio of shape (N,1,8000) or (N,8000), got {arr.shape}")


def _as_labels(path: Path, arr: np.ndarray) -> np.ndarray:
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise DataError(f"{path}: expected labels of shape (N,), got {arr.shape}")
    _check_finite(path, arr)
    if len(arr) and (np.any(arr != np.round(arr)) or arr.min() < 0 or arr.max() > N_CLASSES - 1):
        bad = np.flatnonzero((arr != np.round(arr)) | (arr < 0) | (arr > N_CLASSES - 1))
        raise DataError(f"{path}: labels must be integers 0-9; {len(bad)} are not (first at index "
                        f"{bad[0]}: {arr[bad[0]]!r})")
    return arr.astype(np.int64)


def _load_split(root: Path, split: str) -> PairedData:
    img_stem, aud_stem, img_lab_stem, aud_lab_stem = COURSE_FILES[split]
    need_labels = split == "train"
    img_path, aud_path = _find(root, img_stem), _find(root, aud_stem)
    img_lab_path = _find(root, img_lab_stem, required=need_labels)
    aud_lab_path = _find(root, aud_lab_stem, required=need_labels)
    if (img_lab_path is None) != (aud_lab_path is None):
        present = img_lab_path or aud_lab_path
        raise DataError(f"{present}: found only one of {img_lab_stem} / {aud_lab_stem}; "
                        f"expected both label files or neither")
    images, audio = _as_images(img_path, _read(img_path)), _as_audio(aud_path, _read(aud_path))
    counts = {img_path.name: len(images), aud_path.name: len(audio)}
    labels, has_labels = None, img_lab_path is not None
    if has_labels:
        li, la = _as_labels(img_lab_path, _read(img_lab_path)), _as_labels(aud_lab_path, _read(aud_lab_path))
        counts.update({img_lab_path.name: len(li), aud_lab_path.name: len(la)})
        if len(set(counts.values())) == 1 and not np.array_equal(li, la):
            diff = np.flatnonzero(li != la)
            raise DataError(f"{img_lab_path} and {aud_lab_path}: image and audio labels disagree for "
                            f"{len(diff)} of {len(li)} pairs (first at index {diff[0]}: {li[diff[0]]} vs "
                            f"{la[diff[0]]}); the pairs must be stored in the same order")
        labels = li
    if len(set(counts.values())) != 1:
        raise DataError(f"{root} ({split}): the files must hold the same number of pairs, got {counts}")
    n = len(images)
    labels = torch.from_numpy(labels) if has_labels else torch.full((n,), -1, dtype=torch.int64)
    meta = {"index": np.arange(n), "scenario": np.full(n, "unknown")}
    from .cache import fingerprint

    fp = fingerprint({"images": images.numpy(), "audio": audio.numpy(), "labels": labels.numpy()})
    return PairedData(images, audio, labels, meta, has_labels, name=f"course {split}", fingerprint=fp)


def load_course_files(root) -> dict[str, PairedData]:
    """Read the course's files from ``root`` into ``{"train": PairedData, "test": PairedData}``.

    Accepts ``.pth`` (torch.save) or ``.npy`` files; images (N,1,28,28), (N,28,28) or (N,784);
    audio (N,1,8000) or (N,8000); labels of any numeric dtype with integer values 0-9. Values are
    returned unchanged in canonical shapes and dtypes. A test set without label files gets labels
    -1 and ``has_labels=False``. Nothing in ``root`` is written. Raises :class:`DataError`.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"course data directory {root} does not exist (set MM_DATA to the folder holding "
                        f"training_images.pth, training_audio.pth, ...)")
    return {split: _load_split(root, split) for split in SPLITS}


def load_pairs(split: str, source=None, quick: bool | None = None) -> PairedData:
    """The one entry point for data: ``split`` is "train" or "test".

    ``source=None`` uses ``MM_DATA`` if set, else the embedded offline dataset; a path means the
    course files in that directory. Quick mode (``quick=None`` reads ``MM_QUICK``) keeps a
    reproducible, stratified subset (about 1000 train / 500 test pairs).
    """
    if split not in SPLITS:
        raise ValueError(f"load_pairs: split must be 'train' or 'test', got {split!r}")
    quick = config.is_quick(quick)
    root = Path(source) if source is not None else config.data_dir()
    if root is None:
        from . import embedded

        return embedded.load(split, quick=quick)
    data = load_course_files(root)[split]
    return quick_subset(data, split) if quick else data


QUICK_SIZES = {"train": 1000, "test": 500}


def quick_subset(data: PairedData, split: str) -> PairedData:
    """A reproducible, label-stratified subset of the quick-mode size for ``split``."""
    n = QUICK_SIZES[split]
    if len(data) <= n:
        return data
    rng = np.random.default_rng(config.SEED)
    if data.has_labels:
        from sklearn.model_selection import train_test_split

        idx, _ = train_test_split(np.arange(len(data)), train_size=n, random_state=config.SEED,
                                  stratify=data.labels.numpy())
    else:
        idx = rng.choice(len(data), n, replace=False)
    return data[np.sort(idx)]
