"""The course's own files (``training_images.pth`` ...): read, checked and returned as pairs.

Nothing in the course folder is ever written. Bad files stop with a :class:`DataError` that names
the file and says what was expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..cache.fingerprint import fingerprint
from .paired import AUDIO_SHAPE, IMAGE_SHAPE, N_CLASSES, SPLITS, DataError, PairedData

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
