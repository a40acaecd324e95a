"""Contrastive alignment helpers (notebooks 2d and 3d): retrieval recall, prototypes, linear probe,
train-or-load caching, embeddings. Tiny data: seconds."""

import numpy as np
import pytest
import torch

from mmhelpers.analysis import retrieval
from mmhelpers.data import PairedData
from mmhelpers.models.alignment import EMBED_DIM, PROJ_DIM, AlignmentModel
from mmhelpers.training import checkpoints
from mmhelpers.training import contrastive as C
from mmhelpers.training.catalogue import trained
from mmhelpers.training.recipes import Recipe


def recipe(epochs):
    return Recipe(epochs=(epochs, epochs), batch_size=32, lr=3e-3, drop_last=True)


pytestmark = pytest.mark.usefixtures("one_thread_tmp_cache")  # tests/conftest.py


def toy_pairs(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.rand(n, 1, 28, 28, generator=g)
    audio = torch.randn(n, 1, 8000, generator=g)
    return PairedData(images, audio, labels, {"index": np.arange(n)}, fingerprint=f"toy{seed}-{n}")


# ----------------------------------------------------------------------------- metrics

def test_recall_at_k_instance_and_class():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 8))
    labels = np.arange(50) % 5
    inst = retrieval.recall_at_k(z, z, labels, labels, ks=(1, 5), match="instance")
    assert inst == {1: pytest.approx(1.0), 5: pytest.approx(1.0)}
    # a shuffled gallery: the exact partner is (almost) never first, the class often is
    perm = rng.permutation(50)
    shuffled = retrieval.recall_at_k(z, z[perm], labels, labels[perm], ks=(1,), match="instance")[1]
    assert shuffled <= 0.1
    assert retrieval.recall_at_k(z, z[perm], labels, labels[perm], ks=(1,), match="class")[1] == pytest.approx(1.0)
    # embeddings that only encode the class: class recall is perfect, exact recall is at most 1 in 10
    onehot = np.eye(5)[labels]
    assert retrieval.recall_at_k(onehot, onehot, labels, labels, ks=(1,))[1] == pytest.approx(1.0)
    # reversed labels on the gallery: no class hit anywhere in the top 5 of the wrong classes
    wrong = (labels + 1) % 5
    assert retrieval.recall_at_k(onehot, onehot, labels, wrong, ks=(1,))[1] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        retrieval.recall_at_k(z, z, labels, labels, match="exact")


def test_prototype_accuracy_perfect_and_swapped():
    labels = np.arange(40) % 4
    z = np.eye(4)[labels]
    assert retrieval.prototype_accuracy(z, labels, z, labels) == pytest.approx(1.0)
    assert retrieval.prototype_accuracy(z, (labels + 1) % 4, z, labels) == pytest.approx(0.0)


def test_linear_probe_separable_vs_noise():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 4
    x = np.eye(4)[y] + 0.05 * rng.normal(size=(200, 4))
    assert retrieval.linear_probe(x[:100], y[:100], x[100:], y[100:]) == pytest.approx(1.0)
    noise = rng.normal(size=(200, 4))
    assert retrieval.linear_probe(noise[:100], y[:100], noise[100:], y[100:]) < 0.6


# ----------------------------------------------------------------------------- model, training, cache

def test_alignment_model_shapes_and_embed_normalised():
    data = toy_pairs(20)
    model = C.untrained_alignment(data)
    assert not model.training and bool(model.audio_encoder.input.norm.fitted)
    z_img, z_aud = model(data.images[:4], data.audio[:4])
    assert z_img.shape == z_aud.shape == (4, PROJ_DIM)
    e = retrieval.embed(model, data)
    assert e["h_img"].shape == (20, EMBED_DIM) and e["z_aud"].shape == (20, PROJ_DIM)
    assert np.allclose(np.linalg.norm(e["z_img"], axis=1), 1, atol=1e-5)
    assert np.array_equal(e["labels"], data.labels.numpy())


@pytest.mark.parametrize("loss", list(C.LOSSES))
def test_train_or_load_trains_once_then_loads(loss, monkeypatch, tmp_path):
    data = toy_pairs(64)
    model, history = trained("contrastive", data, loss=loss, tau=0.5, recipe=recipe(2), progress=False)
    assert len(history.epochs) == 2 and all(np.isfinite(h["train_loss"]) for h in history.epochs)
    files = list((tmp_path / "cache" / "models").glob("contrastive-*.pt"))
    assert len(files) == 1
    monkeypatch.setattr(checkpoints, "fit", lambda *a, **k: pytest.fail("trained again instead of loading"))
    again, history2 = trained("contrastive", data, loss=loss, tau=0.5, recipe=recipe(2), progress=False)
    assert history2.loaded and history2.epochs == history.epochs
    for (k, v), v2 in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(v, v2), k


def test_a_stale_cached_run_is_trained_again_from_a_fresh_model(tmp_path):
    data = toy_pairs(64)
    kw = dict(recipe=recipe(1), progress=False)
    clean, _ = trained("contrastive", data, loss="nt_xent", tau=0.5, **kw)
    (path,) = (tmp_path / "cache" / "models").glob("contrastive-*.pt")
    blob = torch.load(path, weights_only=True)
    blob["state_dict"] = {k: v + 1.0 if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    del blob["state_dict"]["audio_head.3.bias"]                # incompatible: loading raises part-way
    torch.save(blob, path)
    again, history = trained("contrastive", data, loss="nt_xent", tau=0.5, **kw)
    assert not history.loaded and len(history.epochs) == 1
    for (k, v), v2 in zip(clean.state_dict().items(), again.state_dict().values()):
        assert torch.equal(v, v2), k


def test_training_lowers_the_loss_and_rejects_unknown_losses():
    data = toy_pairs(64)
    model, history = trained("contrastive", data, loss="nt_xent", tau=0.5, recipe=recipe(4), progress=False)
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    assert not model.training
    with pytest.raises(ValueError, match="name"):
        C.ContrastiveLoss("triplet", 0.5)
    assert isinstance(model, AlignmentModel)


# ----------------------------------------------------------------------------- 2d's sweep, 3d's grid

def test_grid_taus_full_mode_holds_ntxents_whole_sweep_and_quick_mode_every_loss():
    full = C.grid_taus(quick=False)
    assert set(full) == set(C.LOSSES)
    assert full["nt_xent"] == C.taus(quick=False)  # 3d reads 2d's runs from the cache
    assert all(set(t) <= set(C.taus(quick=False)) for t in full.values())
    assert C.grid_taus(quick=True) == {loss: C.taus(quick=True) for loss in C.LOSSES}


def test_grid_names_an_unknown_loss():
    from mmhelpers.analysis import alignment
    data = toy_pairs(16)
    with pytest.raises(ValueError, match="nt_xnet"):
        alignment.grid(data, data, {"nt_xnet": (0.1,)})
