"""The embedded dataset: shapes, protocol, disjoint splits, determinism and the cache."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmhelpers import config
from mmhelpers.cache import arrays as cache
from mmhelpers.data import PairedData, load_pairs
from mmhelpers.data.grouping import pair_groups, validation_indices
from mmhelpers.data.splits import VAL_FRACTION, load_splits
from mmhelpers.embedded import build, mnist, plan, store
from mmhelpers.embedded import noise as corrupt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mmcache")


@pytest.fixture(scope="module")
def quick(cache_dir):
    """The quick-mode splits, built once into a private cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MM_CACHE_DIR", str(cache_dir))
    mp.delenv("MM_DATA", raising=False)
    data = {s: load_pairs(s, quick=True) for s in ("train", "test")}
    yield data
    mp.undo()


def test_shapes_dtypes_and_sizes(quick):
    for split, n in (("train", 1000), ("test", 500)):
        d = quick[split]
        assert len(d) == n == plan.QUICK_SIZES[split]
        assert d.images.shape == (n, 1, 28, 28) and d.images.dtype == torch.float32
        assert d.audio.shape == (n, 1, 8000) and d.audio.dtype == torch.float32
        assert d.labels.shape == (n,) and d.labels.dtype == torch.int64 and d.has_labels
        assert 0 <= d.images.min() and d.images.max() <= 1
        assert torch.isfinite(d.audio).all()
        assert all(len(v) == n for v in d.meta.values())
        for key in ("scenario", "image_noise", "audio_noise", "image_source", "voice"):
            assert key in d.meta
        assert np.bincount(d.labels.numpy(), minlength=10).min() >= n // 10 - 1


def test_noise_protocol(quick):
    m = quick["train"].meta
    scen = m["scenario"]
    assert set(scen) == set(plan.SCENARIOS)
    assert all(200 < (scen == s).sum() < 470 for s in plan.SCENARIOS)  # about 1/3 each
    lo, hi = plan.HEAVY
    assert (m["image_noise"][scen == "image_noisy"] >= lo).all() and (m["audio_noise"][scen == "image_noisy"] <= plan.LIGHT[1]).all()
    assert (m["audio_noise"][scen == "audio_noisy"] >= lo).all() and (m["image_noise"][scen == "audio_noisy"] <= plan.LIGHT[1]).all()
    both = scen == "both_mild"
    assert (m["image_noise"][both] <= plan.LIGHT[1]).all() and (m["audio_noise"][both] <= plan.LIGHT[1]).all()
    assert (m["image_noise"][both] > 0).all() and (m["audio_noise"][both] > 0).all()


def test_train_and_test_are_disjoint_in_sources_and_voices(quick):
    tr, te = quick["train"].meta, quick["test"].meta
    assert not set(tr["image_source"]) & set(te["image_source"])
    assert not set(tr["voice"]) & set(te["voice"])
    variants = lambda vs: {plan.voice_variant(v) for v in vs}  # noqa: E731
    assert not variants(tr["voice"]) & variants(te["voice"])
    # the full pools are disjoint too, not only the quick subsets
    assert not set(mnist.mnist_sources("train")[2]) & set(mnist.mnist_sources("test")[2])
    assert not set(plan.voice_pool("train")) & set(plan.voice_pool("test"))


def full_train_plan_as_data() -> PairedData:
    """The full training split's plan (every pair's source and voice, nothing rendered), held as
    :class:`PairedData` with the meta a build records: what the grouped split sees of a full build."""
    _, labels, ids = mnist.mnist_sources("train")
    drawn = plan.make_plan("train", plan.SIZES["train"], config.SEED, labels, plan.voice_pool("train"))
    n = len(drawn["label"])
    return PairedData(torch.zeros(n, 0), torch.zeros(n, 0), torch.from_numpy(drawn["label"]),
                      {"image_source": ids[drawn["source"]], "voice": drawn["voice"]}, name="full plan",
                      features="plan only")


def assert_grouped_and_stratified(data: PairedData):
    train, val = validation_indices(data, VAL_FRACTION, config.SEED)
    assert len(train) + len(val) == len(data) and not set(train) & set(val)
    assert 0.15 < len(val) / len(data) < 0.25
    m = data.meta
    assert not set(m["image_source"][train]) & set(m["image_source"][val])
    variants = lambda idx: {plan.voice_variant(v) for v in m["voice"][idx]}  # noqa: E731
    assert not variants(train) & variants(val)
    share = lambda idx: np.bincount(data.labels.numpy()[idx], minlength=10) / len(idx)  # noqa: E731
    assert np.abs(share(train) - share(val)).max() < 0.01


def test_validation_part_shares_no_source_and_no_voice_and_keeps_class_shares(quick):
    assert_grouped_and_stratified(quick["train"])  # the quick build itself
    assert_grouped_and_stratified(full_train_plan_as_data())  # the full build's sources and voices
    # and the splits notebooks use are those parts
    assert load_splits(quick=True).grouped


