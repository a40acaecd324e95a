"""Robustness helpers (notebook 3a): missing-modality fills, the absent hook, fusions of frozen encoders,
noise sweeps, robustness scores, temperature scaling, gate weights. Toy models: seconds."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn


from mmhelpers.analysis import calibration, evaluate
from mmhelpers.analysis import embeddings as latent
from mmhelpers.analysis import robustness as rb
from mmhelpers.data import PairedData
from mmhelpers.data.splits import Splits
from mmhelpers.models import fusion
from mmhelpers.models.classifier import UnimodalClassifier
from mmhelpers.models.frozen import FrozenEncoder
from mmhelpers.training import checkpoints
from mmhelpers.training.frozen_members import train_on_frozen_members
from mmhelpers.training.recipes import RECIPES


@pytest.fixture(autouse=True)
def _isolated_and_seeded(one_thread_tmp_cache):  # tests/conftest.py, plus a fixed torch seed
    torch.manual_seed(0)


class MeanEncoder(nn.Module):
    """A tiny encoder: the input's mean (in tenths) as a scaled one-hot code, then a linear map."""

    def __init__(self, modality, embed_dim=6):
        super().__init__()
        self.modality, self.embed_dim = modality, embed_dim
        self.lin = nn.Linear(10, embed_dim)

    def forward(self, x):
        code = (x.flatten(1).mean(1) * 10).round().clamp(0, 9).long()
        return self.lin(5.0 * nn.functional.one_hot(code, 10).float())


