"""The trainer, train-or-load caching, and the metrics."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmhelpers.analysis import comparison, evaluate
from mmhelpers.data import PairedData
from mmhelpers.data.splits import Splits
from mmhelpers.training import trainer as train
from mmhelpers.training.checkpoints import train_or_load
from mmhelpers.training.recipes import Recipe

RECIPE = Recipe(epochs=(3, 3), batch_size=128, lr=0.3)


def toy_pairs(n=240, seed=0):
    """Labels readable from the image mean (learnable in a few steps); audio is noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = (labels.float() / 10).view(n, 1, 1, 1).expand(n, 1, 28, 28) + 0.01 * torch.randn(n, 1, 28, 28, generator=g)
    audio = torch.randn(n, 1, 8000, generator=g)
    return PairedData(images.contiguous(), audio, labels, {"scenario": np.array(["a", "b"] * (n // 2))},
                      fingerprint=f"toy{seed}-{n}")


class Probe(nn.Module):
    """A model the trainer knows nothing about: it only calls model(images, audio)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(10, 10)
        self.register_buffer("centres", torch.arange(10).float() / 10)
        self.calls = 0

    def forward(self, images, audio):
        self.calls += 1
        x = images.mean((1, 2, 3)).unsqueeze(1)
        return self.lin(-((x - self.centres) * 20) ** 2)


def test_fit_learns_records_history_and_keeps_best_epoch():
    tr, va, te = toy_pairs(), toy_pairs(100, 1), toy_pairs(100, 2)
    model = Probe()
    hist = train.fit(model, tr, va, te, epochs=8, batch_size=32, lr=0.3, progress=False)
    df = hist.frame()
    assert list(df.columns) == ["epoch", "train_loss", "val_loss", "val_acc", "test_loss", "test_acc", "seconds"]
    assert len(df) == 8 and (df.seconds > 0).all()
    assert df.train_loss.iloc[-1] < df.train_loss.iloc[0]
    assert hist.best["val_acc"] == df.val_acc.max() and df.val_acc.max() > 0.5
    # the kept weights are the best-validation epoch's, and the model is left in eval mode
    assert not model.training
    assert train.evaluate_loss(model, va)[1] == pytest.approx(hist.best["val_acc"])


def test_fit_without_test_split_and_bad_arguments(capsys):
    tr, va = toy_pairs(), toy_pairs(100, 1)
    hist = train.fit(Probe(), tr, va, epochs=3, lr=0.3, name="probe")
    assert len(hist.epochs) == 3 and "test_acc" not in hist.frame()
    assert capsys.readouterr().out.startswith("probe: trained 3 epochs in ")   # one line per trained model
    assert f"kept epoch {hist.best_epoch}" in hist.summary()
    with pytest.raises(ValueError, match="epochs"):
        train.fit(Probe(), tr, va, epochs=0)
    with pytest.raises(ValueError, match="validation split needs labels"):
        train.fit(Probe(), tr, toy_pairs(20, 3).__class__(va.images, va.audio, va.labels, has_labels=False), epochs=1)


def test_fit_is_reproducible_by_seed():
    tr, va = toy_pairs(), toy_pairs(100, 1)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        m = Probe()
        train.fit(m, tr, va, epochs=2, lr=0.1, seed=5, progress=False)
        runs.append(m.lin.weight.detach().clone())
    assert torch.equal(runs[0], runs[1])


def test_train_or_load_caches_and_retrains(tmp_path, monkeypatch):
    monkeypatch.setenv("MM_CACHE_DIR", str(tmp_path))
    tr, va, te = toy_pairs(), toy_pairs(100, 1), toy_pairs(100, 2)
    splits = Splits(tr, va, te)
    kw = dict(recipe=RECIPE, progress=False)
    m1, h1 = train_or_load("probe", Probe, splits, **kw)
    assert not h1.loaded and len(list((tmp_path / "models").glob("probe-*.pt"))) == 1
    m2, h2 = train_or_load("probe", Probe, splits, **kw)
    assert h2.loaded and m2.calls == 0  # loaded: not a single forward pass
    # showing a progress bar or not trains the same model: same entry
    _, h2b = train_or_load("probe", Probe, splits, recipe=RECIPE, progress=True)
    assert h2b.loaded and h2b.key == h1.key
    assert torch.equal(m1.lin.weight, m2.lin.weight) and h1.epochs == h2.epochs and h1.key == h2.key
    # any change of settings, data or seed is a different entry
    _, h3 = train_or_load("probe", Probe, splits, recipe=Recipe(epochs=(4, 4), batch_size=128, lr=0.3), progress=False)
    _, h4 = train_or_load("probe", Probe, Splits(toy_pairs(240, 9), va, te), **kw)
    _, h7 = train_or_load("probe", Probe, splits, seed=1, test_curve=True, **kw)
    assert not h3.loaded and not h4.loaded and not h7.loaded and len({h1.key, h3.key, h4.key, h7.key}) == 4
    # forced retraining replaces the entry
    _, h5 = train_or_load("probe", Probe, splits, retrain=True, **kw)
    assert not h5.loaded and h5.key == h1.key
    # a corrupt file is trained again, not trusted
    path = tmp_path / "models" / f"{h1.key}.pt"
    path.write_bytes(b"garbage")
    _, h6 = train_or_load("probe", Probe, splits, **kw)
    assert not h6.loaded


def test_fit_without_validation_keeps_the_last_epoch_and_takes_any_loss():
    """The contrastive runs use the same fit: no labels, no validation, full batches only."""
    tr = toy_pairs(100)
    calls = []

    def loss(model, images, audio, labels):
        calls.append(len(images))
        return model(images, audio).square().mean()

    model = Probe()
    hist = train.fit(model, tr, loss=loss, epochs=2, batch_size=32, drop_last=True, lr=0.1, progress=False)
    assert set(calls) == {32} and len(calls) == 2 * (100 // 32)     # the last, smaller batch is dropped
    assert hist.best_epoch == 2 and set(hist.epochs[-1]) == {"epoch", "train_loss", "seconds"}
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]


class Wider(nn.Module):
    """Two layers; the first has the Probe's shapes (what a changed network may share with an old one)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(10, 10)
        self.out = nn.Linear(10, 10)
        self.register_buffer("centres", torch.arange(10).float() / 10)

    def forward(self, images, audio):
        x = images.mean((1, 2, 3)).unsqueeze(1)
        return self.out(torch.relu(self.lin(-((x - self.centres) * 20) ** 2)))


class ProbeTanh(Probe):
    """The Probe's parameters exactly, a different function."""

    def forward(self, images, audio):
        return torch.tanh(super().forward(images, audio))

    def extra_repr(self) -> str:
        return "tanh"


def test_a_changed_network_gets_its_own_entry_and_never_trains_on_from_stale_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("MM_CACHE_DIR", str(tmp_path))
    tr, va, te = toy_pairs(), toy_pairs(100, 1), toy_pairs(100, 2)
    splits = Splits(tr, va, te)
    kw = dict(recipe=Recipe(epochs=(2, 2), batch_size=128, lr=0.3), progress=False)
    _, h_probe = train_or_load("m", Probe, splits, **kw)
    # same name and settings, same parameter shapes, another function: not the Probe's weights
    _, h_tanh = train_or_load("m", ProbeTanh, splits, **kw)
    assert not h_tanh.loaded and h_tanh.key != h_probe.key
    clean, h_clean = train_or_load("m", Wider, splits, **kw)
    assert not h_clean.loaded
    # a stale file under this key whose first layer fits (the old network's, trained): the model
    # is trained from a fresh start, exactly as without the file
    stale = tmp_path / "models" / f"{h_clean.key}.pt"
    blob = torch.load(stale, weights_only=True)
    blob["state_dict"] = {k: v + 1.0 if k.startswith("lin") else v for k, v in blob["state_dict"].items()}
    del blob["state_dict"]["out.bias"]                       # incompatible: load_state_dict raises
    torch.save(blob, stale)
    again, h_again = train_or_load("m", Wider, splits, **kw)
    assert not h_again.loaded
    for k, v in clean.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k


def test_metrics_on_known_answers():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 0, 2]] * 0.7 + 0.1
    pred = evaluate.from_probs(probs, labels)
    assert evaluate.accuracy(pred) == pytest.approx(4 / 6)
    assert evaluate.per_class_accuracy(pred) == {0: 0.5, 1: 1.0, 2: 0.5}
    assert evaluate.group_accuracy(pred, ["x", "x", "x", "y", "y", "y"]) == {"x": pytest.approx(2 / 3), "y": pytest.approx(2 / 3)}
    cm = evaluate.confusion(pred, normalize=None)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    # ECE: confidence 0.8 everywhere, accuracy 4/6 -> |0.667 - 0.8|
    assert evaluate.expected_calibration_error(probs, labels) == pytest.approx(abs(4 / 6 - 0.8))
    perfect = np.eye(3)[labels]
    assert evaluate.expected_calibration_error(perfect, labels) == 0.0
    with pytest.raises(ValueError):
        evaluate.expected_calibration_error(probs, labels[:3])


def test_unlabelled_predictions_are_not_scored():
    pred = evaluate.from_probs(np.eye(3)[[0, 1, 2]], np.array([0, -1, 2]))  # a test set without label files
    for score in (evaluate.accuracy, evaluate.per_class_accuracy, evaluate.confusion, lambda p: p.correct,
                  lambda p: evaluate.group_accuracy(p, ["a", "a", "b"])):
        with pytest.raises(ValueError, match="1 of 3 pairs have no label"):
            score(pred)
    assert pred.preds.tolist() == [0, 1, 2]  # the predictions themselves are fine


def test_predict_and_summary_table():
    data = toy_pairs(60)
    model = Probe()
    pred = evaluate.predict(model, data, batch_size=7)
    assert pred.probs.shape == (60, 10) and np.allclose(pred.probs.sum(1), 1, atol=1e-5)
    table = evaluate.summary({"probe": pred}, data)
    assert list(table.columns) == ["overall", "a", "b"] and table.loc["probe", "overall"] == pytest.approx(100 * evaluate.accuracy(pred), abs=0.01)


def test_oracle_view_picks_the_cleaner_modality():
    data = toy_pairs(4)
    data.meta["image_noise"] = np.array([0.0, 0.9, 0.1, 0.8], np.float32)
    data.meta["audio_noise"] = np.array([0.9, 0.0, 0.7, 0.1], np.float32)
    img = evaluate.from_probs(np.eye(10)[[0, 5, 2, 5]], data.labels.numpy())
    aud = evaluate.from_probs(np.eye(10)[[7, 1, 7, 3]], data.labels.numpy())
    oracle = comparison.oracle_view(img, aud, data)
    assert oracle.preds.tolist() == [0, 1, 2, 3] and evaluate.accuracy(oracle) == 1.0
