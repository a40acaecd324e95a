"""The model catalogue: one entry per named model, in step with the recipes, and the one
``trained`` call that lands in the same cached run as a lesson's own train-or-load."""

import dataclasses

import pytest
import torch

from mmhelpers.data.splits import Splits
from mmhelpers.models.classifier import UnimodalClassifier
from mmhelpers.models.encoders import ImageEncoder
from mmhelpers.models.fusion import IntermediateFusion
from mmhelpers.models.relevance import RelevanceFusion, RelevanceLoss
from mmhelpers.models.tensor_fusion import LowRankFusion
from mmhelpers.training import catalogue
from mmhelpers.training.checkpoints import train_or_load
from mmhelpers.training.frozen_members import train_on_frozen_members
from mmhelpers.training.recipes import RECIPES, Recipe
from test_train import toy_pairs

TINY = Recipe(epochs=(1, 1), batch_size=64, lr=1e-3)


def test_every_catalogue_name_has_a_recipe_and_every_recipe_an_entry():
    assert set(catalogue.CATALOGUE) == set(RECIPES), (
        f"without a recipe: {sorted(set(catalogue.CATALOGUE) - set(RECIPES))}; "
        f"without an entry: {sorted(set(RECIPES) - set(catalogue.CATALOGUE))}")
    for name, spec in catalogue.CATALOGUE.items():
        assert spec.how in catalogue.HOW, name
        assert set(spec.members) <= set(catalogue.CATALOGUE), name
        assert (spec.how == "frozen members") == bool(spec.members), name


def test_every_entry_builds_with_its_default_options():
    members = [catalogue.build(m) for m in catalogue.MEMBERS]
    for name, spec in catalogue.CATALOGUE.items():
        model = catalogue.build(name, *(members if spec.members else ()))
        assert isinstance(model, torch.nn.Module), name


def test_options_reach_the_constructor_or_the_loss_and_unknown_ones_are_refused():
    img, aud = (catalogue.build(m) for m in catalogue.MEMBERS)
    assert catalogue.build("low_rank", img, aud, rank=8).rank == 8
    assert isinstance(catalogue.build("relevance", img, aud, centred=True), RelevanceFusion)
    assert catalogue.entry("relevance").loss(p=4) == RelevanceLoss(p=4)
    with pytest.raises(TypeError, match="unknown option.*'rnak'.*rank"):
        catalogue.build("low_rank", img, aud, rnak=8)
    with pytest.raises(KeyError, match="no model named 'imgae'"):
        catalogue.trained("imgae", toy_pairs())


def test_trained_is_the_lessons_own_train_or_load(one_thread_tmp_cache):
    """A lesson builds the image model in view and trains it; the catalogue's call is the same
    cached run (same key, same weights), and a fusion gets its members from the catalogue."""
    splits = Splits(toy_pairs(), toy_pairs(100, 1), toy_pairs(100, 2))
    recipes = {n: dataclasses.replace(RECIPES[n], epochs=(1, 1), batch_size=64) for n in RECIPES}
    lesson, lesson_hist = train_or_load("image", lambda: UnimodalClassifier(ImageEncoder(), "image"),
                                        splits, recipe=recipes["image"], seed=3, progress=False)
    model, hist = catalogue.trained("image", splits, 3, recipe=recipes["image"], progress=False)
    assert hist.loaded and hist.key == lesson_hist.key
    assert all(torch.equal(a, b) for a, b in zip(lesson.state_dict().values(), model.state_dict().values()))

    aud, _ = catalogue.trained("audio_mel", splits, 3, recipe=recipes["audio_mel"], progress=False)
    fusion, fusion_hist = train_on_frozen_members(
        "low_rank", lambda: LowRankFusion(*catalogue.frozen(lesson, aud), rank=2), splits,
        recipe=recipes["low_rank"], seed=3, progress=False)
    again, again_hist = catalogue.trained("low_rank", splits, 3, members=(model, aud), rank=2,
                                          recipe=recipes["low_rank"], progress=False)
    assert again_hist.loaded and again_hist.key == fusion_hist.key
    assert isinstance(again, LowRankFusion) and again.rank == 2


def test_a_fusion_trains_its_members_with_its_own_seed(one_thread_tmp_cache, monkeypatch):
    splits = Splits(toy_pairs(), toy_pairs(100, 1), toy_pairs(100, 2))
    small = {n: dataclasses.replace(RECIPES[n], epochs=(1, 1), batch_size=64) for n in RECIPES}
    monkeypatch.setattr(catalogue, "RECIPES", small)
    calls = []
    real = catalogue.trained

    def spy(name, data, seed=None, **kw):
        calls.append((name, seed))
        return real(name, data, seed, **kw)

    monkeypatch.setattr(catalogue, "trained", spy)
    model, _ = catalogue.trained("intermediate", splits, 5, modality_dropout=0.3, progress=False)
    assert calls == [("intermediate", 5), ("image", 5), ("audio_mel", 5)]
    assert isinstance(model, IntermediateFusion) and model.modality_dropout == 0.3
