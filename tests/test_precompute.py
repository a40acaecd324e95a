"""Precomputed inputs: log-mel features computed once per split, late fusion trained on its
members' logits. Both must give the same model as training on the raw inputs."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from mmhelpers import config
from mmhelpers.data import DataError, PairedData
from mmhelpers.data.splits import Splits
from mmhelpers.features import precompute
from mmhelpers.features.inputs import MelInput
from mmhelpers.models.classifier import UnimodalClassifier, fit_normalisation
from mmhelpers.models.encoders import ImageEncoder, LogMelEncoder, RawAudioEncoder
from mmhelpers.models.frozen import FrozenEncoder, FuseOutputs
from mmhelpers.models.fusion import EarlyFusion, IntermediateFusion
from mmhelpers.models.late_fusion import LateFusion
from mmhelpers.training import checkpoints
from mmhelpers.training import trainer as train
from mmhelpers.training.checkpoints import train_or_load
from mmhelpers.training.frozen_members import train_on_frozen_members
from mmhelpers.training.recipes import RECIPES, seeds

UNIMODAL = {"image": lambda: UnimodalClassifier(ImageEncoder(), "image"),
            "audio_mel": lambda: UnimodalClassifier(LogMelEncoder(), "audio"),
            "audio_raw": lambda: UnimodalClassifier(RawAudioEncoder(), "audio")}


def fused(name, img, aud, frozen=True):
    """The fusion ``name`` of two unimodal classifiers, their parts frozen or not."""
    if name == "late":
        return LateFusion(img, aud, freeze_members=frozen)
    wrap = FrozenEncoder if frozen else (lambda e: e)
    return IntermediateFusion(wrap(img.encoder), wrap(aud.encoder))


def quick(name):
    """The recipe ``name`` with its quick-mode epochs, whatever MM_QUICK says."""
    return replace(RECIPES[name], epochs=(RECIPES[name].epochs[1],) * 2)


@pytest.fixture(autouse=True)
def _isolated(one_thread_tmp_cache):  # tests/conftest.py: a private cache folder, one thread
    torch.manual_seed(0)


def pairs(n=40, seed=0, fingerprint="pairs"):
    """Labels readable from the image brightness and from the audio's loudness pattern."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = (labels.float() / 10).view(n, 1, 1, 1).expand(n, 1, 28, 28) + 0.01 * torch.randn(n, 1, 28, 28, generator=g)
    t = torch.arange(8000) / 8000
    audio = torch.sin(2 * torch.pi * (200 + 150 * labels.float()).view(n, 1, 1) * t) + 0.05 * torch.randn(n, 1, 8000, generator=g)
    return PairedData(images.contiguous(), audio, labels, {"scenario": np.array(["both_mild"] * n)},
                      fingerprint=f"{fingerprint}{seed}-{n}" if fingerprint else "")


def test_mel_input_takes_its_own_features_and_rejects_other_shapes():
    front = MelInput(n_mels=32, hop=128).fit_normalisation(pairs().audio)
    audio = pairs(8, seed=1).audio
    feats = front.features(audio)
    assert feats.shape == (8, *front.feature_shape) == (8, 1, 32, 63)
    assert torch.equal(front(feats), front(audio))
    with pytest.raises(ValueError, match=r"\(B, 1, 32, 63\)"):
        front(torch.zeros(8, 1, 28, 28))
    again = MelInput(n_mels=32, hop=128).fit_normalisation(feats)  # statistics from features = from audio
    assert torch.allclose(again.norm.mean, MelInput(n_mels=32, hop=128).fit_normalisation(audio).norm.mean)


@pytest.mark.parametrize("make,has_front", [
    (UNIMODAL["audio_mel"], True), (UNIMODAL["audio_raw"], False), (UNIMODAL["image"], False), (EarlyFusion, True),
    (lambda: IntermediateFusion(ImageEncoder(), LogMelEncoder()), True),
    (lambda: IntermediateFusion(ImageEncoder(), RawAudioEncoder()), False)])
def test_mel_front_end_only_where_the_audio_goes_through_one(make, has_front):
    assert (precompute.mel_front_end(make()) is not None) == has_front


def test_for_model_gives_the_same_outputs_and_caches_identified_data_only():
    model = IntermediateFusion(ImageEncoder(), LogMelEncoder()).eval()
    data = pairs(20)
    (feat,) = precompute.for_model(model, data)
    assert feat.features.startswith("log-mel 32 bands") and feat.fingerprint not in ("", data.fingerprint)
    assert feat.images is data.images and torch.equal(feat.labels, data.labels)
    with torch.no_grad():
        assert torch.allclose(model(feat.images, feat.audio), model(data.images, data.audio), atol=1e-5)
    folder = config.cache_dir() / "features" / feat.fingerprint
    assert folder.is_dir()
    (again,) = precompute.for_model(model, data)   # read back from the cache, memory-mapped
    assert torch.equal(again.audio, feat.audio)
    (anonymous,) = precompute.for_model(model, pairs(20, fingerprint=""))
    assert anonymous.features and anonymous.fingerprint == ""
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
    raw = UNIMODAL["audio_raw"]()
    assert precompute.for_model(raw, data)[0] is data   # raw audio: the waveforms stay
    with pytest.raises(ValueError, match="already holds precomputed"):
        precompute.with_features(feat, precompute.mel_front_end(model))


