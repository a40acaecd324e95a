"""Compute-or-load for evaluation results: the train-or-load idea applied to what comes after training.

Re-opening a notebook reloads its trained models from the cache; this module does the same for what
the notebook then computes from them (predictions, noise sweeps, t-SNE maps, retrieval scores), so a
warm re-run does not evaluate everything again. A result is stored under
``<cache>/results/<kind>-<key>.pkl``, where the key hashes a ``spec`` that must name everything the
result depends on: model fingerprints (:func:`model_fingerprint`), data fingerprints
(``PairedData.fingerprint``) and settings. ``MM_RETRAIN=1`` recomputes (and rewrites) every result.

Nothing is cached when an input cannot be identified: a dataset with an empty fingerprint, or a
model whose behaviour is changed by hooks (see :func:`model_fingerprint`); ``memo`` then just computes.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any, Callable

from . import cache, config

#: bump to invalidate every stored result (e.g. when a metric's definition changes)
VERSION = 1


def _has_hooks(model) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def model_fingerprint(model) -> str | None:
    """A hash of the model's class, mode and every parameter and buffer, or ``None`` when hooks are
    registered (e.g. :func:`mmhelpers.robustness.absent`): its outputs then depend on more than its state."""
    import torch

    if _has_hooks(model):
        return None
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{type(model).__module__}.{type(model).__qualname__}|{model.training}".encode())
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def identifiable(spec: dict) -> bool:
    """True when no value in ``spec`` (searched through dicts, lists and tuples) is ``None`` or ``""``."""
    def ok(v):
        if isinstance(v, dict):
            return all(ok(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            return all(ok(x) for x in v)
        return v is not None and v != ""
    return ok(spec)


def memo(kind: str, spec: dict, compute: Callable[[], Any]) -> Any:
    """``compute()``, or its stored result for the same ``kind`` and ``spec``."""
    if not identifiable(spec):
        return compute()
    path = config.cache_dir() / "results" / f"{kind}-{cache.key(dict(spec, kind=kind, v=VERSION))}.pkl"
    if path.is_file() and not config.force_retrain():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # truncated or from an incompatible version: compute again
            pass
    result = compute()
    cache.write_atomic(path, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return result
