"""The benchmark: ``python -m tools.bench [--quick]``; the last line printed is one JSON object.

Measures, each in a fresh subprocess so that caches, allocator settings and peak memory are clean:

* the embedded dataset's cold build time, cached load time and peak memory (``--quick``: the
  quick-mode subset);
* seconds per training epoch (a training pass, then validation and test loss and accuracy, as
  the exam records them) of our trainer against a tutorial-style reference loop (a per-item
  ``Dataset`` + ``DataLoader``, glibc's default allocator) on the same fusion model and data,
  giving ``train_epoch_speedup`` = reference / ours for 1e's intermediate fusion as the series
  trains it: a head on the frozen encoders of the unimodal models, whose outputs our trainer
  computes once per split (that one-off cost reported apart) instead of in every batch. The same
  for 1f's late fusion (``late_*``), and for the intermediate-fusion network trained from scratch,
  every weight (``end_to_end_*``: the trainer's own speed, with log-mel features precomputed);
* the whole notebook series' wall time: in quick mode always; without ``--quick`` also in full
  mode with a cold and then a warm model cache, per notebook. ``--baseline DIR`` runs another
  checkout's series beside it, mode by mode, and reports each notebook's time over the baseline's
  (``slowdown_vs_baseline_*``): how a change of the code changed the series' speed, measured in one
  run (this machine's speed drifts by up to ~45% from hour to hour).

Targets (2-core CPU), as ratios to the yardstick, one epoch of the tutorial-style reference loop
on the intermediate-fusion network from scratch (``end_to_end_epoch_s_reference``, measured in the
same run, before and again after the full cold series: ``yardstick_epoch_s`` is their mean): every
notebook's full cold time <= 15 yardstick epochs, the warm series <= 10% of the
cold one, speedup >= 1.5, peak memory of the series <= 3 GiB (``tools/perf_report.py`` derives the
ratios). Timings are measured, never asserted in tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from mmhelpers import config

from . import run_series

ROOT = config.project_root()  # the checkout: where ``python -m tools.*`` is run
ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}


#: the largest memory in use at once by all processes of one measured command (GiB), per command
PEAKS: dict[str, float] = {}


def _tree_pss_gib(root: int) -> float | None:
    """Summed proportional set size (PSS: shared pages split between their users) of ``root`` and
    all its descendants, from ``/proc`` (Linux); ``None`` where that is not available."""
    try:
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
                except OSError:
                    pass
        todo, total = [root], 0
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            except (OSError, StopIteration):
                pass
        return total / 2**20
    except OSError:
        return None


def _run(args: list[str], env: dict, timeout: int = 3600, label: str | None = None,
         cwd: Path = ROOT, allowed: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Run ``python <args>`` in ``cwd``; return (seconds, stdout); an exit code outside ``allowed``
    raises. With ``label``, the peak summed PSS of the whole process tree (kernels included), sampled
    every 0.5 s, goes to ``PEAKS[label]``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=err, text=True, cwd=cwd)
        peak = 0.0
        while proc.poll() is None:
            if label and (pss := _tree_pss_gib(proc.pid)) is not None:
                peak = max(peak, pss)
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                raise RuntimeError(f"{' '.join(args)} ran past {timeout} s")
            time.sleep(0.5)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode not in allowed:
        raise RuntimeError(f"{' '.join(args)} failed:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    if label:
        PEAKS[label] = round(peak, 2)
    return time.perf_counter() - t0, stdout


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
    """In a child process: seconds per epoch of training a fusion model, as the exam's loop does
    it: one pass of training, then loss and accuracy on the validation and the test split.
    ``*_intermediate`` and ``*_late``: :func:`_frozen_epoch_child`. Otherwise the intermediate-fusion
    network from scratch, every weight training:

    ``ours``: :func:`mmhelpers.training.trainer.fit` (batches sliced from preloaded tensors, batch 128,
    inference mode and batch 1024 for evaluation, the allocator fix, log-mel features computed
    once per split by :mod:`mmhelpers.features.precompute`; that one-off cost is reported apart, as
    ``precompute_s``). ``reference``: the tutorial
    pattern (a per-item ``Dataset`` and ``DataLoader``, batch 64, ``torch.no_grad`` evaluation with the
    same loaders, glibc's default allocator). Same model, data, optimiser and learning rate.
    """

    from mmhelpers.data.splits import load_splits
    from mmhelpers.features.precompute import for_model
    from mmhelpers.models.classifier import fit_normalisation
    from mmhelpers.models.encoders import ImageEncoder, LogMelEncoder
    from mmhelpers.models.fusion import IntermediateFusion
    from mmhelpers.training.trainer import fit

    splits = load_splits(quick=quick)
    config.seed_everything(0)
    if kind.endswith(("_intermediate", "_late")):
        return _frozen_epoch_child(kind, splits, epochs)
    model = IntermediateFusion(ImageEncoder(), LogMelEncoder())
    if kind == "ours":
        t0 = time.perf_counter()
        tr, va, te = for_model(model, *_unidentified(splits))
        precompute_s = time.perf_counter() - t0
        fit_normalisation(model, tr.images, tr.audio)
        history = fit(model, tr, va, te, epochs=epochs, batch_size=128, lr=1e-3, progress=False)
        return {"seconds_per_epoch": min(e["seconds"] for e in history.epochs), "pairs": len(splits.train),
                "precompute_s": precompute_s, "features": tr.features}
    fit_normalisation(model, splits.train.images, splits.train.audio)
    return _reference_epochs(model, splits, epochs, lr=1e-3)


def _unidentified(splits) -> list:
    """Copies of the splits without fingerprints: what is precomputed from them is computed (and
    timed) in this process, never read from a cache or stored."""
    return [dataclasses.replace(d, fingerprint="") for d in splits]


def _reference_epochs(model, splits, epochs: int, lr: float) -> dict:
    """The tutorial-style loop: per-item ``Dataset``, ``DataLoader`` (batch 64), ``no_grad`` evaluation."""
    import torch
    import torch.nn.functional as F

    class PerItem(torch.utils.data.Dataset):
        def __init__(self, data):
            self.data = data

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            return self.data.images[i], self.data.audio[i], self.data.labels[i]

    loader = torch.utils.data.DataLoader(PerItem(splits.train), batch_size=64, shuffle=True)
    evals = [torch.utils.data.DataLoader(PerItem(d), batch_size=64) for d in (splits.val, splits.test)]
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for images, audio, labels in loader:
            loss = F.cross_entropy(model(images, audio), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for ev in evals:
                total = correct = 0.0
                for images, audio, labels in ev:
                    out = model(images, audio)
                    total += F.cross_entropy(out, labels, reduction="sum").item()
                    correct += (out.argmax(1) == labels).sum().item()
        times.append(time.perf_counter() - t0)
    return {"seconds_per_epoch": min(times), "pairs": len(splits.train)}


def _frozen_epoch_child(kind: str, splits, epochs: int) -> dict:
    """A fusion of two frozen members, as 1e (``*_intermediate``) and 1f (``*_late``) train it:
    only the fusion's own weights train. ``reference_*``: the tutorial loop, which runs both
    member networks in every batch. ``ours_*``: what
    :func:`mmhelpers.training.frozen_members.train_on_frozen_members` does, the members' outputs
    computed once per split (timed apart, ``precompute_s``), then ``fit`` on them. Untrained
    members: the timing does not depend on their weights."""
    from mmhelpers.models.classifier import fit_normalisation
    from mmhelpers.models.frozen import FuseOutputs
    from mmhelpers.training import catalogue
    from mmhelpers.training.frozen_members import member_outputs
    from mmhelpers.training.recipes import RECIPES
    from mmhelpers.training.trainer import fit

    name = kind.split("_", 1)[1]
    members = [catalogue.build(m) for m in catalogue.MEMBERS]
    for m in members:
        fit_normalisation(m, splits.train.images, splits.train.audio)
    model = catalogue.build(name, *members)
    lr, batch_size = RECIPES[name].lr, RECIPES[name].batch_size
    if kind.startswith("reference"):
        return _reference_epochs(model, splits, epochs, lr=lr)
    t0 = time.perf_counter()
    outputs = [member_outputs(model, d) for d in _unidentified(splits)]
    precompute_s = time.perf_counter() - t0
    history = fit(FuseOutputs(model), *outputs, epochs=epochs, batch_size=batch_size, lr=lr, progress=False)
    return {"seconds_per_epoch": min(e["seconds"] for e in history.epochs), "pairs": len(splits.train),
            "precompute_s": precompute_s}


# ----------------------------------------------------------------------------- parts

def bench_dataset(quick: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmbench-") as tmp:
        args = ["-m", "mmhelpers.embedded"] + (["--quick"] if quick else [])
        before = _peak_children_gb()
        cold, _ = _run(args, _env(Path(tmp), quick), label="dataset build")
        peak = _peak_children_gb()
        warm, _ = _run(["-c", "import time; t=time.perf_counter(); from mmhelpers.data import load_pairs; "
                              "load_pairs('train'); load_pairs('test'); print(time.perf_counter()-t)"],
                       _env(Path(tmp), quick))
    return {"dataset_cold_build_s": round(cold, 1), "dataset_cached_load_s": round(warm, 2),
            "dataset_build_peak_gb": round(max(peak, before), 2)}


def _epoch_in_child(kind: str, quick: bool, epochs: str) -> dict:
    """One ``--_epoch kind`` measurement in a fresh process (glibc's default allocator for the
    reference loop): its JSON line."""
    _, out = _run(["-m", "tools.bench", "--_epoch", kind, "--_epochs", epochs] + (["--quick"] if quick else []),
                  _env(None, quick, allocator=kind.startswith("ours")))
    return json.loads(out.strip().splitlines()[-1])


def bench_epochs(quick: bool, rounds: int = 2) -> dict:
    """Each loop in its own process, the kinds alternating for ``rounds`` rounds; per kind the
    fastest epoch. This machine's speed drifts by 10-20% from one minute to the next, and one
    process per kind, run one after the other, turned that drift into the ratio (1.46, 1.39 and
    1.10 in three runs within 5 minutes, 23:30-23:55)."""
    epochs = "1" if quick else "2"
    kinds = [f"{side}{what}" for what in ("_intermediate", "", "_late") for side in ("reference", "ours")]
    res = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            res[kind].append(_epoch_in_child(kind, quick, epochs))
    best = {kind: min(r["seconds_per_epoch"] for r in runs) for kind, runs in res.items()}
    out = {"epoch_s_by_round": {k: [round(r["seconds_per_epoch"], 3) for r in runs] for k, runs in res.items()}}
    # train_epoch_speedup: 1e's fusion model as the series trains it (a head on frozen encoders);
    # end_to_end_*: the same architecture trained from scratch, every weight (the trainer alone)
    for what, label in (("_intermediate", ""), ("", "end_to_end_"), ("_late", "late_")):
        ref, ours = best[f"reference{what}"], best[f"ours{what}"]
        out.update({f"{label}epoch_s_reference": round(ref, 3), f"{label}epoch_s_ours": round(ours, 3),
                    f"{label}train_epoch_speedup": round(ref / ours, 2),
                    f"{label}epoch_ours_precompute_s": round(min(r["precompute_s"] for r in res[f"ours{what}"]), 2)})
    return out


def yardstick_after(before: float, rounds: int = 2) -> dict:
    """The yardstick (the reference loop's epoch of the intermediate-fusion network from scratch)
    measured again right after the full cold series, which takes a third of an hour: the machine's
    speed drifts by 10-20% within minutes, so the notebooks' times are set against the mean of the
    measurements before and after them (``yardstick_epoch_s``), not against one taken earlier."""
    after = min(_epoch_in_child("reference", False, "2")["seconds_per_epoch"] for _ in range(rounds))
    return {"yardstick_epoch_s_after": round(after, 3), "yardstick_epoch_s": round((before + after) / 2, 3)}


def bench_series(quick: bool, cache: Path, label: str, tree: Path = ROOT, prefix: str = "",
                 keep: Path | None = None) -> dict:
    """The notebook series of the checkout ``tree`` (this one, or another version of the project for
    a comparison in the same run: its own runner and package, ``prefix`` on its keys). ``keep``: a
    folder for the executed notebooks (else they go to a temporary one)."""
    runner = "tools.run_series" if (tree / "tools" / "run_series.py").is_file() else "mmhelpers.series"
    env = _env(cache, quick)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tree), env.get("PYTHONPATH", "")) if p)
    with nullcontext(keep) if keep else tempfile.TemporaryDirectory(prefix="mmseries-") as out:
        # exit code 1: every notebook ran, and the runner's summary lists a claim that failed or an error
        seconds, stdout = _run(["-m", runner, "--out", str(out)] + (["--quick"] if quick else []), env,
                               timeout=7200, label=f"{prefix}series {label}", cwd=tree, allowed=(0, 1))
        # the runner prints its times as one JSON line (older runners: the last line; now a summary follows)
        per_notebook = next(json.loads(line) for line in reversed(stdout.strip().splitlines()) if line.startswith("{"))
        said, _ = run_series.summary(Path(out), [k for k in per_notebook if k.endswith(".ipynb")])
    return {f"{prefix}series_{label}_s": round(seconds, 1), f"{prefix}series_{label}_notebooks_s": per_notebook,
            f"{prefix}series_{label}_summary": said.splitlines()}


def slowdowns(result: dict, labels, min_seconds: float = 5.0) -> dict:
    """Per notebook, this checkout's time over the baseline's, for notebooks that take at least
    ``min_seconds`` in the baseline (a 2 s notebook's ratio is mostly noise)."""
    out = {}
    for label in labels:
        ours, theirs = result[f"series_{label}_notebooks_s"], result[f"baseline_series_{label}_notebooks_s"]
        out[f"slowdown_vs_baseline_{label}"] = {k: round(ours[k] / v, 2) for k, v in theirs.items()
                                                if k in ours and k != "total" and v >= min_seconds}
    ratios = [r for d in out.values() for r in d.values()]
    out["max_slowdown_vs_baseline"] = max(ratios, default=None)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark the dataset, the trainer and the notebook series.")
    ap.add_argument("--quick", action="store_true", help="fast variant: quick-mode data and series only")
    ap.add_argument("--skip", nargs="*", default=[], choices=["dataset", "epochs", "series"])
    ap.add_argument("--series-modes", nargs="*", default=None, choices=["quick", "full_cold", "full_warm"],
                    help="the series' modes to run (default: quick, and without --quick also full cold and warm)")
    ap.add_argument("--baseline-first", action="store_true",
                    help="run the baseline's series before this checkout's in each mode (a second run in the "
                         "other order separates a real difference from the machine's drift)")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout of the project (e.g. a git worktree of an older commit): its series "
                         "runs beside this one's, each mode in turn, and the per-notebook slowdown is reported")
    ap.add_argument("--keep-cold", type=Path, default=None,
                    help="keep this checkout's full cold run of the series in this folder (e.g. reports/executed: "
                         "the executed notebooks then serve as the series' own run for tools.export and tools.claims)")
    ap.add_argument("--_epoch", choices=[f"{side}{what}" for what in ("", "_intermediate", "_late")
                                         for side in ("ours", "reference")], help=argparse.SUPPRESS)
    ap.add_argument("--_epochs", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._epoch:
        print(json.dumps(_epoch_child(args._epoch, args.quick, args._epochs)))
        return 0
    result = {"quick": args.quick, "cpu_count": os.cpu_count()}
    if "dataset" not in args.skip:
        result.update(bench_dataset(args.quick))
        print(f"dataset: {result}", flush=True)
    if "epochs" not in args.skip:
        result.update(bench_epochs(args.quick))
        print(f"epochs: {result}", flush=True)
    if "series" not in args.skip:
        trees = [(ROOT, "")] + ([(args.baseline.resolve(), "baseline_")] if args.baseline else [])
        if args.baseline_first:
            trees.reverse()
        modes = [(True, "quick")] + ([] if args.quick else [(False, "full_cold"), (False, "full_warm")])
        if args.series_modes is not None:
            modes = [(label == "quick", label) for label in args.series_modes]
        with tempfile.TemporaryDirectory(prefix="mmcache-") as caches:
            for quick, label in modes:      # the two checkouts in turn: the machine's drift hits both
                for tree, prefix in trees:
                    keep = args.keep_cold if (label == "full_cold" and not prefix) else None
                    result.update(bench_series(quick, Path(caches) / (prefix or "this"), label, tree, prefix, keep))
                    print(f"{prefix}series {label}: {result[f'{prefix}series_{label}_s']} s", flush=True)
                if label == "full_cold" and "end_to_end_epoch_s_reference" in result:
                    result.update(yardstick_after(result["end_to_end_epoch_s_reference"]))
                    print(f"yardstick after the cold series: {result['yardstick_epoch_s_after']} s", flush=True)
        if args.baseline:
            result.update(slowdowns(result, [label for _, label in modes]))
    result["peak_single_process_gb"] = round(_peak_children_gb(), 2)
    result["peak_memory_gib_by_run"] = PEAKS  # all processes of a run together (PSS)
    result["peak_memory_gib"] = max(PEAKS.values(), default=None)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
