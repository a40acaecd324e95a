"""docs/performance.md is rendered from the benchmark's JSON, every number from it."""

import json
import os

import pytest

from tools import bench, perf_report


def test_the_page_comes_from_the_json(tmp_path):
    result = {"quick": False, "dataset_cold_build_s": 41.7, "dataset_cached_load_s": 2.5, "dataset_build_peak_gb": 2.6,
              "epoch_s_reference": 4.7, "epoch_s_ours": 0.1, "train_epoch_speedup": 47.2, "epoch_ours_precompute_s": 4.1,
              "late_epoch_s_reference": 4.0, "late_epoch_s_ours": 0.03, "late_train_epoch_speedup": 144.0,
              "late_epoch_ours_precompute_s": 4.0, "end_to_end_epoch_s_reference": 9.6, "end_to_end_epoch_s_ours": 8.1,
              "end_to_end_train_epoch_speedup": 1.19, "end_to_end_epoch_ours_precompute_s": 2.0,
              "series_quick_s": 108.0, "series_quick_notebooks_s": {"dataset": 9.0, "1a_image.ipynb": 12.9, "total": 108.0},
              "baseline_series_quick_s": 111.0,
              "baseline_series_quick_notebooks_s": {"dataset": 9.1, "1a_image.ipynb": 12.0, "total": 111.0},
              "slowdown_vs_baseline_quick": {"1a_image.ipynb": 1.07}, "peak_memory_gib": 2.7,
              "peak_memory_gib_by_run": {"series quick": 1.2}}
    log = tmp_path / "bench.log"
    log.write_text("series quick: 108.0 s\n" + json.dumps(result) + "\n")
    out = tmp_path / "performance.md"
    assert perf_report.main([str(log), str(out)]) == 0
    page = out.read_text()
    assert page.startswith("# Performance")
    assert "| train epoch speedup | 47.2 | >= 1.5 |" in page
    assert "| 1a_image | 12.9 | 12.0 | 1.07 |" in page
    assert "| 41.7 | 2.5 | 2.6 |" in page and "| series quick | 1.2 |" in page
    assert "| series quick yardstick epochs | 11.2 |" in page        # 108.0 s / 9.6 s


def test_notebook_times_in_yardstick_epochs_and_the_warm_share():
    r = {"end_to_end_epoch_s_reference": 10.0, "series_full_cold_s": 300.0, "series_full_warm_s": 24.0,
         "series_full_cold_notebooks_s": {"dataset": 40.0, "1a_image.ipynb": 60.0, "1f_late.ipynb": 200.0,
                                          "total": 300.0},
         "series_full_warm_notebooks_s": {"dataset": 0.2, "1a_image.ipynb": 4.0, "1f_late.ipynb": 20.0}}
    d = perf_report.derived(r)
    assert d["notebook_full_cold_yardstick_epochs"] == {"1a_image.ipynb": 6.0, "1f_late.ipynb": 20.0}
    assert d["max_notebook_full_cold_yardstick_epochs"] == 20.0 and d["series_full_warm_over_cold"] == 0.08
    page = perf_report.render(r)
    assert "| 1f_late | 200.0 | 20.0 | 20.0 |" in page
    assert "| max notebook full cold yardstick epochs | 20.0 | <= 15 |" in page


def test_the_yardstick_is_the_mean_of_before_and_after_the_cold_series_where_both_exist():
    r = {"end_to_end_epoch_s_reference": 8.0, "yardstick_epoch_s_after": 12.0, "yardstick_epoch_s": 10.0,
         "series_full_cold_s": 300.0, "series_full_cold_notebooks_s": {"1f_late.ipynb": 150.0, "total": 300.0}}
    assert perf_report.derived(r)["notebook_full_cold_yardstick_epochs"] == {"1f_late.ipynb": 15.0}
    assert "the mean of 8.0 s before and 12.0 s after the full cold series" in perf_report.render(r)


def test_the_runners_summary_of_each_series_run_is_on_the_page():
    r = {"series_quick_s": 100.0, "series_quick_notebooks_s": {"1a_image.ipynb": 12.9, "total": 100.0},
         "series_quick_summary": ["series: 18 notebooks ran; 1 claim(s) do not hold, 0 error(s), 0 failed export(s)",
                                  "  ✗ 1f_late_fusion: late fusion is ahead  <- DOES NOT HOLD in this run"]}
    page = perf_report.render(r)
    assert "| quick | series: 18 notebooks ran; 1 claim(s) do not hold" in page
    assert "| quick | ✗ 1f_late_fusion: late fusion is ahead" in page


def test_the_bench_keeps_a_series_run_whose_runner_reports_a_false_claim():
    """The runner exits 1 when a claim did not hold or a notebook erred; the series still ran, so
    the benchmark takes its times instead of failing; any other exit code is a failure."""
    env = dict(os.environ)
    seconds, out = bench._run(["-c", "print('ran'); raise SystemExit(1)"], env, allowed=(0, 1))
    assert out.strip() == "ran" and seconds >= 0
    with pytest.raises(RuntimeError, match="failed"):
        bench._run(["-c", "raise SystemExit(1)"], env)
    with pytest.raises(RuntimeError, match="failed"):
        bench._run(["-c", "raise SystemExit(2)"], env, allowed=(0, 1))


def test_the_bench_reports_the_runners_summary_of_what_its_series_run_wrote(tmp_path):
    """``bench_series`` on a checkout whose runner writes one notebook with a claim that does not
    hold and exits 1: the times are kept, the notebook lands in ``keep``, and the summary names the
    claim (the series runner's own :func:`~tools.run_series.summary` of the executed notebooks)."""
    tree = tmp_path / "checkout"
    (tree / "tools").mkdir(parents=True)
    (tree / "tools" / "__init__.py").write_text("")
    (tree / "tools" / "run_series.py").write_text('''
import json, sys
from pathlib import Path
import nbformat
out = Path(sys.argv[sys.argv.index("--out") + 1])
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("check(...)", outputs=[nbformat.v4.new_output(
    "stream", name="stdout", text="\\u2717 the heads agree  <- DOES NOT HOLD in this run\\n")])])
out.mkdir(parents=True, exist_ok=True)
nbformat.write(nb, out / "1a_image.ipynb")
print(json.dumps({"1a_image.ipynb": 1.0, "total": 1.0}))
sys.exit(1)
''')
    keep = tmp_path / "executed"
    r = bench.bench_series(False, tmp_path / "cache", "full_cold", tree=tree, keep=keep)
    assert r["series_full_cold_notebooks_s"] == {"1a_image.ipynb": 1.0, "total": 1.0}
    assert (keep / "1a_image.ipynb").is_file()
    assert r["series_full_cold_summary"][0].startswith("series: 1 notebooks ran; 1 claim(s) do not hold")
    assert "✗ 1a_image: the heads agree" in r["series_full_cold_summary"][1]
