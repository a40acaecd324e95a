"""Train-or-load: one function that returns a trained model, from the cache when this exact run was
done before, else trained by :func:`~mmhelpers.training.trainer.fit` (then cached).

The cache key is the :func:`~mmhelpers.cache.fingerprint.fingerprint` of everything the result
depends on: the freshly built network (its class, structure and initial weights, which also
identify any trained members inside it), the recipe, the seed, the loss, and the data. A changed
network or setting therefore gets a new key; a cached file that does not fit the network exactly is
trained again, never half-loaded; data built by hand (no fingerprint) is trained every time and
never cached.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from .. import config
from ..cache.files import save_torch
from ..cache.fingerprint import fingerprint_or_none
from ..data.paired import PairedData
from ..data.splits import Splits
from ..features.precompute import for_model
from ..models.classifier import fit_normalisation
from .recipes import RECIPES, Recipe, seeds
from .trainer import History, classification_loss, fit

TRAINER_VERSION = 2


def load_checkpoint(path: Path, model: torch.nn.Module) -> dict:
    """The dict saved at ``path``, its ``state_dict`` loaded into ``model``.

    Raises, leaving ``model`` untouched, when the file is unreadable or its weights do not fit
    ``model`` exactly (every name, every shape). ``load_state_dict`` alone copies every tensor
    that fits before it raises, and a caller that then trains again would train on from them.
    """
    blob = torch.load(path, map_location="cpu", weights_only=True)
    state, own = blob["state_dict"], model.state_dict()
    if set(state) != set(own) or any(tuple(state[k].shape) != tuple(v.shape) for k, v in own.items()):
        raise ValueError(f"{path.name}: its weights do not fit {type(model).__name__}")
    model.load_state_dict(state)
    return blob


def model_path(name: str, key: str) -> Path:
    """Where the weights and history of model ``name`` under cache key ``key`` are stored."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return config.cache_dir() / "models" / f"{safe}-{key}.pt"


def train_or_load(name: str, make_model: Callable[[], torch.nn.Module], data: Splits | PairedData, *,
                  recipe: Recipe | None = None, seed: int | None = None, loss: Callable = classification_loss,
                  test_curve: bool | None = None, retrain: bool | None = None,
                  progress: bool = True) -> tuple[torch.nn.Module, History]:
    """``(model, history)`` for ``make_model()`` trained on ``data`` with ``recipe`` (default
    ``RECIPES[name]``) and ``seed``: from the cache, or trained and then cached.

    ``data``: a :class:`~mmhelpers.data.splits.Splits` (the best validation epoch is kept), or one
    :class:`PairedData` to train on without validation (the last epoch is kept). ``make_model`` is
    called right after seeding, so the initial weights follow ``seed``. Before training, a log-mel
    front end is computed once per split (:func:`~mmhelpers.features.precompute.for_model`) and
    every input normalisation not yet fitted is fitted on the training split.
    ``test_curve``: evaluate the test split after every epoch, for the curves the exercise asks
    for; by default only for the first of :func:`~mmhelpers.training.recipes.seeds`.
    ``retrain=True`` (or ``MM_RETRAIN=1``) trains even when a cached run exists, and replaces it.
    """
    seed = config.training_seed() if seed is None else seed
    recipe = recipe or RECIPES[name]
    train, val, test = (data.train, data.val, data.test) if isinstance(data, Splits) else (data, None, None)
    if test_curve is None:
        test_curve = seed == seeds()[0]
    test = test if test_curve else None
    config.seed_everything(seed)
    model = make_model()
    settings = dict(asdict(recipe), epochs=recipe.current_epochs())
    key = fingerprint_or_none({"name": name, "model": model, "recipe": settings, "seed": seed,
                               "loss": loss.__qualname__ if inspect.isfunction(loss) else repr(loss),
                               "trainer": TRAINER_VERSION,
                               "data": [d for d in (train, val, test) if d is not None],
                               "splits": [d is not None for d in (val, test)]})
    path = model_path(name, key) if key else None
    retrain = config.force_retrain() if retrain is None else retrain
    if path is not None and path.is_file() and not retrain:
        try:
            blob = load_checkpoint(path, model)
            history = History(**blob["history"])
            history.loaded, history.key = True, path.stem
            return model.to(config.device()).eval(), history
        except Exception as exc:  # corrupt or incompatible (model untouched): train again
            print(f"cached model {path.name} unusable ({type(exc).__name__}); training again")
    splits = [d for d in (train, val, test) if d is not None]
    inputs = iter(for_model(model, *splits))  # log-mel spectrograms once, not every epoch
    train, val, test = (next(inputs) if d is not None else None for d in (train, val, test))
    fit_normalisation(model, train.images, train.audio, refit=False)
    history = fit(model, train, val, test, loss=loss, epochs=settings["epochs"], batch_size=recipe.batch_size,
                  lr=recipe.lr, drop_last=recipe.drop_last, seed=seed, progress=progress, name=name)
    if path is not None:
        history.key = path.stem
        save_torch(path, {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                          "history": asdict(history)})
    return model, history
