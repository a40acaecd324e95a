"""The one fingerprint and the compute-or-load of results: keys that change with weights, structure,
mode and data, and no caching of what cannot be identified."""

import numpy as np
import pytest
import torch
from torch import nn

from mmhelpers.analysis import evaluate
from mmhelpers.analysis.robustness import absent
from mmhelpers.cache.fingerprint import Unidentifiable, fingerprint, fingerprint_or_none
from mmhelpers.cache.results import compute_or_load
from mmhelpers.data import PairedData


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 4))
        self.audio_encoder = nn.Sequential(nn.Flatten(), nn.Linear(8000, 4))
        self.head = nn.Linear(8, 10)

    def forward(self, images, audio):
        return self.head(torch.cat([self.image_encoder(images), self.audio_encoder(audio)], 1))


def pairs(n=12, fingerprint="fp-a", seed=0):
    g = torch.Generator().manual_seed(seed)
    return PairedData(torch.rand(n, 1, 28, 28, generator=g), torch.randn(n, 1, 8000, generator=g),
                      torch.arange(n) % 10, {"index": np.arange(n)}, True, "toy", fingerprint)


pytestmark = pytest.mark.usefixtures("one_thread_tmp_cache")  # tests/conftest.py: a private cache


def test_fingerprint_follows_weights_mode_structure_and_hooks():
    torch.manual_seed(0)
    model = TwoInputs()
    fp = fingerprint(model)
    assert fp == fingerprint(model) and len(fp) == 32
    with torch.no_grad():
        model.head.bias[0] += 1e-6
    assert fingerprint(model) != fp
    assert fingerprint(model.eval()) != fingerprint(model.train())
    tanh = TwoInputs()
    tanh.load_state_dict(model.state_dict())
    tanh.head = nn.Sequential(model.head, nn.Tanh())       # another function; its state's values are the same
    assert fingerprint(tanh) != fingerprint(model)
    with absent(model, "image"):
        assert fingerprint_or_none(model) is None  # behaviour no longer given by the state
        with pytest.raises(Unidentifiable, match="hooks"):
            fingerprint(model)


def test_fingerprint_of_settings_arrays_and_data():
    assert fingerprint({"a": 1, "b": [1.5, "x"]}) == fingerprint({"b": [1.5, "x"], "a": 1})   # key order
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.0000001}) != fingerprint({"a": "1"})
    x = np.arange(12, dtype=np.float32)
    assert fingerprint(x) == fingerprint(x.copy()) == fingerprint(torch.from_numpy(x))
    assert fingerprint(x) != fingerprint(x.astype(np.float64)) != fingerprint(x.reshape(3, 4))
    assert fingerprint(pairs()) == fingerprint({"fingerprint": "fp-a"}) != fingerprint(pairs(fingerprint="fp-b"))
    with pytest.raises(Unidentifiable, match="no fingerprint"):
        fingerprint({"data": pairs(fingerprint="")})
    with pytest.raises(TypeError, match="cannot fingerprint"):
        fingerprint(object())


def test_compute_or_load_reuses_recomputes_on_retrain_and_skips_unidentified(monkeypatch):
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    model = TwoInputs()
    assert compute_or_load("t", {"data": pairs()}, compute) == 1
    assert compute_or_load("t", {"data": pairs()}, compute) == 1                    # stored
    assert compute_or_load("t", {"data": pairs(fingerprint="fp-b")}, compute) == 2  # another key
    assert compute_or_load("t", {"data": pairs(fingerprint="")}, compute) == 3      # unidentified: not stored
    assert compute_or_load("t", {"data": pairs(fingerprint="")}, compute) == 4
    with absent(model, "image"):
        assert compute_or_load("t", {"model": model}, compute) == 5                 # hooks: not stored
        assert compute_or_load("t", {"model": model}, compute) == 6
    monkeypatch.setenv("MM_RETRAIN", "1")
    assert compute_or_load("t", {"data": pairs()}, compute) == 7                    # forced


def test_predict_is_reused_only_for_the_same_weights_and_data():
    torch.manual_seed(0)
    model, data = TwoInputs(), pairs()
    first = evaluate.predict(model, data)
    assert np.array_equal(evaluate.predict(model, data).logits, first.logits)
    with torch.no_grad():
        model.head.bias += 1.0
    moved = evaluate.predict(model, data)
    assert np.allclose(moved.logits, first.logits + 1.0, atol=1e-5)
    other = evaluate.predict(model, pairs(fingerprint="fp-b", seed=1))
    assert not np.allclose(other.logits, moved.logits)
    with absent(model, "image"):   # a hook changes the outputs: never served from the store
        gone = evaluate.predict(model, data)
    assert not np.allclose(gone.logits, moved.logits)
    unnamed = pairs(fingerprint="", seed=2)
    assert unnamed[np.arange(5)].fingerprint == ""  # a selection of unidentified data stays unidentified


def test_what_4a_and_4c_compute_after_training_is_stored_and_read_back(monkeypatch):
    """The results a warm re-run of 4a and 4c reads instead of computing: the contribution
    measures, a corrupted view, coherence and linear probes. Each is computed once per content."""
    from mmhelpers.analysis import contribution, retrieval, translation
    from mmhelpers.analysis import robustness as rb

    calls = []

    def counted(name, value):
        def compute(*args, **kwargs):
            calls.append(name)
            return value() if callable(value) else value
        return compute

    torch.manual_seed(0)
    model, data = TwoInputs().eval(), pairs()
    means = {"image": torch.zeros(1, 28, 28), "audio": torch.zeros(8000)}
    monkeypatch.setattr(contribution, "_measures", counted("measures", {"accuracy": 50.0}))
    monkeypatch.setattr(translation, "_coherence", counted("coherence", np.ones(12, bool)))
    monkeypatch.setattr(retrieval, "_linear_probe", counted("probe", 0.5))
    monkeypatch.setattr(rb, "corrupt_images", counted("corrupt", lambda: np.zeros((12, 1, 28, 28), np.float32)))
    x, y = np.random.default_rng(0).normal(size=(12, 3)), np.arange(12) % 10
    for _ in range(2):
        assert contribution.measures(model, data, means) == {"accuracy": 50.0}
        assert translation.coherence(model, data, "image", {"audio": model}).all()
        assert retrieval.linear_probe(x, y, x, y) == 0.5
        assert rb.corrupted(data, "image", 0.5).images.abs().sum() == 0
    assert sorted(calls) == ["coherence", "corrupt", "measures", "probe"]     # once each
    rb.corrupted(data, "image", 1.0)                                           # another severity: computed
    contribution.measures(model, data, means, permutations=3)                  # another setting: computed
    assert calls.count("corrupt") == 2 and calls.count("measures") == 2


def test_a_bootstrap_interval_is_computed_once_per_content(monkeypatch):
    from mmhelpers.analysis import comparison

    correct = (np.arange(200) % 7 != 0).astype(float)
    first = comparison.accuracy_interval(correct)
    assert first[0] < 100 * correct.mean() < first[1]
    monkeypatch.setattr(comparison, "_bootstrap", lambda *a: pytest.fail("computed again"))
    assert comparison.accuracy_interval(correct) == first                 # read back
    with pytest.raises(pytest.fail.Exception):
        comparison.accuracy_interval(correct, confidence=0.9)              # another setting: computed


def test_a_dump_that_fails_leaves_the_stored_file_as_it_was(tmp_path):
    from mmhelpers.cache.files import dump_atomic

    path = tmp_path / "result.pkl"
    dump_atomic(path, lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        dump_atomic(path, broken)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.pkl"]
