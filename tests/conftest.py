"""Fixtures shared by several test modules."""

import pytest
import torch


@pytest.fixture
def one_thread_tmp_cache(tmp_path, monkeypatch):
    """A private cache folder (nothing trained is reused or left behind), no forced retraining, and
    one torch thread: tiny models run as fast on one, and do not fight other processes for the cores."""
    monkeypatch.setenv("MM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MM_RETRAIN", raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
