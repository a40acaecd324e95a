"""Write docs/performance.md from the benchmark's own JSON output.

    python -m tools.bench > bench.log                      # its last line is one JSON object
    python -m tools.perf_report bench.log docs/performance.md

Every number in the page comes from that JSON; the page says how it was measured and what the
targets are, never a diary of runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from mmhelpers.plots import tables

#: the series' one Markdown table writer, every cell as written
markdown_table = partial(tables.markdown_table, fmt="{}")

#: the yardstick: one epoch of the tutorial-style reference loop on the intermediate-fusion network
#: trained from scratch, measured in the same run (this machine's speed drifts; ratios do not): the
#: mean of its measurements before and after the full cold series where both exist, else the one before
YARDSTICK = "yardstick_epoch_s"
YARDSTICK_BEFORE = "end_to_end_epoch_s_reference"


def yardstick(r: dict) -> float | None:
    """The yardstick epoch (s) of a benchmark result: :data:`YARDSTICK`, or :data:`YARDSTICK_BEFORE`."""
    return r.get(YARDSTICK) or r.get(YARDSTICK_BEFORE)
TARGETS = {"train_epoch_speedup": ">= 1.5",
           "max_notebook_full_cold_yardstick_epochs": "<= 15",
           "series_full_warm_over_cold": "<= 0.10",
           "series_quick_yardstick_epochs": "",
           "series_full_cold_yardstick_epochs": "",
           "peak_memory_gib": "<= 3 GiB"}


def derived(r: dict) -> dict:
    """The ratios the targets are set in, from the measured seconds: each notebook's cold time (and the
    series') in yardstick epochs, and the warm series over the cold one."""
    out = {}
    yard = yardstick(r)
    cold = r.get("series_full_cold_notebooks_s")
    if yard and cold:
        out["notebook_full_cold_yardstick_epochs"] = {k: round(v / yard, 1) for k, v in cold.items()
                                                      if k not in ("total", "dataset")}
        out["max_notebook_full_cold_yardstick_epochs"] = max(out["notebook_full_cold_yardstick_epochs"].values())
        out["series_full_cold_yardstick_epochs"] = round(r["series_full_cold_s"] / yard, 1)
    if yard and "series_quick_s" in r:
        out["series_quick_yardstick_epochs"] = round(r["series_quick_s"] / yard, 1)
    if "series_full_cold_s" in r and "series_full_warm_s" in r:
        out["series_full_warm_over_cold"] = round(r["series_full_warm_s"] / r["series_full_cold_s"], 3)
    return out

METHOD = """\
Measured with `make bench` (`python -m tools.bench`), each part in a fresh process with fresh temporary
caches, on the project's 2-core CPU (no GPU). This machine's speed drifts by up to ~45% from hour to hour,
so compare numbers within one run only: the benchmark's yardstick is the tutorial-style reference epoch
(a per-item `Dataset` + `DataLoader`, batch 64, glibc's default allocator) on the same model and data.
`--baseline DIR` runs another checkout's series in the same run, mode by mode, for before/after
comparisons of a change. Timings are measured here, never asserted in tests."""


NOT_HELPED = """\
## What did not help

Tried while building the series, measured with this benchmark's parts, and left out:

* two notebooks at once, one torch thread each: the series is CPU-bound on two cores (quick series
  119 s against 104 s one at a time); the runner instead starts the next notebook's kernel early;
* `torch.compile`: 27-39 s to compile, and slower afterwards on this CPU;
* jemalloc instead of glibc's allocator with `MALLOC_MMAP_MAX_=0`: slower;
* returning big tensors to the system at once (`MALLOC_MMAP_THRESHOLD_` of 32 MB instead of
  `MALLOC_MMAP_MAX_=0`): 4a's peak fell from 4.02 to 3.71 GiB, but its training cells took 30-50%
  longer; the notebooks keep the allocator as it is and release its free memory after every cell
  instead (`mmhelpers.notebook.release_free_memory`, glibc's `malloc_trim`), which with the
  relevance sweep on 7000 training pairs took 4a's peak to 2.41 GiB;
* `DataLoader` worker processes: they compete with training for the two cores; batches are sliced from
  preloaded tensors instead;
* the raw-audio CNN computed on 2-D layers one row high, with the first kernel's taps regrouped as
  channels: 33 ms per training step against 61 ms for the plain 1-D network (batch 128), but 1b's raw
  model trains in about 20 s of a one-minute notebook, less than the 30% that would justify showing
  learners a rewrite instead of the network a course writes; the 1-D network runs."""


