"""The benchmark: ``python -m mmhelpers.bench [--quick]``; the last line printed is one JSON object.

Measures, each in a fresh subprocess so that caches, allocator settings and peak memory are clean:

* the embedded dataset's cold build time, cached load time and peak memory (``--quick``: the
  quick-mode subset);
* seconds per training epoch of our trainer against a tutorial-style reference loop (a per-item
  ``Dataset`` + ``DataLoader``, glibc's default allocator) on the same fusion model and data,
  giving ``train_epoch_speedup`` = reference / ours;
* the whole notebook series' wall time: in quick mode always; without ``--quick`` also in full
  mode with a cold and then a warm model cache.

Targets (2-core CPU): speedup >= 1.5, full series cold <= 8 min (incl. the dataset), warm <= 1 min,
quick <= 2 min, peak memory <= 3 GB. Timings are measured, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import config

ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}


def _run(args: list[str], env: dict, timeout: int = 3600) -> tuple[float, str]:
    """Run ``python -m mmhelpers.bench <args>`` or any module; return (seconds, stdout)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return time.perf_counter() - t0, out.stdout


def _peak_children_gb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB (Linux)


def _env(cache: Path | None, quick: bool, allocator: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENV and k not in ("MM_QUICK", "MM_RETRAIN")}
    if allocator:
        env.update(ALLOCATOR_ENV)
    if cache is not None:
        env["MM_CACHE_DIR"] = str(cache)
    if quick:
        env["MM_QUICK"] = "1"
    return env


# ----------------------------------------------------------------------------- epoch timing (child)

def _epoch_child(kind: str, quick: bool, epochs: int) -> dict:
    """In a child process: seconds per training epoch of the fusion model, ours or reference."""
    import torch
    import torch.nn.functional as F

    from . import experiments, models
    from .data import PairedLoader

    if kind == "ours":
        config.tune_allocator()
    splits = experiments.load_splits(quick=quick)
    config.seed_everything(0)
    model = models.build("intermediate")
    models.fit_normalisation(model, splits.train.images, splits.train.audio)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    if kind == "ours":
        batches = lambda: PairedLoader(splits.train, 128, shuffle=True, seed=0)  # noqa: E731
    else:  # the tutorial pattern: a per-item Dataset, a DataLoader, batch 64, default allocator
        class PerItem(torch.utils.data.Dataset):
            def __init__(self, data):
                self.data = data

            def __len__(self):
                return len(self.data)

            def __getitem__(self, i):
                return self.data.images[i], self.data.audio[i], self.data.labels[i]

        loader = torch.utils.data.DataLoader(PerItem(splits.train), batch_size=64, shuffle=True)
        batches = lambda: loader  # noqa: E731
    times = []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        for images, audio, labels in batches():
            loss = F.cross_entropy(model(images, audio), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return {"seconds_per_epoch": min(times), "pairs": len(splits.train)}


# ----------------------------------------------------------------------------- parts

def bench_dataset(quick: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmbench-") as tmp:
        args = ["-m", "mmhelpers.embedded"] + (["--quick"] if quick else [])
        before = _peak_children_gb()
        cold, _ = _run(args, _env(Path(tmp), quick))
        peak = _peak_children_gb()
        warm, _ = _run(["-c", "import time; t=time.perf_counter(); from mmhelpers.data import load_pairs; "
                              "load_pairs('train'); load_pairs('test'); print(time.perf_counter()-t)"],
                       _env(Path(tmp), quick))
    return {"dataset_cold_build_s": round(cold, 1), "dataset_cached_load_s": round(warm, 2),
            "dataset_build_peak_gb": round(max(peak, before), 2)}


def bench_epochs(quick: bool) -> dict:
    epochs = "1" if quick else "2"
    res = {}
    for kind in ("reference", "ours"):
        _, out = _run(["-m", "mmhelpers.bench", "--_epoch", kind, "--_epochs", epochs] + (["--quick"] if quick else []),
                      _env(None, quick, allocator=(kind == "ours")))
        res[kind] = json.loads(out.strip().splitlines()[-1])["seconds_per_epoch"]
    return {"epoch_s_reference": round(res["reference"], 2), "epoch_s_ours": round(res["ours"], 2),
            "train_epoch_speedup": round(res["reference"] / res["ours"], 2)}


def bench_series(quick: bool, cache: Path, label: str, jobs: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmseries-") as out:
        seconds, stdout = _run(["-m", "mmhelpers.series", "--out", out, "--jobs", str(jobs)]
                               + (["--quick"] if quick else []), _env(cache, quick), timeout=7200)
    per_notebook = json.loads(stdout.strip().splitlines()[-1])
    return {f"series_{label}_s": round(seconds, 1), f"series_{label}_notebooks_s": per_notebook}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark the dataset, the trainer and the notebook series.")
    ap.add_argument("--quick", action="store_true", help="fast variant: quick-mode data and series only")
    ap.add_argument("--skip", nargs="*", default=[], choices=["dataset", "epochs", "series"])
    ap.add_argument("--jobs-quick", type=int, default=2,
                    help="notebooks at once in the quick-mode series (as make notebooks-quick); full mode runs one "
                         "at a time, because two full-mode kernels together would exceed the 3 GB memory target")
    ap.add_argument("--_epoch", choices=["ours", "reference"], help=argparse.SUPPRESS)
    ap.add_argument("--_epochs", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._epoch:
        print(json.dumps(_epoch_child(args._epoch, args.quick, args._epochs)))
        return 0
    result = {"quick": args.quick, "cpu_count": os.cpu_count(), "jobs_quick": args.jobs_quick}
    if "dataset" not in args.skip:
        result.update(bench_dataset(args.quick))
        print(f"dataset: {result}", flush=True)
    if "epochs" not in args.skip:
        result.update(bench_epochs(args.quick))
        print(f"epochs: {result}", flush=True)
    if "series" not in args.skip:
        with tempfile.TemporaryDirectory(prefix="mmcache-") as cache:
            result.update(bench_series(True, Path(cache), "quick", args.jobs_quick))
            print(f"series quick: {result['series_quick_s']} s", flush=True)
            if not args.quick:
                result.update(bench_series(False, Path(cache), "full_cold", 1))
                print(f"series full cold: {result['series_full_cold_s']} s", flush=True)
                result.update(bench_series(False, Path(cache), "full_warm", 1))
                print(f"series full warm: {result['series_full_warm_s']} s", flush=True)
    result["peak_memory_gb"] = round(_peak_children_gb(), 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
