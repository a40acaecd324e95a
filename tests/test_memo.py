"""Compute-or-load of evaluation results: keys that change with weights and data, and no caching of
what cannot be identified."""

import numpy as np
import pytest
import torch
from torch import nn

from mmhelpers import evaluate, memo
from mmhelpers.data import PairedData
from mmhelpers.robustness import absent


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


def test_fingerprint_follows_weights_mode_and_hooks():
    torch.manual_seed(0)
    model = TwoInputs()
    fp = memo.model_fingerprint(model)
    assert fp == memo.model_fingerprint(model)
    with torch.no_grad():
        model.head.bias[0] += 1e-6
    assert memo.model_fingerprint(model) != fp
    assert memo.model_fingerprint(model.eval()) != memo.model_fingerprint(model.train())
    with absent(model, "image"):
        assert memo.model_fingerprint(model) is None  # behaviour no longer given by the state


def test_memo_reuses_recomputes_on_retrain_and_skips_unidentified(monkeypatch):
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert memo.memo("t", {"data": "x"}, compute) == 1
    assert memo.memo("t", {"data": "x"}, compute) == 1       # stored
    assert memo.memo("t", {"data": "y"}, compute) == 2       # another key
    assert memo.memo("t", {"data": ""}, compute) == 3        # unidentified: computed, not stored
    assert memo.memo("t", {"data": {"m": None}}, compute) == 4
    assert memo.memo("t", {"data": {"m": None}}, compute) == 5
    monkeypatch.setenv("MM_RETRAIN", "1")
    assert memo.memo("t", {"data": "x"}, compute) == 6       # forced


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
