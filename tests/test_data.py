"""PairedData, PairedLoader and the course-file loader (on generated fixtures)."""

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmhelpers.data import DataError, PairedData, PairedLoader, load_course_files, load_pairs
from mmhelpers.data.grouping import is_grouped, pair_groups, validation_indices


def make_pairs(n, seed=0, has_labels=True):
    """Pairs whose image, audio and meta all encode the pair id, so any mix-up is visible."""
    ids = torch.arange(n, dtype=torch.float32)
    images = ids.view(n, 1, 1, 1).expand(n, 1, 28, 28).clone()
    audio = ids.view(n, 1, 1).expand(n, 1, 8000).clone()
    labels = torch.arange(n) % 10 if has_labels else torch.full((n,), -1)
    return PairedData(images, audio, labels.long(), {"id": np.arange(n)}, has_labels, "fixture", "fp")


def assert_aligned(d: PairedData):
    ids = d.meta["id"]
    assert torch.equal(d.images[:, 0, 0, 0], torch.as_tensor(ids, dtype=torch.float32))
    assert torch.equal(d.audio[:, 0, 0], torch.as_tensor(ids, dtype=torch.float32))
    assert torch.equal(d.labels, torch.as_tensor(ids % 10 if d.has_labels else -np.ones(len(ids)), dtype=torch.long))


# ----------------------------------------------------------------------------- grouped validation split

def test_pairs_linked_through_a_source_or_a_variant_share_a_group():
    # pair 0 and 1 share source 7; pair 1 and 2 share variant f1 (different accents); pair 3 stands alone
    meta = {"image_source": np.array([7, 7, 8, 9]), "voice": np.array(["en+m1", "en+f1", "fr+f1", "de+m2"])}
    groups = pair_groups(meta)
    assert groups[0] == groups[1] == groups[2] != groups[3]
    assert pair_groups({"id": np.arange(4)}) is None  # the course's files: nothing links pairs


def grouped_pairs(n_groups, per_group=20):
    """``n_groups`` groups of whole blocks of ten labels, each group its own sources and variant."""
    d = make_pairs(n_groups * per_group)
    g = np.arange(len(d)) // per_group
    d.meta.update(image_source=g * 1000 + np.arange(len(d)) % 3, voice=np.array([f"en+v{k}" for k in g]))
    return d, g


def test_validation_part_holds_out_whole_groups_stratified():
    d, g = grouped_pairs(10)
    train, val = validation_indices(d, 0.2, seed=0)
    assert not set(g[train]) & set(g[val]) and len(val) == 40
    assert np.array_equal(np.bincount(d.labels.numpy()[val]), np.full(10, 4))
    assert np.array_equal(validation_indices(d, 0.2, seed=0)[1], val)  # reproducible
    assert not np.array_equal(validation_indices(d, 0.2, seed=1)[1], val)  # the seed chooses the groups


def test_without_sources_and_voices_the_split_is_stratified_random():
    d = make_pairs(100)
    assert not is_grouped(d)
    train, val = validation_indices(d, 0.2, seed=0)
    assert np.array_equal(val, d.split_indices(0.2, seed=0)[1])


def test_too_few_groups_for_a_grouped_split_is_an_error_naming_the_data():
    d, _ = grouped_pairs(3)
    with pytest.raises(ValueError, match="fixture: only 3 groups"):
        validation_indices(d, 0.2, seed=0)
    with pytest.raises(ValueError, match="val_fraction"):
        validation_indices(d, 1.5, seed=0)


# ----------------------------------------------------------------------------- container + loader

@settings(max_examples=40, deadline=None)
@given(n=st.integers(10, 120), frac=st.floats(0.1, 0.5), seed=st.integers(0, 10_000))
def test_split_keeps_pairs_and_partitions(n, frac, seed):
    d = make_pairs(n)
    tr, va = d.split(frac, seed)
    assert_aligned(tr), assert_aligned(va)
    assert sorted(np.concatenate([tr.meta["id"], va.meta["id"]]).tolist()) == list(range(n))
    assert tr.fingerprint != va.fingerprint != d.fingerprint


