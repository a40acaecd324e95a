"""A small, model-agnostic trainer with train-or-load caching.

``fit`` only assumes ``logits = model(images, audio)`` and cross-entropy; it knows nothing else
about the model. Model selection uses the *validation* split: the weights of the epoch with the
best validation accuracy are kept (early stopping with ``patience``). The test split is evaluated
every epoch only to draw the curve the exercise asks for; it never influences training.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from . import cache, config
from .data import PairedData, PairedLoader

TRAINER_VERSION = 1
#: fit() arguments that change how training is shown, not what is trained: not part of the cache key
NOT_IN_KEY = ("progress",)


@dataclass
class History:
    """Per-epoch records plus the epoch whose weights were kept."""

    epochs: list = field(default_factory=list)
    best_epoch: int = 0
    name: str = ""
    loaded: bool = False  # True when train-or-load found it in the cache
    key: str = ""         # the train-or-load cache key (identifies this exact trained model)

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.epochs)

    @property
    def best(self) -> dict:
        return self.epochs[self.best_epoch - 1] if self.epochs else {}

    @property
    def seconds(self) -> float:
        return float(sum(e["seconds"] for e in self.epochs))


@torch.inference_mode()
def evaluate_loss(model, data: PairedData, batch_size: int = 1024, device=None) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``data`` (eval mode, no gradients)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, correct, n = 0.0, 0, 0
    for images, audio, labels in PairedLoader(data, batch_size, shuffle=False):
        images, audio, labels = images.to(device), audio.to(device), labels.to(device)
        logits = model(images, audio)
        total += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        n += len(labels)
    model.train(was_training)
    return total / max(n, 1), correct / max(n, 1)


def fit(model: torch.nn.Module, train: PairedData, val: PairedData, test: PairedData | None = None, *,
        epochs: int = 10, batch_size: int = 128, lr: float = 2e-3, weight_decay: float = 0.0,
        patience: int | None = None, seed: int = config.SEED, device=None, progress: bool = True,
        name: str = "") -> History:
    """Train with Adam and a cosine learning-rate schedule; keep the best-validation weights.

    Returns a :class:`History` with, per epoch: ``train_loss``, ``val_loss``, ``val_acc``,
    ``test_loss``, ``test_acc`` (when ``test`` has labels) and ``seconds``.
    """
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    if not train.has_labels or not val.has_labels:
        raise ValueError("fit: the train and validation splits need labels")
    config.seed_everything(seed)
    device = torch.device(device) if device is not None else config.device()
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    loader = PairedLoader(train, batch_size, shuffle=True, seed=seed)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(loader),
                                                pct_start=0.15, anneal_strategy="cos")
    history, best_acc, best_state, stale = History(name=name), -1.0, None, 0
    bar = _progress(epochs, name, progress)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        running, seen = 0.0, 0
        for images, audio, labels in loader:
            images, audio, labels = images.to(device), audio.to(device), labels.to(device)
            loss = F.cross_entropy(model(images, audio), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item() * len(labels)
            seen += len(labels)
        record = {"epoch": epoch, "train_loss": running / seen}
        record["val_loss"], record["val_acc"] = evaluate_loss(model, val, device=device)
        if test is not None and test.has_labels:
            record["test_loss"], record["test_acc"] = evaluate_loss(model, test, device=device)
        record["seconds"] = time.perf_counter() - t0
        history.epochs.append(record)
        if record["val_acc"] > best_acc:
            best_acc, stale, history.best_epoch = record["val_acc"], 0, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if bar is not None:
            bar.set_postfix(loss=f"{record['train_loss']:.3f}", val_acc=f"{record['val_acc']:.3f}")
            bar.update(1)
        if patience is not None and stale >= patience:
            break
    if bar is not None:
        bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return history


def _progress(total: int, name: str, enabled: bool):
    """A tqdm.auto bar over epochs (a widget in JupyterLab; exported reports drop it)."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name or "training", unit="epoch", leave=False)


