"""The one clean-subset helper: a fixed random subset, as given or before noise."""

import numpy as np
import pytest
import torch

from mmhelpers.data import DataError
from mmhelpers.data import subsets
from test_train import toy_pairs


def indexed(n=50, seed=0):
    data = toy_pairs(n, seed)
    data.meta["index"] = np.arange(100, 100 + n)   # as the embedded dataset records its pairs
    return data


def test_a_subset_is_fixed_in_order_and_all_pairs_when_n_is_none():
    data = indexed()
    sub = subsets.subset(data, "train", 20)
    assert len(sub) == 20 and np.all(np.diff(sub.meta["index"]) > 0)
    assert np.array_equal(subsets.subset(data, "train", 20).meta["index"], sub.meta["index"])
    assert not np.array_equal(subsets.subset(data, "train", 20, seed=1).meta["index"], sub.meta["index"])
    assert np.array_equal(subsets.subset(data, "train").meta["index"], data.meta["index"])
    assert len(subsets.subset(data, "train", 10_000)) == len(data)


def test_clean_views_are_the_same_pairs_before_noise(monkeypatch):
    data = indexed()
    store = toy_pairs(300, seed=7)                  # stands in for load_pairs(split, clean=True)
    asked = []

    def clean_pairs(split, clean=False):
        asked.append((split, clean))
        return store

    monkeypatch.setattr(subsets, "load_pairs", clean_pairs)
    monkeypatch.setattr(subsets.config, "data_dir", lambda: None)
    noisy = subsets.subset(data, "test", 20)
    clean = subsets.subset(data, "test", 20, clean=True)
    assert asked == [("test", True)]
    assert torch.equal(clean.images, store.images[torch.as_tensor(noisy.meta["index"])])
    assert subsets.has_clean_views(data)


def test_the_course_files_have_no_clean_views_and_asking_says_so(monkeypatch, tmp_path):
    data = indexed()
    monkeypatch.setattr(subsets.config, "data_dir", lambda: tmp_path)   # as if MM_DATA were set
    assert not subsets.has_clean_views(data)
    assert len(subsets.subset(data, "train", 20)) == 20
    with pytest.raises(DataError, match="no clean views"):
        subsets.subset(data, "train", 20, clean=True)
    without_index = toy_pairs(30)
    monkeypatch.setattr(subsets.config, "data_dir", lambda: None)
    assert not subsets.has_clean_views(without_index)
