"""Fusion heads on frozen encoders (notebook 3a).

A head is an :class:`~fusion.IntermediateFusion` or :class:`~fusion.GatedFusion` whose encoders
are the *trained, frozen* encoders of two unimodal classifiers. The head trains on the encoders'
cached outputs (seconds, not minutes) and is itself cached; afterwards it takes ``(images, audio)``
like any other model. Heads that differ only in the fusion rule can so be compared fairly.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from . import cache, config, fusion, train

HEAD_VERSION = 1
HEAD_FIT = dict(epochs=30, batch_size=256, lr=3e-3)


class FrozenEncoder(nn.Module):
    """A trained encoder that never trains again: no gradients, always in eval mode."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder, self.embed_dim = encoder, encoder.embed_dim
        self.modality = getattr(encoder, "modality", None)
        for p in encoder.parameters():
            p.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> "FrozenEncoder":
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, x):
        return self.encoder(x)


class _Given(nn.Module):
    """Stands in for an encoder while a head trains on cached embeddings: returns its input."""

    def __init__(self, embed_dim: int, modality: str):
        super().__init__()
        self.embed_dim, self.modality = embed_dim, modality

    def forward(self, x):
        return x


@torch.inference_mode()
def encode(encoder: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """``encoder(x)`` in eval mode, in chunks, on the CPU."""
    encoder.eval()
    device = next(encoder.parameters()).device
    return torch.cat([encoder(c.to(device)).float().cpu() for c in x.split(batch_size)])


def _fit_head(head, emb, labels, val_emb, val_labels, epochs, batch_size, lr, seed):
    """Adam on cached embeddings; keep the epoch with the best validation accuracy."""
    config.seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    best, state = -1.0, None
    for _ in range(epochs):
        head.train()
        for idx in torch.randperm(len(labels), generator=g).split(batch_size):
            loss = F.cross_entropy(head(emb[0][idx], emb[1][idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            acc = (head(*val_emb).argmax(1) == val_labels).float().mean().item()
        if acc > best:
            best, state = acc, copy.deepcopy(head.state_dict())
    head.load_state_dict(state)
    return best


def split_embeddings(image_model, audio_model, splits) -> dict:
    """The two encoders' outputs on the training and validation splits: what the heads train on."""
    return {name: (encode(image_model.encoder, d.images), encode(audio_model.encoder, d.audio))
            for name, d in (("train", splits.train), ("val", splits.val))}


def frozen_head(kind: str, image_model, audio_model, splits, modality_dropout: float = 0.0,
                seed: int = config.SEED, retrain: bool | None = None, embeddings=None) -> nn.Module:
    """An :class:`~fusion.IntermediateFusion` (``kind="concat"``) or :class:`~fusion.GatedFusion`
    (``"gated"``) head on the frozen encoders of two trained unimodal classifiers.

    The head trains on the encoders' outputs for ``splits.train`` (validation picks the epoch) and
    is itself cached; the returned model takes ``(images, audio)`` like any other. ``embeddings``:
    a function returning :func:`split_embeddings` (called only when the head must train), so
    that several heads share one encoding pass.
    """
    cls = {"concat": fusion.IntermediateFusion, "gated": fusion.GatedFusion}[kind]
    enc_i, enc_a = image_model.encoder, audio_model.encoder
    head = cls(_Given(enc_i.embed_dim, "image"), _Given(enc_a.embed_dim, "audio"),
               modality_dropout=modality_dropout)
    spec = {"head": kind, "p": modality_dropout, "seed": seed, "fit": HEAD_FIT, "v": HEAD_VERSION,
            "members": [getattr(image_model, "cache_key", ""), getattr(audio_model, "cache_key", "")],
            "train": splits.train.fingerprint, "val": splits.val.fingerprint}
    path = config.cache_dir() / "models" / f"head_{kind}-{cache.key(spec)}.pt"
    retrain = config.force_retrain() if retrain is None else retrain
    if path.is_file() and not retrain:
        head.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        emb = embeddings() if embeddings else split_embeddings(image_model, audio_model, splits)
        _fit_head(head, emb["train"], splits.train.labels, emb["val"], splits.val.labels, seed=seed, **HEAD_FIT)
        train.save_atomic(path, head.state_dict())
    head.image_encoder, head.audio_encoder = FrozenEncoder(enc_i), FrozenEncoder(enc_a)
    return head.to(config.device()).eval()
