"""Intervals and paired tests of the comparison tables, on hand-made predictions with known answers."""

import numpy as np
import pytest
import torch

from mmhelpers.analysis import comparison
from mmhelpers.analysis.evaluate import Predictions
from mmhelpers.data import PairedData


def predictions(correct) -> Predictions:
    """Predictions on pairs of label 0 that are right exactly where ``correct`` is true."""
    correct = np.asarray(correct, bool)
    preds = np.where(correct, 0, 1)
    probs = np.eye(10)[preds]
    return Predictions(np.log(np.clip(probs, 1e-12, 1)), probs, preds, np.zeros(len(preds), int))


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_more_pairs():
    rng = np.random.default_rng(0)
    small, large = (predictions(rng.random(n) < 0.8) for n in (200, 5000))
    widths = []
    for p in (small, large):
        low, high = comparison.accuracy_interval(p)
        assert low < 100 * p.correct.mean() < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3  # ~ 1 / sqrt(n): 5x for 25x the pairs
    # the normal approximation's half width for 80% on 5000 pairs is 1.96 * sqrt(.16 / 5000) = 1.1 points
    assert widths[1] / 2 == pytest.approx(1.96 * np.sqrt(0.8 * 0.2 / 5000) * 100, rel=0.15)
    assert comparison.accuracy_interval(predictions(np.ones(50))) == (100.0, 100.0)


def test_seed_interval_is_the_t_interval():
    low, high = comparison.seed_interval([97.0, 98.0, 99.0])
    # mean 98, standard error 1 / sqrt(3), t(0.975, df=2) = 4.303
    assert (low, high) == pytest.approx((98 - 4.3027 / np.sqrt(3), 98 + 4.3027 / np.sqrt(3)), abs=1e-3)
    assert np.isnan(comparison.seed_interval([98.0])[0])
    assert comparison.interval(*comparison.seed_interval([98.0])) == "n/a (one seed)"


def test_mcnemar_exact_p_on_known_discordant_counts():
    a = predictions([True] * 10 + [True] * 30 + [False] * 5)
    b = predictions([False] * 10 + [True] * 30 + [False] * 5)
    assert comparison.mcnemar_p(a, b) == pytest.approx(2 * 0.5 ** 10)  # 10 pairs only a gets right, 0 only b
    c = predictions([True, False] * 10)
    d = predictions([False, True] * 10)
    assert comparison.mcnemar_p(c, d) == pytest.approx(1.0)  # as many each way


def test_paired_tests_flag_only_the_pair_that_differs():
    base = np.r_[np.ones(900, bool), np.zeros(100, bool)]
    better = base.copy()
    better[900:960] = True  # right on 60 more pairs
    preds = {s: {"a": predictions(better), "b": predictions(base), "c": predictions(base)} for s in (0, 1)}
    table = comparison.paired_tests(preds, ["a", "b", "c"])
    differ = table["differ (p < 0.05 on every seed)"]
    assert differ["a vs b"] and differ["a vs c"] and not differ["b vs c"]
    assert table.loc["a vs b", "difference (points)"] == pytest.approx(6.0)
    # Holm over three pairs: the two equal smallest p-values become 3 p (3 p, then max(3 p, 2 p))
    raw = comparison.mcnemar_p(predictions(better), predictions(base))
    assert table.loc["a vs b", "p, seed 0"] == pytest.approx(3 * raw)
    assert table.loc["b vs c", "p, seed 1"] == pytest.approx(1.0)


def test_interval_tables_average_the_seeds_per_pair():
    n = 400
    data = PairedData(torch.zeros(n, 0), torch.zeros(n, 0), torch.zeros(n, dtype=torch.long),
                      {"scenario": np.repeat(["image_noisy", "audio_noisy"], n // 2)}, features="none")
    rng = np.random.default_rng(1)
    preds = {s: {"m": predictions(rng.random(n) < 0.9)} for s in (0, 1, 2)}
    table = comparison.interval_table(preds, data)
    assert list(table.columns) == ["overall", "image_noisy", "audio_noisy"]
    mean = 100 * np.mean([p["m"].correct.mean() for p in preds.values()])
    assert table.loc["m", "overall"].startswith(f"{mean:.2f} [")
    overall = comparison.overall_intervals(preds)
    assert overall.loc["m", "95% interval, seeds"] != "n/a (one seed)"
    assert comparison.overall_intervals({0: preds[0]}).loc["m", "95% interval, seeds"] == "n/a (one seed)"


def test_one_seed_can_be_given_without_the_seed_level():
    rng = np.random.default_rng(2)
    one = {"x": predictions(rng.random(300) < 0.7), "y": predictions(rng.random(300) < 0.7)}
    assert comparison.paired_tests(one, ["x", "y"]).equals(comparison.paired_tests({0: one}, ["x", "y"]))
    data = PairedData(torch.zeros(300, 0), torch.zeros(300, 0), torch.zeros(300, dtype=torch.long), features="none")
    assert comparison.interval_table(one, data).equals(comparison.interval_table({0: one}, data))
