"""The on-disk array cache: digests checked once per file version, copy-on-write memory maps."""

import numpy as np
import pytest

from mmhelpers.cache import arrays as cache


@pytest.fixture
def entry(tmp_path):
    folder = tmp_path / "entry"
    arrays = {"a": np.arange(1000, dtype=np.float32), "b": np.ones((3, 4), np.uint8)}
    cache.write_arrays(folder, arrays, {"settings": "test"})
    return folder, arrays


def test_a_file_changed_after_its_last_check_is_caught(entry):
    folder, arrays = entry
    loaded, _ = cache.read_arrays(folder)  # first read: digests checked and stamped
    assert (folder / cache.VERIFIED).is_file()
    assert np.array_equal(loaded["a"], arrays["a"])
    path = folder / "a.npy"
    raw = bytearray(path.read_bytes())
    raw[-4] ^= 0xFF  # same size, different content, new modification time
    path.write_bytes(bytes(raw))
    with pytest.raises(cache.CacheMiss, match="digest"):
        cache.read_arrays(folder)


def test_stamp_skips_rehashing_unchanged_files(entry, monkeypatch):
    folder, _ = entry
    cache.read_arrays(folder)
    monkeypatch.setattr(cache, "file_digest", lambda path: pytest.fail(f"re-hashed {path}"))
    cache.read_arrays(folder)  # unchanged since the stamped check: no digest computed


def test_memory_map_is_copy_on_write(entry):
    folder, arrays = entry
    loaded, _ = cache.read_arrays(folder, mmap=True)
    assert isinstance(loaded["a"], np.memmap)
    loaded["a"][:10] = -1.0  # private to this process
    again, _ = cache.read_arrays(folder)
    assert np.array_equal(again["a"], arrays["a"])


def test_read_or_build_builds_once_then_maps_the_cached_arrays(tmp_path):
    folder, calls = tmp_path / "entry", []

    def build():
        calls.append(1)
        return {"x": np.arange(6, dtype=np.float32)}

    first = cache.read_or_build(folder, build, {"what": "test"})
    again = cache.read_or_build(folder, build, {"what": "test"})
    assert len(calls) == 1 and isinstance(again["x"], np.memmap)
    assert np.array_equal(first["x"], again["x"]) and cache.read_manifest(folder)["what"] == "test"
    (folder / "x.npy").write_bytes(b"broken")   # a corrupt entry is built again
    assert np.array_equal(cache.read_or_build(folder, build, {"what": "test"})["x"], first["x"]) and len(calls) == 2
