"""Compute-or-load for results: the train-or-load idea applied to what comes after training.

Re-opening a notebook reloads its trained models from the cache; :func:`compute_or_load` does the
same for what the notebook then computes from them (predictions, noise sweeps, t-SNE maps,
retrieval scores), so a warm re-run does not evaluate everything again. A result is stored under
``<cache>/results/<kind>-<fingerprint of spec>.pkl``. ``spec`` names everything the result depends
on, as the objects themselves: networks, data, settings (:func:`~mmhelpers.cache.fingerprint.fingerprint`).
``MM_RETRAIN=1`` recomputes (and rewrites) every result. Where an input cannot be identified (data
built by hand, a network with hooks) the result is computed and not stored.

Why not ``joblib.Memory``: it keys a call by hashing its arguments' pickles, and ours are trained
networks and datasets of hundreds of megabytes that already carry a fingerprint (pickling and
hashing the 17,560 training clips took 2.9 s, their stored fingerprint is read in no time); it
also cannot tell that a network with hooks computes something its weights do not say.
"""

from __future__ import annotations

import pickle
from typing import Any, Callable

from .. import config
from .files import dump_atomic
from .fingerprint import fingerprint_or_none

#: bump to invalidate every stored result (e.g. when a metric's definition changes)
VERSION = 1


def compute_or_load(kind: str, spec: dict, compute: Callable[[], Any]) -> Any:
    """``compute()``, or its stored result for the same ``kind`` and ``spec``."""
    key = fingerprint_or_none(dict(spec, kind=kind, version=VERSION))
    if key is None:
        return compute()
    path = config.cache_dir() / "results" / f"{kind}-{key}.pkl"
    if path.is_file() and not config.force_retrain():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # truncated or from an incompatible version: compute again
            pass
    result = compute()
    dump_atomic(path, lambda f: pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL))
    return result