def toy_data(n=120, seed=0, fp="toy"):
    """Labels readable from the image brightness; the audio carries them too (its amplitude)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = (labels.float() / 10).view(n, 1, 1, 1).expand(n, 1, 28, 28) + 0.01 * torch.rand(n, 1, 28, 28, generator=g)
    audio = (labels.float() / 10).view(n, 1, 1) + 0.01 * torch.randn(n, 1, 8000, generator=g)
    meta = {"scenario": np.array(["image_noisy", "audio_noisy", "both_mild"] * (n // 3) + ["both_mild"] * (n % 3)),
            "index": np.arange(n)}
    return PairedData(images.contiguous(), audio, labels, meta, fingerprint=f"{fp}{seed}-{n}")


def toy_splits():
    return Splits(toy_data(200, 0), toy_data(60, 1), toy_data(90, 2))


def unimodal(modality):
    return UnimodalClassifier(MeanEncoder(modality, 12), modality).eval()


# ----------------------------------------------------------------------------- missing modality

def test_without_zero_and_mean_touch_only_the_missing_modality():
    data = toy_data()
    means = rb.training_means(data)
    assert means["image"].shape == (1, 28, 28) and means["audio"].shape == (1, 8000)
    no_img = rb.without(data, "image", "zero")
    assert torch.count_nonzero(no_img.images) == 0
    assert torch.equal(no_img.audio, data.audio) and torch.equal(no_img.labels, data.labels)
    no_aud = rb.without(data, "audio", "mean", means)
    assert torch.allclose(no_aud.audio, means["audio"].expand_as(data.audio))
    assert torch.equal(no_aud.images, data.images)
    assert no_aud.fingerprint != data.fingerprint != no_img.fingerprint
    assert torch.equal(data.images, toy_data().images)  # the input is not modified
    with pytest.raises(ValueError, match="means"):
        rb.without(data, "audio", "mean")
    with pytest.raises(ValueError):
        rb.without(data, "video", "zero")


def test_absent_zeroes_the_embedding_inside_the_block_only():
    model = fusion.IntermediateFusion(MeanEncoder("image"), MeanEncoder("audio")).eval()
    x, a = toy_data(8).images, toy_data(8).audio
    before = model(x, a)
    with rb.absent(model, "image"):
        inside = model(x, a)
    e_aud = model.audio_encoder(a)
    expected = model.classifier(model.hidden(torch.cat([torch.zeros_like(e_aud), e_aud], 1)))
    assert torch.allclose(inside, expected, atol=1e-6)
    assert not torch.allclose(inside, before)
    assert torch.equal(model(x, a), before)  # hook removed
    with pytest.raises(AttributeError):
        with rb.absent(unimodal("image"), "image"):
            pass


def test_missing_table_unimodal_rows_and_absent_only_where_it_applies():
    data = toy_data(60)
    zoo = {"image": unimodal("image"),
           "fusion": fusion.IntermediateFusion(MeanEncoder("image"), MeanEncoder("audio")).eval()}
    table = rb.missing_table(zoo, data, rb.training_means(data))
    # an image model does not care whether the audio is missing
    assert table.loc["image", ("no audio", "zero")] == table.loc["image", ("both", "present")]
    assert np.isnan(table.loc["image", ("no image", "absent")])
    assert not np.isnan(table.loc["fusion", ("no audio", "absent")])


# ----------------------------------------------------------------------------- fusions of frozen encoders

def test_frozen_encoder_never_trains():
    enc = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    enc.embed_dim = 3
    frozen = FrozenEncoder(enc)
    frozen.train()
    assert not enc.training and not any(p.requires_grad for p in frozen.parameters())


@pytest.mark.parametrize("name, kwargs", [("intermediate", {"modality_dropout": 0.3}), ("gated", {})])
def test_fusion_of_frozen_encoders_learns_keeps_members_and_is_cached(name, kwargs, monkeypatch):
    splits = toy_splits()
    img, aud = unimodal("image"), unimodal("audio")
    w_before = img.encoder.lin.weight.clone()
    # full-mode epochs (20-30 steps here: one batch per epoch) also under make test's MM_QUICK=1
    recipe = replace(RECIPES[name], epochs=(RECIPES[name].epochs[0],) * 2)
    cls = fusion.IntermediateFusion if name == "intermediate" else fusion.GatedFusion
    make = lambda: cls(FrozenEncoder(img.encoder), FrozenEncoder(aud.encoder), **kwargs)  # noqa: E731
    model, history = train_on_frozen_members(name, make, splits, recipe=recipe, progress=False)
    acc = evaluate.accuracy(evaluate.predict(model, splits.test))
    assert acc > 0.5, acc  # 10 classes: chance is 0.1; the brightness is readable from both inputs
    assert model.image_encoder.encoder is img.encoder and torch.equal(img.encoder.lin.weight, w_before)
    assert not any(p.requires_grad for p in model.image_encoder.parameters())
    assert history.epochs and "test_acc" in history.epochs[0]  # seed 0: a test curve, as 1e plots
    # the second call loads the cached fusion and never trains
    monkeypatch.setattr(checkpoints, "fit", lambda *a, **k: pytest.fail("trained again instead of loading"))
    again, h2 = train_on_frozen_members(name, make, splits, recipe=recipe, progress=False)
    assert h2.loaded
    assert np.array_equal(evaluate.predict(again, splits.test).logits, evaluate.predict(model, splits.test).logits)


def test_predict_returns_gate_weights_for_every_pair_across_batches():
    model = fusion.GatedFusion(MeanEncoder("image"), MeanEncoder("audio")).eval()
    data = toy_data(1100)  # more than one batch of 1024
    pred, w = rb.predict(model, data)
    assert w.shape == (1100, 2) and np.allclose(w.sum(1), 1, atol=1e-5)
    assert np.allclose(w, model.modality_weights(data.images, data.audio).numpy(), atol=1e-5)
    assert rb.predict(unimodal("image"), data)[1] is None


# ----------------------------------------------------------------------------- sweeps and scores

def test_noise_sweep_corrupts_one_modality_at_a_time():
    data = toy_data(30)
    zoo = {"image": unimodal("image"), "audio": unimodal("audio")}
    sweep = rb.noise_sweep(zoo, data, levels=(0.0, 1.0))
    assert len(sweep) == 2 * 2 * 2 and set(sweep.corrupted) == {"image", "audio"}
    acc = sweep.set_index(["model", "corrupted", "severity"]).accuracy
    # a unimodal model is untouched by noise on the other modality
    assert acc[("image", "audio", 1.0)] == acc[("image", "audio", 0.0)] == acc[("image", "image", 0.0)]
    assert acc[("audio", "image", 1.0)] == acc[("audio", "image", 0.0)]
    corrupted = rb.corrupted(data, "image", 1.0)
    assert not torch.equal(corrupted.images, data.images) and torch.equal(corrupted.audio, data.audio)


def test_robustness_scores_are_the_normalised_area():
    sev = [0.0, 0.5, 1.0]
    sweep = pd.DataFrame([dict(model="m", corrupted=c, severity=s, accuracy=a) for c, accs in
                          (("image", (100, 50, 0)), ("audio", (80, 80, 80))) for s, a in zip(sev, accs)])
    scores = rb.robustness_scores(sweep)
    assert scores.loc["m", "image corrupted"] == pytest.approx(50.0)
    assert scores.loc["m", "audio corrupted"] == pytest.approx(80.0)
    assert scores.loc["m", "mean"] == pytest.approx(65.0)


# ----------------------------------------------------------------------------- calibration

def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 3, size=(4000, 10))
    p = np.exp(true_logits - true_logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in p])
    assert calibration.fit_temperature(2.0 * true_logits, labels) == pytest.approx(2.0, rel=0.1)
    assert calibration.fit_temperature(true_logits, labels) == pytest.approx(1.0, rel=0.1)


def test_calibration_table_matches_evaluate():
    data = toy_data(90)
    rng = np.random.default_rng(1)
    pred = evaluate.from_probs(rng.dirichlet(np.ones(10), size=90), data.labels.numpy())
    table = calibration.calibration_table({"m": pred}, data, {"m": 1.0})
    assert table.loc["m", "ECE"] == pytest.approx(100 * evaluate.expected_calibration_error(pred.probs, pred.labels), abs=0.01)
    assert table.loc["m", "ECE after T"] == pytest.approx(table.loc["m", "ECE"], abs=0.01)  # T = 1 changes nothing
    assert {"ECE image_noisy", "ECE audio_noisy", "ECE both_mild"} <= set(table.columns)


def test_embeddings_and_separation():
    data = toy_data(60)
    emb = latent.embeddings(unimodal("image"), data)
    assert emb.shape == (60, 12)
    sep = latent.separation({"good": np.eye(10)[data.labels.numpy()] + 0.01, "bad": np.random.default_rng(0).normal(size=(60, 5))}, data)
    assert sep.loc["good", "by digit"] > 0.9 > sep.loc["bad", "by digit"]
