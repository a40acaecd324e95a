"""The one way to identify data, settings and networks: :func:`fingerprint`.

A fingerprint is a short hex digest of an object's content, used as a cache key and as the
identity of a dataset. Settings (numbers, strings, lists, dicts), arrays, tensors, networks and
anything that carries a ``fingerprint`` string (a :class:`~mmhelpers.data.paired.PairedData`) can
be fingerprinted, and any nesting of them. The hashing itself is ``joblib.hash``; this module only
says what an object's content is:

* an array or tensor: its dtype, shape and bytes;
* a network (``torch.nn.Module``): its class, its train/eval mode, its structure (``repr``: the
  layers, their order and settings) and every parameter and buffer. Two networks with the same
  fingerprint compute the same function. A network with forward hooks has none
  (:class:`Unidentifiable`): its outputs depend on more than its state;
* data: its own ``fingerprint`` string; empty means it was built by hand and cannot be told apart
  from other data (:class:`Unidentifiable`).
"""

from __future__ import annotations

import sys
from pathlib import PurePath

import joblib
import numpy as np


class Unidentifiable(ValueError):
    """The object's content cannot be known from its state, so nothing may be cached for it."""


def _network(module) -> dict:
    if any(m._forward_hooks or m._forward_pre_hooks for m in module.modules()):
        raise Unidentifiable(f"{type(module).__name__} has forward hooks: its outputs depend on more than its state")
    return {"class": f"{type(module).__module__}.{type(module).__qualname__}", "training": module.training,
            "structure": repr(module),
            "state": [(name, t.detach().cpu().numpy()) for name, t in module.state_dict().items()]}


def content(obj):
    """``obj`` as plain data (numbers, strings, numpy arrays, lists, dicts): what is hashed."""
    torch = sys.modules.get("torch")  # a torch object exists only where torch was imported
    if torch is not None and isinstance(obj, torch.nn.Module):
        return content(_network(obj))
    if torch is not None and isinstance(obj, torch.Tensor):
        return obj.detach().cpu().contiguous().numpy()
    if isinstance(obj, np.ndarray):
        return obj if obj.dtype != object else [str(x) for x in obj.tolist()]
    if isinstance(obj, dict):
        return {str(k): content(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [content(v) for v in obj]
    if isinstance(obj, (str, int, float, bool, type(None), np.generic)):
        return obj.item() if isinstance(obj, np.generic) else obj
    if isinstance(obj, PurePath):
        return str(obj)
    own = getattr(obj, "fingerprint", None)
    if isinstance(own, str):
        if not own:
            raise Unidentifiable(f"{getattr(obj, 'name', '') or type(obj).__name__} has no fingerprint "
                                 "(data built by hand, not loaded)")
        return {"fingerprint": own}
    raise TypeError(f"fingerprint: cannot fingerprint a {type(obj).__name__}")


def fingerprint(obj) -> str:
    """A 32-character hex digest of ``obj``'s :func:`content`; raises :class:`Unidentifiable`."""
    return joblib.hash(content(obj))


def fingerprint_or_none(obj) -> str | None:
    """:func:`fingerprint`, or ``None`` for an :class:`Unidentifiable` object."""
    try:
        return fingerprint(obj)
    except Unidentifiable:
        return None