def test_paired_data_shapes_are_free_only_for_precomputed_inputs():
    n = 4
    PairedData(torch.zeros(n, 10), torch.zeros(n, 10), torch.zeros(n, dtype=torch.long), features="logits")
    with pytest.raises(DataError, match=r"expected images \(N,1,28,28\)"):
        PairedData(torch.zeros(n, 10), torch.zeros(n, 10), torch.zeros(n, dtype=torch.long))
    with pytest.raises(DataError, match="same length"):
        PairedData(torch.zeros(n, 10), torch.zeros(n + 1, 10), torch.zeros(n, dtype=torch.long), features="logits")
    d = PairedData(torch.zeros(n, 10), torch.zeros(n, 10), torch.zeros(n, dtype=torch.long), features="logits")
    assert d[[0, 2]].features == "logits"


def _trained(name, splits):
    model = UNIMODAL[name]()
    fit_normalisation(model, splits.train.images, splits.train.audio)
    train.fit(model, splits.train, splits.val, epochs=3, lr=3e-3, progress=False)
    return model


@pytest.mark.parametrize("name, own", [("late", ["model.weight_logits"]),
                                       ("intermediate", ["model.hidden.0.weight", "model.hidden.0.bias",
                                                         "model.classifier.weight", "model.classifier.bias"])])
def test_fuse_outputs_is_the_fusion_and_trains_only_its_own_weights(name, own):
    img, aud = UNIMODAL["image"]().eval(), UNIMODAL["audio_mel"]().eval()
    with pytest.raises(ValueError, match="freeze_members=True"):
        FuseOutputs(fused(name, img, aud, frozen=False))
    model = fused(name, img, aud).eval()
    wrapper = FuseOutputs(model)
    data = pairs(8)
    with torch.no_grad():
        a, b = model.member_outputs(data.images, data.audio)
        assert torch.allclose(wrapper(a, b), model(data.images, data.audio), atol=1e-6)
    assert [n for n, p in wrapper.named_parameters() if p.requires_grad] == own


@pytest.mark.parametrize("name", ["late", "intermediate"])
def test_frozen_members_train_on_their_outputs_and_are_cached(name, monkeypatch):
    """A fusion of frozen members trains on their outputs, computed once per split, and ends with
    the same weights as the slow way (both networks run in every step)."""
    splits = Splits(*pairs(200, 0).split(0.25), pairs(60, 1))
    img, aud = _trained("image", splits), _trained("audio_mel", splits)
    recipe = quick(name)
    config.seed_everything(0)  # train_or_load seeds before it builds: the same initial weights
    ref = fused(name, img, aud)
    train.fit(ref, *splits, epochs=recipe.epochs[0], batch_size=recipe.batch_size, lr=recipe.lr, progress=False)
    members_called = []
    for m in (img, aud):
        monkeypatch.setattr(type(m.encoder), "forward", _counting_encoder(type(m.encoder).forward, members_called))
    model, history = train_on_frozen_members(name, lambda: fused(name, img, aud), splits, recipe=recipe,
                                             progress=False)
    # each member ran once per split (train, validation, test), not once per epoch and batch (calls
    # on two pairs are precompute's check that the model takes log-mel features)
    sizes = sorted(n for n in members_called if n > 2)
    assert sizes == sorted(2 * [len(d) for d in splits]), members_called
    assert isinstance(model, type(ref)) and history.epochs and {"val_acc", "test_acc"} <= set(history.epochs[0])
    ours, theirs = FuseOutputs(model).state_dict(), FuseOutputs(ref).state_dict()
    assert all(torch.allclose(ours[k], theirs[k], atol=1e-5) for k in ours)  # the same training
    changed = [k for k in ours if not torch.equal(ours[k], FuseOutputs(fused(name, img, aud)).state_dict()[k])]
    assert changed  # it did train
    monkeypatch.setattr(checkpoints, "fit", lambda *a, **k: pytest.fail("trained again instead of loading"))
    again, h2 = train_on_frozen_members(name, lambda: fused(name, img, aud), splits, recipe=recipe, progress=False)
    assert h2.loaded and all(torch.equal(v, ours[k]) for k, v in FuseOutputs(again).state_dict().items())


def _counting_encoder(forward, calls):
    def wrapped(self, x):
        calls.append(len(x))
        return forward(self, x)
    return wrapped


def _counting(forward, calls):
    def wrapped(self, images, audio):
        calls.append(len(images))
        return forward(self, images, audio)
    return wrapped


def test_only_the_plotted_seed_records_a_test_curve():
    """Seeds other than the first are scored on the test split once, after training: their
    histories have validation every epoch but no test pass per epoch."""
    splits = Splits(*pairs(120, 0).split(0.25), pairs(40, 1))
    first, other = seeds(quick=False)[:2]
    kw = dict(recipe=quick("audio_mel"), progress=False)
    _, plotted = train_or_load("audio_mel", UNIMODAL["audio_mel"], splits, seed=first, **kw)
    _, unplotted = train_or_load("audio_mel", UNIMODAL["audio_mel"], splits, seed=other, **kw)
    _, asked = train_or_load("audio_mel", UNIMODAL["audio_mel"], splits, seed=other, test_curve=True, **kw)
    assert all("test_acc" in e for e in plotted.epochs) and all("test_acc" in e for e in asked.epochs)
    assert all("test_acc" not in e and "val_acc" in e for e in unplotted.epochs)
    assert unplotted.key != asked.key and not asked.loaded   # different runs, cached apart
