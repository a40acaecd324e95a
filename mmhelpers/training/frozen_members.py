"""Fusing trained models that stay frozen: encode once, then train only the fusion's own weights.

A fusion whose members are frozen (``IntermediateFusion(FrozenEncoder(...), FrozenEncoder(...))``,
``LateFusion(image_model, audio_model, freeze_members=True)``) sees the same member outputs in
every epoch. :func:`train_on_frozen_members` therefore runs the two trained encoders over each
split once (stored, :mod:`mmhelpers.cache.results`), turns their outputs into what the fusion's
``fuse`` takes (``from_encodings``: the embeddings themselves, or the members' logits for late
fusion), and trains :class:`~mmhelpers.models.frozen.FuseOutputs` on them with the ordinary
train-or-load: seconds instead of an epoch of both networks per step.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..cache.fingerprint import fingerprint_or_none
from ..cache.results import compute_or_load
from ..data.paired import PairedData, PairedLoader
from ..data.splits import Splits
from ..features.precompute import for_model
from ..models.frozen import FuseOutputs
from .checkpoints import train_or_load
from .recipes import Recipe
from .trainer import History, classification_loss


def train_on_frozen_members(name: str, make_fusion: Callable[[], torch.nn.Module],
                            splits: Splits, *, recipe: Recipe | None = None,
                            seed: int | None = None,
                            loss: Callable = classification_loss,
                            test_curve: bool | None = None, retrain: bool | None = None,
                            progress: bool = True) -> tuple[torch.nn.Module, History]:
    """``(fusion model, history)``: ``make_fusion()`` (a fusion of frozen trained
    members) with only its own weights trained, on the members' outputs computed once
    per split. The arguments are those of
    :func:`~mmhelpers.training.checkpoints.train_or_load`, whose cache it uses."""
    fusion = make_fusion()
    outputs = Splits(*(member_outputs(fusion, d) for d in splits))
    # the fusion's own weights are initialised inside train_or_load, after it seeds
    wrapper, history = train_or_load(
        name, lambda: FuseOutputs(make_fusion()), outputs, recipe=recipe, seed=seed,
        loss=loss, test_curve=test_curve, retrain=retrain, progress=progress)
    return wrapper.model.eval(), history


def member_outputs(model, data: PairedData) -> PairedData:
    """The pairs of ``data`` as a fusion model with frozen members sees them: what its ``fuse``
    takes (``model.from_encodings`` of the members' encodings) in place of the images and the
    audio. Identified, by the outputs themselves, when ``data`` is.

    The encodings come from one stored pass of the two encoders (:func:`encoder_outputs`), shared
    by every fusion of the same members: late fusion's logits are the members' heads applied to them."""
    e_img, e_aud = encoder_outputs(model, data)
    with torch.inference_mode():
        a, b = model.from_encodings(torch.from_numpy(e_img), torch.from_numpy(e_aud))
    fp = fingerprint_or_none({"data": data, "member outputs": [a, b]}) or ""
    return PairedData(a, b, data.labels, data.meta, data.has_labels, data.name, fp, "member outputs")


def encoder_outputs(model, data: PairedData):
    """``(image_encoder(images), audio_encoder(audio))`` for every pair of ``data`` and the two
    encoders of ``model.member_encoders()``, as numpy arrays, in eval mode; computed once and stored.
    When the fusion model can take precomputed log-mel features, they are used."""
    encoders = model.member_encoders()
    modes = [e.training for e in encoders]
    for e in encoders:
        e.eval()
    try:
        spec = {"encoders": list(encoders), "data": data}
        return compute_or_load("embeddings", spec, lambda: _encode(encoders, for_model(model, data)[0]))
    finally:
        for e, mode in zip(encoders, modes):
            e.train(mode)


@torch.inference_mode()
def _encode(encoders, data: PairedData, batch_size: int = 256):
    device = next(encoders[0].parameters()).device
    outs = [[enc(x.to(device)).float().cpu() for enc, x in zip(encoders, (images, audio))]
            for images, audio, _ in PairedLoader(data, batch_size, shuffle=False)]
    return tuple(torch.cat(o).numpy() for o in zip(*outs))
