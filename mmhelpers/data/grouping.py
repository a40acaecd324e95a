"""The validation split, grouped like the test split where the data says how.

A validation part is honest only if it is as new to the model as the test pairs are. The
embedded test split shares no source digit and no speaker with the training split, so the
validation part must share none with the training part either; otherwise the model is selected
for remembering digits and voices it has already seen. Pairs linked by a shared source digit or a
shared voice variant (the ``"accent+variant"`` voice without its accent) form one *group*: the
connected components of the graph whose nodes are the sources and the variants and whose edges
are the pairs. scikit-learn's ``StratifiedGroupKFold`` then holds out whole groups, with the
classes in the same shares on both sides.

The course's files record neither sources nor voices, so their validation part is a stratified
random one (:meth:`~mmhelpers.data.paired.PairedData.split_indices`).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold

from ..embedded.plan import voice_variant
from .paired import PairedData

#: the ``meta`` columns that link pairs: the source digit and the voice
LINKS = ("image_source", "voice")


def pair_groups(meta: dict) -> np.ndarray | None:
    """One group number per pair: pairs sharing a source digit or a voice variant, directly or
    through other pairs, get the same number. ``None`` where ``meta`` lacks :data:`LINKS`."""
    if not all(k in meta for k in LINKS):
        return None
    sources = np.unique(np.asarray(meta["image_source"]), return_inverse=True)[1].ravel()
    variants = np.unique([voice_variant(str(v)) for v in meta["voice"]], return_inverse=True)[1].ravel()
    n_nodes = sources.max() + 1 + variants.max() + 1
    edges = coo_matrix((np.ones(len(sources)), (sources, sources.max() + 1 + variants)), shape=(n_nodes, n_nodes))
    _, component = connected_components(edges, directed=False)
    return component[sources]


def is_grouped(data: PairedData) -> bool:
    """Whether :func:`validation_indices` holds out whole groups (else a stratified random part)."""
    return data.has_labels and pair_groups(data.meta) is not None


def validation_indices(data: PairedData, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train part, validation part)`` pair indices.

    Grouped (:func:`pair_groups`) and stratified by label where the data records sources and
    voices: the validation part is one fold of ``round(1 / val_fraction)``, so its size is
    ``val_fraction`` only as nearly as whole groups allow. Else stratified at random.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"validation_indices: val_fraction must be in (0, 1), got {val_fraction}")
    if not is_grouped(data):
        return data.split_indices(val_fraction, seed)
    groups = pair_groups(data.meta)
    folds = max(2, round(1 / val_fraction))
    if len(np.unique(groups)) < folds:
        raise ValueError(f"{data.name or 'pairs'}: only {len(np.unique(groups))} groups of pairs linked by a "
                         f"source or a voice; a grouped validation part of {val_fraction} needs {folds}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    train, val = next(splitter.split(np.zeros(len(data)), data.labels.numpy(), groups))
    return np.sort(train), np.sort(val)