def test_the_groups_found_are_the_generator_groups():
    _, labels, ids = mnist.mnist_sources("train")
    drawn = plan.make_plan("train", plan.SIZES["train"], config.SEED, labels, plan.voice_pool("train"))
    found = pair_groups({"image_source": ids[drawn["source"]], "voice": drawn["voice"]})
    speakers = plan.n_groups("train", plan.voice_pool("train"))
    assert len(np.unique(found)) == speakers == 76
    # one to one: each generator group is one connected group
    assert len(set(zip(found.tolist(), drawn["group"].tolist()))) == speakers


def test_sources_are_reused_with_augmentation():
    images, labels, _ = mnist.mnist_sources("train")
    drawn = plan.make_plan("train", 9000, 0, labels, plan.voice_pool("train"))
    counts = np.bincount(drawn["source"], minlength=len(labels))
    assert counts.min() >= 2 and counts.max() - counts.min() <= 1  # every source reused evenly
    i, j = np.flatnonzero(drawn["source"] == drawn["source"][0])[:2]
    a, b = build.augment(images[drawn["source"][[i, j]]], drawn["affine"][[i, j]])
    assert np.abs(a - b).mean() > 0.01  # the two copies differ


def test_clean_view_is_the_same_pairs_before_noise(quick):
    noisy = quick["test"]
    clean = load_pairs("test", quick=True, clean=True)
    assert torch.equal(noisy.labels, clean.labels)
    untouched = noisy.meta["image_noise"] == 0
    assert untouched.any()
    assert torch.equal(noisy.images[untouched], clean.images[untouched])
    heavy = noisy.meta["image_noise"] > 0.5
    assert (noisy.images[heavy] - clean.images[heavy]).abs().mean() > 0.15


BUILD = ("import sys, json; from mmhelpers.embedded import store; "
         "a, m = store.load_arrays(sys.argv[1], quick=True, verbose=False); print(json.dumps(m['fingerprint']))")


def test_determinism_across_two_fresh_processes(tmp_path):
    prints = []
    for run in ("a", "b"):
        env = dict(os.environ, MM_CACHE_DIR=str(tmp_path / run))
        out = subprocess.run([sys.executable, "-c", BUILD, "test"], env=env, capture_output=True, text=True,
                             check=True)
        prints.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert prints[0] == prints[1]
    arrays = [cache.read_arrays(next((tmp_path / r / "datasets").iterdir()))[0] for r in ("a", "b")]
    for key in arrays[0]:
        assert np.array_equal(arrays[0][key], arrays[1][key]), key


def test_quick_is_a_prefix_of_the_plan():
    src_labels = mnist.mnist_sources("test")[1]
    voices = plan.voice_pool("test")
    small, large = (plan.make_plan("test", n, 0, src_labels, voices) for n in (50, 120))
    for key in small:
        assert np.array_equal(small[key], large[key][:50]), key


def test_partial_or_corrupt_cache_is_rebuilt(quick, cache_dir, monkeypatch):
    monkeypatch.setenv("MM_CACHE_DIR", str(cache_dir))
    folder = store.cache_folder("test", plan.QUICK_SIZES["test"])
    fp = cache.read_manifest(folder)["fingerprint"]
    path = folder / "audio.npy"
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF  # flip one byte: same size, different content
    path.write_bytes(bytes(raw))
    with pytest.raises(cache.CacheMiss, match="digest"):
        cache.read_arrays(folder)
    assert load_pairs("test", quick=True).fingerprint == fp  # rebuilt, identical
    (folder / "labels.npy").unlink()  # partial entry
    assert load_pairs("test", quick=True).fingerprint == fp
    (folder / "manifest.json").write_text("{not json")
    assert load_pairs("test", quick=True).fingerprint == fp
    assert not [p for p in folder.parent.iterdir() if ".tmp-" in p.name]  # no leftovers


def test_corruptions_scale_with_severity():
    rng = np.random.default_rng(0)
    img = np.zeros((28, 28), np.float32)
    img[8:20, 12:16] = 1.0
    diffs = [np.abs(corrupt.corrupt_image(img, s, np.random.default_rng(1))[0] - img).mean() for s in (0, .3, .7, 1)]
    assert diffs[0] == 0 and diffs == sorted(diffs)
    t = np.arange(8000) / 8000
    wave = (np.sin(2 * np.pi * 300 * t) * (np.abs(t - 0.5) < 0.2)).astype(np.float32)
    for kind in corrupt.AUDIO_KINDS:
        errs = [np.abs(corrupt.corrupt_audio(wave, s, np.random.default_rng(2), kind=kind)[0] - wave).mean()
                for s in (0, .3, 1)]
        assert errs[0] == 0 and errs[1] < errs[2], kind
    with pytest.raises(ValueError, match="severity"):
        corrupt.corrupt_image(img, 1.5, rng)
    with pytest.raises(ValueError, match="kind"):
        corrupt.corrupt_audio(wave, 0.5, rng, kind="thunder")
    assert np.array_equal(img[8:20, 12:16], np.ones((12, 4)))  # input untouched
