"""The recipe-selection rule of tools.select_recipes, on hand-made scores."""

import pandas as pd

from mmhelpers.training.recipes import RECIPES
from tools import select_recipes as sr


def test_the_rule_takes_the_smallest_budget_within_the_tolerance():
    assert sr.choose(pd.Series({5: 98.48, 10: 98.52, 20: 98.54})) == 5  # 0.06 below the best
    assert sr.choose(pd.Series({4: 97.7, 8: 98.46, 12: 98.06})) == 8  # the best, when longer is worse
    assert sr.choose(pd.Series({10: 69.3, 20: 91.4, 30: 93.5})) == 30  # still rising: the longest


def test_unimodal_rows_follow_their_late_fusion_and_disagreements_are_named(monkeypatch):
    monkeypatch.delenv("MM_QUICK", raising=False)
    recipe = RECIPES["image"].epochs[0]
    other = recipe + 4
    rows = [{"row": name, "epochs": e, "validation (%)": score, "seconds": 1.0}
            for name, scores in (("image", {recipe: 77.0, other: 78.0}), ("audio_mel", {recipe: 78.0, other: 79.0}),
                                 (sr.FUSED, {recipe: 98.5, other: 98.0}))
            for e, score in scores.items()]
    table = sr.evidence(rows)
    chosen = table[table["chosen by the rule"]]
    assert set(chosen["epochs"]) == {recipe}  # each unimodal row alone would take the other budget
    assert sr.disagreements(table) == []
    worse = [dict(r, **{"validation (%)": 99.0}) if r["row"] == sr.FUSED and r["epochs"] == other else r for r in rows]
    assert sr.disagreements(sr.evidence(worse)) == ["audio_mel", "image"]
