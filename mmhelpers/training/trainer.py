"""The trainer: one ``fit`` for every model the series trains.

``fit`` knows nothing about the model: it calls ``loss(model, images, audio, labels)`` on every
batch (by default :func:`classification_loss`, cross-entropy on ``model(images, audio)``), steps
Adam under a one-cycle learning-rate schedule and records the mean training loss per epoch.
Given a *validation* split (labelled), it also records validation loss and accuracy and keeps the
weights of the best validation epoch. The test split, when given, is evaluated every epoch only
to draw the curve the exercise asks for; it never influences training. Caching trained models is
:mod:`mmhelpers.training.checkpoints`'s job.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
import torch
import torch.nn.functional as F

from .. import config
from ..data.paired import PairedData, PairedLoader


@dataclass
class History:
    """Per-epoch records plus the epoch whose weights were kept."""

    epochs: list = field(default_factory=list)
    best_epoch: int = 0
    name: str = ""
    loaded: bool = False  # True when train-or-load found it in the cache
    key: str = ""         # the train-or-load cache key (identifies this exact trained model)

    def frame(self):
        return pd.DataFrame(self.epochs)

    @property
    def best(self) -> dict:
        return self.epochs[self.best_epoch - 1] if self.epochs else {}

    @property
    def seconds(self) -> float:
        return float(sum(e["seconds"] for e in self.epochs))

    def summary(self) -> str:
        """One line: epochs, seconds and, with validation, the kept epoch."""
        kept = (f"; kept epoch {self.best_epoch} (validation accuracy {self.best['val_acc']:.1%})"
                if "val_acc" in self.best else "")
        return f"{self.name or 'model'}: trained {len(self.epochs)} epochs in {self.seconds:.0f} s{kept}"


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


def classification_loss(model, images, audio, labels) -> torch.Tensor:
    """Cross-entropy of ``model(images, audio)`` (logits) against the labels."""
    return F.cross_entropy(model(images, audio), labels)


def train_one_epoch(model, loader, loss: Callable, optimizer, schedule,
                    device) -> float:
    """One pass over the training batches: forward, loss, backward, step.
    Returns the mean training loss."""
    model.train()
    total, seen = 0.0, 0
    for images, audio, labels in loader:
        images, audio = images.to(device), audio.to(device)
        labels = labels.to(device)
        value = loss(model, images, audio, labels)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        schedule.step()
        total += value.item() * len(labels)
        seen += len(labels)
    return total / seen


def fit(model: torch.nn.Module, train: PairedData, val: PairedData | None = None,
        test: PairedData | None = None, *, loss: Callable = classification_loss,
        epochs: int = 10, batch_size: int = 128, lr: float = 2e-3,
        weight_decay: float = 0.0, drop_last: bool = False, seed: int | None = None,
        device=None, progress: bool = True, name: str = "") -> History:
    """Train with Adam and a one-cycle (cosine) learning-rate schedule.

    Returns a :class:`History` with, per epoch: ``train_loss``, ``seconds`` and, given
    ``val``, ``val_loss`` and ``val_acc`` (the best epoch's weights are kept), given
    ``test`` with labels ``test_loss`` and ``test_acc``. Without ``val`` the last
    epoch's weights are kept. ``drop_last``: skip a last batch smaller than
    ``batch_size`` (a contrastive loss compares every pair of a batch with the others,
    so every batch should be full).
    """
    seed = config.training_seed() if seed is None else seed
    _check_fit(train, val, loss, epochs)
    config.seed_everything(seed)
    device = torch.device(device) if device is not None else config.device()
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay)
    batch = min(batch_size, len(train)) if drop_last else batch_size
    loader = PairedLoader(train, batch, shuffle=True, seed=seed, drop_last=drop_last)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * len(loader), pct_start=0.15,
        anneal_strategy="cos")
    history = History(name=name, best_epoch=epochs)
    best_acc, best_state = -1.0, None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        record = {"epoch": epoch, "train_loss": train_one_epoch(
            model, loader, loss, optimizer, schedule, device)}
        if val is not None:
            val_loss, val_acc = evaluate_loss(model, val, device=device)
            record.update(val_loss=val_loss, val_acc=val_acc)
            if val_acc > best_acc:   # model selection on the validation split only
                best_acc, history.best_epoch = val_acc, epoch
                best_state = copy.deepcopy(model.state_dict())
        if test is not None and test.has_labels:   # for the curves; never to choose
            test_loss, test_acc = evaluate_loss(model, test, device=device)
            record.update(test_loss=test_loss, test_acc=test_acc)
        record["seconds"] = time.perf_counter() - t0
        history.epochs.append(record)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    if progress:
        print(history.summary(), flush=True)
    return history


def _check_fit(train: PairedData, val: PairedData | None, loss: Callable,
               epochs: int) -> None:
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    if loss is classification_loss and not train.has_labels:
        raise ValueError("fit: classification needs a labelled training split")
    if val is not None and not val.has_labels:
        raise ValueError("fit: the validation split needs labels")