def test_split_is_stratified_and_reproducible():
    d = make_pairs(500)
    tr, va = d.split(0.2, seed=3)
    assert np.bincount(va.labels.numpy(), minlength=10).tolist() == [10] * 10
    assert np.array_equal(d.split(0.2, seed=3)[1].meta["id"], va.meta["id"])
    assert not np.array_equal(d.split(0.2, seed=4)[1].meta["id"], va.meta["id"])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), bs=st.integers(1, 64), seed=st.integers(0, 1000), shuffle=st.booleans())
def test_loader_yields_every_pair_once_and_never_breaks_pairs(n, bs, seed, shuffle):
    d = make_pairs(n)
    loader = PairedLoader(d, bs, shuffle=shuffle, seed=seed)
    for _ in range(2):  # two epochs
        seen = []
        for images, audio, labels in loader:
            ids = images[:, 0, 0, 0]
            assert torch.equal(ids, audio[:, 0, 0])
            assert torch.equal(labels, ids.long() % 10)
            assert len(labels) <= bs
            seen.extend(ids.long().tolist())
        assert sorted(seen) == list(range(n))
    assert len(loader) == -(-n // bs)


def test_loader_reshuffles_each_epoch_reproducibly():
    a = [b[2].tolist() for b in PairedLoader(make_pairs(50), 50, seed=1)]
    loader = PairedLoader(make_pairs(50), 50, seed=1)
    e1, e2 = next(iter(loader))[0][:, 0, 0, 0], next(iter(loader))[0][:, 0, 0, 0]
    assert not torch.equal(e1, e2)
    assert a == [next(iter(PairedLoader(make_pairs(50), 50, seed=1)))[2].tolist()]


def test_indexing_variants_and_errors():
    d = make_pairs(20)
    for idx in (torch.tensor([3, 1, 7]), np.array([3, 1, 7]), [3, 1, 7]):
        sub = d[idx]
        assert sub.meta["id"].tolist() == [3, 1, 7]
        assert_aligned(sub)
    assert len(d[2:5]) == 3
    with pytest.raises(TypeError):
        d[3]
    with pytest.raises(DataError):
        PairedData(d.images, d.audio[:5], d.labels, {})
    with pytest.raises(ValueError, match="val_fraction"):
        d.split(1.5)


# ----------------------------------------------------------------------------- course files

STEMS = ["training_images", "training_images_labels", "training_audio", "training_audio_labels",
         "test_images", "test_audio", "test_images_labels", "test_audio_labels"]


def write_course(root, n_train=12, n_test=7, img_layout=(1, 28, 28), aud_layout=(1, 8000), fmt=".pth",
                 label_dtype=np.int64, test_labels=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("training", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, n)
        arrays[f"{split}_images"] = rng.random((n, *img_layout)).astype(np.float32)
        arrays[f"{split}_audio"] = (rng.standard_normal((n, *aud_layout)) * 20).astype(np.float32)
        if split == "training" or test_labels:
            arrays[f"{split}_images_labels"] = labels.astype(label_dtype)
            arrays[f"{split}_audio_labels"] = labels.astype(label_dtype)
    for stem, arr in arrays.items():
        if fmt == ".npy":
            np.save(root / f"{stem}.npy", arr)
        else:
            torch.save(torch.from_numpy(arr), root / f"{stem}.pth")
    return arrays


@pytest.mark.parametrize("img_layout", [(1, 28, 28), (28, 28), (784,)])
@pytest.mark.parametrize("aud_layout", [(1, 8000), (8000,)])
@pytest.mark.parametrize("fmt", [".pth", ".npy"])
def test_course_layouts_load_canonically_and_unchanged(tmp_path, img_layout, aud_layout, fmt):
    arrays = write_course(tmp_path, img_layout=img_layout, aud_layout=aud_layout, fmt=fmt)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    out = load_course_files(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # nothing written
    for split, prefix, n in (("train", "training", 12), ("test", "test", 7)):
        d = out[split]
        assert d.images.shape == (n, 1, 28, 28) and d.images.dtype == torch.float32
        assert d.audio.shape == (n, 1, 8000) and d.audio.dtype == torch.float32
        assert d.labels.shape == (n,) and d.labels.dtype == torch.int64 and d.has_labels
        assert np.array_equal(d.images.numpy().reshape(n, -1), arrays[f"{prefix}_images"].reshape(n, -1))
        assert np.array_equal(d.audio.numpy().reshape(n, -1), arrays[f"{prefix}_audio"].reshape(n, -1))
        assert np.array_equal(d.labels.numpy(), arrays[f"{prefix}_images_labels"])
        assert all(len(v) == n for v in d.meta.values())


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64])
def test_course_label_dtypes(tmp_path, dtype):
    write_course(tmp_path, label_dtype=dtype)
    assert load_course_files(tmp_path)["train"].labels.dtype == torch.int64


def test_course_test_set_without_labels(tmp_path):
    write_course(tmp_path, test_labels=False)
    test = load_course_files(tmp_path)["test"]
    assert not test.has_labels and (test.labels == -1).all() and len(test) == 7


def test_load_pairs_with_source_and_quick(tmp_path):
    write_course(tmp_path, n_train=1500, n_test=20)
    full = load_pairs("train", source=tmp_path, quick=False)
    quick = load_pairs("train", source=tmp_path, quick=True)
    assert len(full) == 1500 and len(quick) == 1000
    assert np.bincount(quick.labels.numpy(), minlength=10).min() > 0
    with pytest.raises(ValueError, match="split"):
        load_pairs("validation", source=tmp_path)


def _break(root, stem, value):
    for p in root.glob(f"{stem}.*"):
        p.unlink()
    if value is not None:
        torch.save(value, root / f"{stem}.pth")


@pytest.mark.parametrize("case, stem, value, match", [
    ("missing", "training_audio", None, r"missing course file .*training_audio.*Expected"),
    ("count", "training_audio", torch.zeros(11, 1, 8000), r"same number of pairs.*training_audio.pth.: 11"),
    ("shape", "test_images", torch.zeros(7, 3, 28, 28), r"test_images.pth: expected images of shape"),
    ("audio shape", "training_audio", torch.zeros(12, 1, 4000), r"training_audio.pth: expected audio"),
    ("nan", "training_images", torch.full((12, 1, 28, 28), float("nan")), r"training_images.pth: contains 9408 NaN"),
    ("inf", "test_audio", torch.full((7, 8000), float("inf")), r"test_audio.pth: contains .* NaN/Inf"),
    ("range", "training_images_labels", torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1]),
     r"training_images_labels.pth: labels must be integers 0-9; 1 are not \(first at index 10"),
    ("fraction", "training_audio_labels", torch.full((12,), 0.5), r"training_audio_labels.pth: labels must be integers"),
    ("one label file", "test_audio_labels", None, r"found only one of test_images_labels / test_audio_labels"),
    ("not numeric", "training_images", {"a": 1}, r"training_images.pth: could not read|expected a numeric"),
])
def test_course_errors_name_the_file(tmp_path, case, stem, value, match):
    write_course(tmp_path)
    _break(tmp_path, stem, value)
    with pytest.raises(DataError, match=match):
        load_course_files(tmp_path)


def test_course_label_disagreement_reports_count_and_first_index(tmp_path):
    arrays = write_course(tmp_path)
    bad = arrays["training_audio_labels"].copy()
    bad[[4, 9]] = (bad[[4, 9]] + 1) % 10
    torch.save(torch.from_numpy(bad), tmp_path / "training_audio_labels.pth")
    with pytest.raises(DataError, match=r"disagree for 2 of 12 pairs \(first at index 4"):
        load_course_files(tmp_path)


def test_course_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_course_files(tmp_path / "nope")
    assert issubclass(DataError, ValueError)


def test_mm_data_env_selects_course_files(tmp_path, monkeypatch):
    write_course(tmp_path)
    monkeypatch.setenv("MM_DATA", str(tmp_path))
    assert load_pairs("test", quick=False).name == "course test"
    assert os.environ["MM_DATA"] == str(tmp_path)
