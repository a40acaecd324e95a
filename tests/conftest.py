"""Fixtures shared by several test modules."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """One torch thread: tiny models run as fast on one, and do not fight other processes for the
    cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def seeded_one_thread(one_thread):
    """One torch thread, and torch's global seed set to 0."""
    torch.manual_seed(0)


@pytest.fixture
def one_thread_tmp_cache(tmp_path, monkeypatch, one_thread):
    """A private cache folder (nothing trained is reused or left behind), no forced retraining, and
    one torch thread."""
    monkeypatch.setenv("MM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MM_RETRAIN", raising=False)
