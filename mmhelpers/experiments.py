"""The recipes: which data, which model, which training settings, for every notebook.

One table (``RECIPES``) holds the hyper-parameters of every model in the series, so that
notebooks 1a-1f and 3a train (or load) exactly the same models and share their caches. The
settings were chosen on the *validation* split (see the README's notes); quick mode only cuts
epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import cache, config, fusion, models, precompute, train
from .data import PairedData, PairedLoader, load_pairs

#: epochs (full, quick), batch size and peak learning rate per model. Chosen on the validation
#: split, trading accuracy against minutes on a 2-core CPU. The fusion models "intermediate",
#: "gated" and "late" fuse the trained unimodal models (pass ``image_model=``, ``audio_model=``),
#: which stay frozen: only the fusion trains, on the members' outputs computed once (seconds).
#: On frozen encoders, validation accuracy (mean of 3 seeds, batch 256): intermediate 10 / 20 / 30
#: epochs at lr 3e-3 99.16 / 99.31 / 99.33% (at 1e-3: 99.02 / 99.21 / 99.27%), gated 98.86 / 99.09 /
#: 99.16%. Fine-tuning everything instead (warm start, 2 epochs, lr 1e-3) reached 98.94% at ~20 s
#: a seed, against ~2 s for the head.
#: Unimodal epochs, by the late fusion's validation accuracy (mean of 3 seeds): image 5 / audio 5
#: epochs 99.41%, 8 / 5 99.51%, 8 / 8 99.52%, 8 / 10 99.54% (two more audio epochs for +0.02: no).
RECIPES = {
    "image":        dict(epochs=(8, 2), batch_size=128, lr=3e-3),
    "audio_mel":    dict(epochs=(8, 2), batch_size=128, lr=3e-3),
    "audio_raw":    dict(epochs=(4, 2), batch_size=128, lr=3e-3),
    "intermediate": dict(epochs=(20, 3), batch_size=256, lr=3e-3),  # on the members' embeddings: seconds
    "gated":        dict(epochs=(30, 3), batch_size=256, lr=3e-3),  # on the members' embeddings: seconds
    "early":        dict(epochs=(2, 1), batch_size=128, lr=3e-3),
    "late":         dict(epochs=(10, 2), batch_size=256, lr=5e-2),   # on the members' logits: seconds
}
#: models that fuse trained unimodal models; given them, they keep them frozen by default
FUSE_TRAINED = ("intermediate", "gated", "late")
SEEDS = (0, 1, 2)
VAL_FRACTION = 0.2


@dataclass
class Splits:
    """Train / validation (from the training data, fixed seed) / test pairs."""

    train: PairedData
    val: PairedData
    test: PairedData

    def __iter__(self):
        return iter((self.train, self.val, self.test))

    def summary(self) -> str:
        return "\n".join(d.summary() for d in self)


def load_splits(quick: bool | None = None, source=None) -> Splits:
    """The course's train data split 80/20 (stratified, seed fixed) into train/validation, plus test.

    The two parts are written once to the cache and memory-mapped from there (:func:`_selection`):
    notebooks running at the same time share one copy of them instead of holding one each.
    """
    full = load_pairs("train", source=source, quick=quick)
    tr, va = (_selection(full, idx) for idx in full.split_indices(VAL_FRACTION, seed=config.SEED))
    tr.name, va.name = f"{full.name} (train part)", f"{full.name} (validation part)"
    return Splits(tr, va, load_pairs("test", source=source, quick=quick))


def _selection(data: PairedData, idx) -> PairedData:
    """``data[idx]``, its tensors memory-mapped (copy-on-write) from ``<cache>/selections``."""
    import numpy as np

    fp = data.selection_fingerprint(idx)
    if not fp:
        return data[idx]
    idx = np.asarray(idx)

    def build():
        part = data[idx]
        return {"images": part.images.numpy(), "audio": part.audio.numpy(), "labels": part.labels.numpy()}

    arrays = cache.read_or_build(config.cache_dir() / "selections" / fp, build,
                                 {"of": data.fingerprint, "pairs": len(idx)})
    meta = {k: v[idx] for k, v in data.meta.items()}
    return PairedData(torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["audio"]),
                      torch.from_numpy(arrays["labels"]), meta, data.has_labels, data.name, fp)


def seeds(quick: bool | None = None) -> tuple[int, ...]:
    """The seeds averaged over in comparisons: three in full mode, one in quick mode."""
    return SEEDS[:1] if config.is_quick(quick) else SEEDS


def get_model(name: str, splits: Splits, seed: int = config.SEED, quick: bool | None = None,
              retrain: bool | None = None, progress: bool = True, test_curve: bool | None = None,
              **model_kwargs):
    """Train-or-load model ``name`` of :data:`RECIPES` on ``splits``; returns ``(model, history)``.

    ``test_curve``: evaluate the test split after every epoch, as the exam's curves need. By
    default only for the first of :data:`SEEDS`, the runs whose curves the notebooks plot; the
    other seeds are scored on the test split once, after training (:func:`evaluate.predict`),
    which saves a test pass per epoch. Validation is evaluated every epoch either way.

    For the fusions of :data:`FUSE_TRAINED` pass the trained unimodal models as ``image_model=``
    and ``audio_model=``; they stay frozen (``freeze_members=False`` fine-tunes copies of them
    instead) and only the fusion trains, on the members' outputs computed once
    (:func:`member_outputs`). Either way the members' cache keys become part of this model's key.
    """
    if name not in RECIPES:
        raise ValueError(f"get_model: unknown model {name!r}; expected one of {sorted(RECIPES)}")
    members = {k: v for k, v in model_kwargs.items() if isinstance(v, torch.nn.Module)}
    if name in FUSE_TRAINED and (members or name == "late"):
        model_kwargs.setdefault("freeze_members", True)   # fuse trained models; only the fusion trains
    recipe = dict(RECIPES[name])
    epochs = recipe.pop("epochs")[1 if config.is_quick(quick) else 0]
    spec = {"model": name, "kwargs": {k: v for k, v in model_kwargs.items() if not isinstance(v, torch.nn.Module)}}
    spec["members"] = {k: getattr(v, "cache_key", "") for k, v in members.items()}
    if test_curve is None:
        test_curve = seed == SEEDS[0]

    if model_kwargs.get("freeze_members"):
        outputs = [member_outputs(models.build(name, **model_kwargs), d) for d in (splits.train, splits.val, splits.test)]
        # the fusion's own weights are initialised inside train_or_load, after it seeds
        wrapper, history = train.train_or_load(name, lambda: fusion.FuseOutputs(models.build(name, **model_kwargs)),
                                               outputs[0], outputs[1], outputs[2] if test_curve else None,
                                               spec=spec, retrain=retrain, epochs=epochs, seed=seed,
                                               progress=progress, **recipe)
        wrapper.model.cache_key = history.key
        return wrapper.model.eval(), history
    # a log-mel front end has nothing to learn: compute it once per split, not every batch
    train_, val_, test_ = precompute.for_model(models.build(name, **model_kwargs), *splits)

    def normalise(model):  # statistics of the training split; a cached state already holds them
        models.fit_normalisation(model, train_.images, train_.audio)

    model, history = train.train_or_load(name, lambda: models.build(name, **model_kwargs), train_, val_,
                                         test_ if test_curve else None,
                                         spec=spec, retrain=retrain, prepare=normalise,
                                         epochs=epochs, seed=seed, progress=progress, **recipe)
    model.cache_key = history.key
    return model, history


def member_outputs(model, data: PairedData) -> PairedData:
    """The pairs of ``data`` as a fusion model with frozen members sees them: the members' outputs
    (``model.member_outputs``: logits for late fusion, embeddings otherwise) in place of the images
    and the audio, the input of :class:`fusion.FuseOutputs`. Identified when ``data`` and both
    members are.

    Both kinds come from one stored pass of the two encoders (:func:`encoder_outputs`): a
    unimodal classifier's logits are its ``head`` applied to its encoder's output, so late and
    intermediate fusion of the same members share it."""
    from .memo import model_fingerprint

    if isinstance(model, fusion.LateFusion):
        pair = (model.image_model, model.audio_model)
        members = [model_fingerprint(m) for m in pair]
        if all(isinstance(m, models.UnimodalClassifier) for m in pair):
            e_img, e_aud = encoder_outputs(model, (pair[0].encoder, pair[1].encoder), data)
            with torch.inference_mode():
                a, b = (m.head(torch.from_numpy(e)).numpy() for m, e in zip(pair, (e_img, e_aud)))
        else:
            from .evaluate import predict

            a, b = (predict(m, data).logits for m in pair)
        kind = "logits"
    else:
        members = [model_fingerprint(_unwrapped(e)) for e in (model.image_encoder, model.audio_encoder)]
        a, b = encoder_outputs(model, (model.image_encoder, model.audio_encoder), data)
        kind = "embeddings"
    fp = cache.key({f"{kind}_of": data.fingerprint, "members": members}) if data.fingerprint and all(members) else ""
    return PairedData(torch.from_numpy(a), torch.from_numpy(b), data.labels, data.meta, data.has_labels,
                      data.name, fp, f"member {kind}")


def encoder_outputs(model, encoders, data: PairedData):
    """``(image_encoder(images), audio_encoder(audio))`` for every pair of ``data``, as numpy arrays,
    in eval mode; computed once and stored (:mod:`mmhelpers.memo`). ``model`` is the fusion model
    that holds the encoders: when it can take precomputed log-mel features, they are used."""
    from .memo import memo, model_fingerprint

    inner = [_unwrapped(e) for e in encoders]
    modes = [e.training for e in inner]
    for e in inner:
        e.eval()
    try:
        spec = {"encoders": [model_fingerprint(e) for e in inner], "data": data.fingerprint, "n": len(data)}
        return memo("embeddings", spec, lambda: _encode(inner, precompute.for_model(model, data)[0]))
    finally:
        for e, mode in zip(inner, modes):
            e.train(mode)


def _unwrapped(encoder):
    """The encoder inside a :class:`fusion.FrozenEncoder` (whose own train/eval flag follows the
    fusion model's and must not change what identifies the encoder), or ``encoder`` itself."""
    return encoder.encoder if isinstance(encoder, fusion.FrozenEncoder) else encoder


@torch.inference_mode()
def _encode(encoders, data: PairedData, batch_size: int = 1024):
    device = next(encoders[0].parameters()).device
    outs = [[enc(x.to(device)).float().cpu() for enc, x in zip(encoders, (images, audio))]
            for images, audio, _ in PairedLoader(data, batch_size, shuffle=False)]
    return tuple(torch.cat(o).numpy() for o in zip(*outs))


def oracle_view(image_pred, audio_pred, data: PairedData):
    """The "oracle view" reference: per pair, the unimodal model's answer for the cleaner modality
    (the lower recorded noise severity; ties go to the image). Needs ``meta["image_noise"]``."""
    import numpy as np

    from .evaluate import Predictions

    if "image_noise" not in data.meta:
        raise ValueError("oracle_view needs per-pair noise severities (embedded dataset); the course files have none")
    use_image = data.meta["image_noise"] <= data.meta["audio_noise"]
    probs = np.where(use_image[:, None], image_pred.probs, audio_pred.probs)
    return Predictions(np.log(np.clip(probs, 1e-12, 1)), probs, probs.argmax(1), image_pred.labels)


def seed_table(preds_by_seed: dict, data: PairedData):
    """Mean and std over seeds of :func:`evaluate.summary`; ``preds_by_seed[seed][model] = Predictions``."""
    import pandas as pd

    from . import evaluate

    tables = [evaluate.summary(p, data) for p in preds_by_seed.values()]
    stacked = pd.concat(tables, keys=list(preds_by_seed), names=["seed", "model"])
    mean = stacked.groupby(level="model", sort=False).mean()
    std = stacked.groupby(level="model", sort=False).std(ddof=0).fillna(0.0)
    return mean.round(2), std.round(2)