def _notebooks(r: dict, labels) -> str:
    names = [k for k in r[f"series_{labels[0]}_notebooks_s"] if k != "total"]
    epochs = r.get("notebook_full_cold_yardstick_epochs", {})
    headers = ["notebook"] + [label.replace("_", " ") + " (s)" for label in labels]
    headers += ["full cold (yardstick epochs)"] if epochs else []
    base = [label for label in labels if f"baseline_series_{label}_notebooks_s" in r]
    headers += [f"baseline {label.replace('_', ' ')} (s)" for label in base]
    headers += [f"{label.replace('_', ' ')} / baseline" for label in base]
    rows = []
    for name in names:
        row = [name.removesuffix(".ipynb")] + [r[f"series_{label}_notebooks_s"].get(name, "") for label in labels]
        row += [epochs.get(name, "")] if epochs else []
        row += [r[f"baseline_series_{label}_notebooks_s"].get(name, "") for label in base]
        row += [r.get(f"slowdown_vs_baseline_{label}", {}).get(name, "") for label in base]
        rows.append(row)
    return markdown_table(headers, rows)


def render(r: dict) -> str:
    r = {**r, **derived(r)}
    labels = [label for label in ("quick", "full_cold", "full_warm") if f"series_{label}_s" in r]
    out = ["# Performance", "", METHOD, "", "## Headline numbers", "",
           f"Times are given in yardstick epochs: seconds over the reference loop's epoch of the intermediate-"
           f"fusion network measured in the same run ({yardstick(r) or 'not measured'} s here"
           + (f": the mean of {r[YARDSTICK_BEFORE]} s before and {r['yardstick_epoch_s_after']} s after the "
              f"full cold series" if YARDSTICK in r else "") + ").", ""]
    rows = [(k.replace("_", " "), r[k], TARGETS[k]) for k in TARGETS if k in r]
    out += [markdown_table(["measure", "measured", "target"], rows), ""]
    if "dataset_cold_build_s" in r:
        out += ["## The embedded dataset", "", markdown_table(
            ["cold build (s)", "cached load (s)", "build peak (GiB)"], [
            (r["dataset_cold_build_s"], r["dataset_cached_load_s"], r["dataset_build_peak_gb"])]), ""]
    if "epoch_s_reference" in r:
        rows = [(label, r[f"{p}epoch_s_reference"], r[f"{p}epoch_s_ours"], r[f"{p}train_epoch_speedup"],
                 r[f"{p}epoch_ours_precompute_s"])
                for label, p in (("1e's fusion head on frozen encoders", ""), ("1f's late fusion", "late_"),
                                 ("intermediate fusion from scratch", "end_to_end_"))]
        out += ["## One training epoch, ours against the tutorial loop", "",
                "An epoch is a training pass plus validation and test loss and accuracy, as the exam records them. "
                "Frozen members' outputs and log-mel features are computed once per split (last column, once).", "",
                markdown_table(["model", "reference (s)", "ours (s)", "speed-up", "computed once (s)"], rows), ""]
    if labels:
        out += ["## The notebook series", "", markdown_table(["mode", "wall time (s)"] + (
            ["baseline (s)"] if "baseline_series_quick_s" in r else []),
            [(label.replace("_", " "), r[f"series_{label}_s"], *([r[f"baseline_series_{label}_s"]]
              if f"baseline_series_{label}_s" in r else [])) for label in labels]), "",
            "Per notebook (the first notebook's time includes starting the series; `dataset` is the build):", "",
            _notebooks(r, labels), ""]
        said = [(label.replace("_", " "), line.strip()) for label in labels
                for line in r.get(f"series_{label}_summary", [])]
        if said:
            out += ["What the series runner's summary said after each run (a claim that did not hold or an "
                    "error is listed under its run):", "", markdown_table(["mode", "summary"], said), ""]
    if r.get("peak_memory_gib_by_run"):
        out += ["## Memory", "", "Peak proportional set size of all processes of a run together (GiB):", "",
                markdown_table(["run", "peak (GiB)"], sorted(r["peak_memory_gib_by_run"].items())), ""]
    out += [NOT_HELPED, ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", type=Path, help="the benchmark's output (its last line is the JSON object)")
    ap.add_argument("out", type=Path, nargs="?", help="the Markdown page to write (default: print it)")
    args = ap.parse_args(argv)
    result = json.loads(args.log.read_text().strip().splitlines()[-1])
    page = render(result)
    if args.out:
        args.out.write_text(page)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
