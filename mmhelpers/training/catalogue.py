"""The model catalogue: every named model of the series, one entry each; :func:`trained`.

An entry says how to build the model, what it is built on (the trained members of a
fusion) and how it trains; its training settings are the recipe of the same name
(:data:`~mmhelpers.training.recipes.RECIPES`). ``trained(name, data, seed)`` returns the
model trained, or loaded when this exact run was done before, by the one train-or-load:

    notebook -> trained (here) -> train_or_load -> fit -> the cache

A fusion of frozen members first gets its members, ``trained`` with the same seed, then
trains only its own weights
(:func:`~mmhelpers.training.frozen_members.train_on_frozen_members`, which ends in the
same train-or-load). A lesson that teaches a model builds it in view and passes it to
``train_or_load`` itself; it lands in the same cached run as ``trained(name, ...)``.

Adding a model: its class (:mod:`mmhelpers.models`), one entry here, one recipe row.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..data.paired import PairedData
from ..data.splits import Splits
from ..models.alignment import AlignmentModel
from ..models.classifier import UnimodalClassifier
from ..models.cross_attention import AudioFrames, CrossAttentionFusion, ImagePositions
from ..models.encoders import ImageEncoder, LogMelEncoder, RawAudioEncoder
from ..models.frozen import FrozenEncoder
from ..models.fusion import EarlyFusion, GatedFusion, IntermediateFusion
from ..models.generative import BimodalAutoencoder, MultimodalVAE
from ..models.late_fusion import LateFusion
from ..models.relevance import RelevanceFusion, RelevanceLoss
from ..models.tensor_fusion import LowRankFusion, TensorFusion
from .checkpoints import train_or_load
from .contrastive import ContrastiveLoss
from .frozen_members import train_on_frozen_members
from .generative import BimodalAELoss, MMVAELoss, MVAELoss
from .recipes import RECIPES
from .trainer import History, classification_loss

#: how an entry trains
HOW = {"plain": "the whole network, on the labels",
       "frozen members": "only the fusion's own weights, on its frozen members",
       "contrastive": "the whole network, on the pairs alone (no labels)",
       "generative": "the whole network, reconstructing the pairs (no labels)"}


@dataclass(frozen=True)
class Entry:
    """``build(*members, **options)``: the untrained model. ``members``: the catalogue
    names of the trained models it is built on. ``loss(**options)``: its training loss
    (default cross-entropy). ``how``: a key of :data:`HOW`."""

    build: Callable[..., nn.Module]
    how: str = "plain"
    members: tuple[str, ...] = ()
    loss: Callable[..., Callable] | None = None


def frozen(image_model: nn.Module, audio_model: nn.Module) -> tuple:
    """The encoders of two trained unimodal models, frozen."""
    return FrozenEncoder(image_model.encoder), FrozenEncoder(audio_model.encoder)


#: the trained members of every fusion: 1a's image model and 1b's log-mel audio model
MEMBERS = ("image", "audio_mel")
FROZEN = "frozen members"

CATALOGUE = {
    "image": Entry(lambda: UnimodalClassifier(ImageEncoder(), "image")),
    "audio_mel": Entry(lambda: UnimodalClassifier(LogMelEncoder(), "audio")),
    "audio_raw": Entry(lambda: UnimodalClassifier(RawAudioEncoder(), "audio")),
    "early": Entry(EarlyFusion),
    "intermediate_e2e": Entry(lambda: IntermediateFusion(ImageEncoder(), LogMelEncoder())),
    "intermediate": Entry(
        lambda img, aud, modality_dropout=0.0: IntermediateFusion(
            *frozen(img, aud), modality_dropout=modality_dropout), FROZEN, MEMBERS),
    "gated": Entry(lambda img, aud: GatedFusion(*frozen(img, aud)), FROZEN, MEMBERS),
    "late": Entry(lambda img, aud: LateFusion(img, aud, freeze_members=True),
                  FROZEN, MEMBERS),
    "tensor": Entry(lambda img, aud: TensorFusion(*frozen(img, aud)), FROZEN, MEMBERS),
    "low_rank": Entry(
        lambda img, aud, rank=4: LowRankFusion(*frozen(img, aud), rank=rank),
        FROZEN, MEMBERS),
    "relevance": Entry(
        lambda img, aud, centred=False: RelevanceFusion(*frozen(img, aud),
                                                        centred=centred),
        FROZEN, MEMBERS, loss=lambda p=2: RelevanceLoss(p=p)),
    "contrastive": Entry(
        AlignmentModel, "contrastive",
        loss=lambda loss="nt_xent", tau=0.1: ContrastiveLoss(loss, float(tau))),
    "mvae": Entry(lambda: MultimodalVAE("poe"), "generative", loss=MVAELoss),
    "mmvae": Entry(lambda: MultimodalVAE("moe"), "generative", loss=MMVAELoss),
    "bimodal_ae": Entry(BimodalAutoencoder, "generative", loss=BimodalAELoss),
    "cross_attention": Entry(
        lambda img, aud: CrossAttentionFusion(
            FrozenEncoder(ImagePositions(img.encoder)),
            FrozenEncoder(AudioFrames(aud.encoder))), FROZEN, MEMBERS),
}


def _split_options(name: str, entry: Entry, options: dict) -> tuple[dict, dict]:
    """``options`` divided between ``entry.build`` and ``entry.loss``, by the names each
    takes."""
    def accepted(f):
        return set(inspect.signature(f).parameters) if f is not None else set()

    build_names, loss_names = accepted(entry.build), accepted(entry.loss)
    unknown = sorted(set(options) - build_names - loss_names)
    if unknown:
        known = sorted((build_names | loss_names) - {"img", "aud"})
        raise TypeError(f"trained({name!r}): unknown option(s) {unknown}; "
                        f"this model takes {known}")
    return ({k: v for k, v in options.items() if k in build_names},
            {k: v for k, v in options.items() if k in loss_names})


def entry(name: str) -> Entry:
    if name not in CATALOGUE:
        raise KeyError(f"no model named {name!r} in the catalogue; "
                       f"known: {sorted(CATALOGUE)}")
    return CATALOGUE[name]


def build(name: str, *members: nn.Module, **options) -> nn.Module:
    """The untrained model ``name`` (on ``members``: a fusion's trained members)."""
    build_options, _ = _split_options(name, entry(name), options)
    return entry(name).build(*members, **build_options)


def trained(name: str, data: Splits | PairedData, seed: int | None = None, *,
            members: tuple[nn.Module, ...] | None = None, recipe=None,
            test_curve: bool | None = None, retrain: bool | None = None,
            progress: bool = True, **options) -> tuple[nn.Module, History]:
    """``(model, history)``: the catalogue's model ``name`` trained on ``data`` with
    its recipe and ``seed``, or loaded from the cache. ``options`` go to its constructor
    or its loss (``trained("low_rank", splits, rank=8)``). A fusion of frozen members is
    built on ``members`` when given, else on its members ``trained`` with the same
    seed."""
    spec = entry(name)
    build_options, loss_options = _split_options(name, spec, options)
    loss = classification_loss if spec.loss is None else spec.loss(**loss_options)
    settings = dict(recipe=recipe or RECIPES[name], seed=seed, loss=loss,
                    test_curve=test_curve, retrain=retrain, progress=progress)
    if not spec.members:  # trained whole: plain, contrastive or generative
        return train_or_load(name, lambda: spec.build(**build_options), data,
                             **settings)
    if members is None:
        members = tuple(trained(m, data, seed, progress=progress)[0]
                        for m in spec.members)
    return train_on_frozen_members(
        name, lambda: spec.build(*members, **build_options), data, **settings)