# ----------------------------------------------------------------------------- train-or-load

def architecture(model: torch.nn.Module) -> str:
    """A digest of the model's structure (its ``repr``: layers, their order and settings). Part of
    every train-or-load key, so that a model whose code changed is trained again instead of
    loading weights saved for another network (or, when every shape still fits, silently using them)."""
    import hashlib

    return hashlib.sha1(repr(model).encode()).hexdigest()[:16]


def load_checkpoint(path: Path, model: torch.nn.Module, weights_only: bool = False) -> dict:
    """The dict saved at ``path`` (:func:`save_atomic`), its ``state_dict`` loaded into ``model``.

    Raises, leaving ``model`` untouched, when the file is unreadable or its weights do not fit
    ``model`` exactly (every name, every shape). ``load_state_dict`` alone copies every tensor
    that fits before it raises, and a caller that then trains again would train on from them.
    """
    blob = torch.load(path, map_location="cpu", weights_only=weights_only)
    state, own = blob["state_dict"], model.state_dict()
    if set(state) != set(own) or any(tuple(state[k].shape) != tuple(v.shape) for k, v in own.items()):
        raise ValueError(f"{path.name}: its weights do not fit {type(model).__name__}")
    model.load_state_dict(state)
    return blob


def model_path(name: str, spec: dict) -> Path:
    """Where the weights and history for ``name`` trained under ``spec`` are cached."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return config.cache_dir() / "models" / f"{safe}-{cache.key(dict(spec, trainer=TRAINER_VERSION))}.pt"


def train_or_load(name: str, make_model: Callable[[], torch.nn.Module], train: PairedData, val: PairedData,
                  test: PairedData | None = None, *, spec: dict | None = None, retrain: bool | None = None,
                  prepare: Callable[[torch.nn.Module], None] | None = None, **fit_kwargs) -> tuple[torch.nn.Module, History]:
    """Return ``(model, history)``: from the cache when this exact run was done before, else trained.

    The cache key covers ``name``, ``spec`` (the caller's model settings), the model's
    :func:`architecture`, the fit settings (not :data:`NOT_IN_KEY`), the seed and the fingerprints
    of the three splits. ``retrain=True`` (or ``MM_RETRAIN=1``) forces
    training; the fresh result then replaces the cached one. ``prepare(model)`` runs before training
    only (e.g. fitting normalisation statistics, which a cached state already holds). Data without a fingerprint (built by
    hand, not loaded) cannot be told apart from other data: it is trained every time, never cached.
    """
    settings = {k: v for k, v in fit_kwargs.items() if k not in NOT_IN_KEY}
    config.seed_everything(fit_kwargs.get("seed", config.SEED))
    model = make_model()
    spec = dict(spec or {}, name=name, arch=architecture(model), fit=settings, train=train.fingerprint,
                val=val.fingerprint, test=test.fingerprint if test is not None else None)
    path = model_path(name, spec)
    retrain = config.force_retrain() if retrain is None else retrain
    cacheable = all(d is None or d.fingerprint for d in (train, val, test))
    if path.is_file() and not retrain and cacheable:
        try:
            blob = load_checkpoint(path, model)
            model.to(config.device()).eval()
            history = History(**blob["history"])
            history.loaded, history.key = True, path.stem
            return model, history
        except Exception as exc:  # corrupt or incompatible (model untouched): train again
            print(f"cached model {path.name} unusable ({type(exc).__name__}); training again")
    if prepare is not None:
        prepare(model)
    history = fit(model, train, val, test, name=name, **fit_kwargs)
    history.key = path.stem
    if cacheable:
        save_atomic(path, {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                           "history": asdict(history), "spec": spec})
    return model, history


def save_atomic(path: Path, obj) -> None:
    """``torch.save(obj)`` to ``path`` atomically (:func:`mmhelpers.cache.write_atomic`)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    cache.write_atomic(path, buf.getvalue())
