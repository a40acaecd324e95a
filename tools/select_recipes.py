"""Recipe selection on the grouped validation split:
``python -m tools.select_recipes [--quick] [--out docs/recipes.md]``.

Trains every candidate budget of every recipe row (through the one train-or-load, so each run is
cached and the series reuses the chosen ones), scores it on the *validation* part of
:func:`~mmhelpers.data.splits.load_splits` only, and writes the evidence as Markdown tables. The
rule is the same for every row: **the smallest budget within** :data:`TOLERANCE` **points of the
best validation score**; the unimodal models are chosen by the score of their late fusion
(:data:`DECIDED_BY`), since the series uses them as the fusions' members. The last column says
whether ``RECIPES`` holds that choice; in full mode the run exits non-zero when one does not, so the
recipes and their evidence cannot drift apart (quick mode only cuts epochs, so there it reports
and passes).

Early fusion's budget is chosen in notebook 1f, on the same split, in a table of its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mmhelpers import config
from mmhelpers.analysis import evaluate
from mmhelpers.analysis.retrieval import embed, recall_at_k
from mmhelpers.data.splits import load_splits
from mmhelpers.data.subsets import has_clean_views, subset
from mmhelpers.models.late_fusion import LateFusion
from mmhelpers.plots.tables import markdown_table
from mmhelpers.training import contrastive
from mmhelpers.training.catalogue import CATALOGUE, trained
from mmhelpers.training.recipes import RECIPES, Recipe, seeds

ROOT = config.project_root()
#: points of validation accuracy (or recall) within which a shorter budget is as good
TOLERANCE = 0.1
#: candidate epochs per row (full mode, quick mode); a fusion head not named here gets HEAD_CANDIDATES
CANDIDATES = {
    "image": ((4, 8, 12), (1, 2)),
    "audio_mel": ((4, 8, 12), (1, 2)),
    "late": ((5, 10, 20), (1, 2)),
    "contrastive": ((3, 6, 10, 15, 20, 30), (1, 2)),
}
HEAD_CANDIDATES = ((10, 20, 30), (1, 3))
#: the row whose scores choose a row's budget: the unimodal models are chosen for what they are
#: in the series, members of the fusions, by the validation accuracy of their late fusion
FUSED = "late fusion of both (fixed weights)"
DECIDED_BY = {"image": FUSED, "audio_mel": FUSED}
#: rows measured but not held to the rule: 4a's and 4d's heads keep a short budget so that their
#: notebooks stay within their time budget (the table shows what longer training would buy)
NOT_ENFORCED = ("relevance", "cross_attention")
#: the rank whose budget stands for every rank of low-rank fusion (4a trains ranks 1-16)
LOW_RANK = 4
#: the contrastive runs' loss and temperature (3d's best on its test pairs)
CONTRASTIVE_RUN = ("nt_xent", 0.1)
#: the unimodal rows (catalogue names): the members of every fusion head
UNIMODAL = ("image", "audio_mel")
#: the fusion heads' rows: every catalogue entry that trains on frozen members, on the chosen ones
HEADS = tuple(name for name, entry in CATALOGUE.items() if entry.how == "frozen members")


def budget(name: str, epochs: int) -> Recipe:
    """``RECIPES[name]`` with ``epochs`` in both modes."""
    return dataclasses.replace(RECIPES[name], epochs=(epochs, epochs))


def choose(scores: pd.Series) -> int:
    """The smallest budget (index) whose score is within :data:`TOLERANCE` of the best."""
    return int(min(e for e, s in scores.items() if s >= scores.max() - TOLERANCE))


def unimodal_rows(splits, epochs, seed: int):
    """Validation accuracy (%) and seconds of each unimodal model at each budget, and of late
    fusion on the two members of equal budget."""
    rows = []
    for e in epochs:
        pair = {}
        for name in UNIMODAL:
            model, hist = trained(name, splits, seed, recipe=budget(name, e), progress=False)
            pair[name] = model
            rows.append({"row": name, "epochs": e, "validation (%)": 100 * hist.best["val_acc"],
                         "seconds": hist.seconds})
        late = LateFusion(pair["image"], pair["audio_mel"], weighting="fixed", freeze_members=True)
        rows.append({"row": FUSED, "epochs": e,
                     "validation (%)": 100 * evaluate.accuracy(evaluate.predict(late, splits.val)), "seconds": 0.0})
    return rows


def head_rows(splits, img, aud, head_seeds):
    """Each fusion head on the chosen members at each budget: validation accuracy, mean over seeds."""
    options = {"low_rank": {"rank": LOW_RANK}, "relevance": {"p": 2}}
    rows = []
    for name in HEADS:
        for e in candidates(name):
            runs = [trained(name, splits, s, members=(img, aud), recipe=budget(name, e), progress=False,
                            **options.get(name, {}))[1] for s in head_seeds]
            rows.append({"row": name, "epochs": e, "validation (%)": np.mean([100 * h.best["val_acc"] for h in runs]),
                         "seconds": np.mean([h.seconds for h in runs])})
    return rows


def contrastive_rows(splits, seed: int):
    """The contrastive runs (no labels) at each budget: image-to-audio recall@1 (same digit) on
    clean validation pairs."""
    size = contrastive.sizes()
    clean = has_clean_views(splits.train)
    train = subset(splits.train, "train", size["n_train"], clean=clean, seed=seed)
    val = subset(splits.val, "train", size["n_test"], clean=clean, seed=seed)
    loss, tau = CONTRASTIVE_RUN
    rows = []
    for e in candidates("contrastive"):
        model, hist = trained("contrastive", train, seed, recipe=budget("contrastive", e), progress=False,
                              loss=loss, tau=tau)
        z = embed(model, val)
        r1 = recall_at_k(z["z_img"], z["z_aud"], z["labels"], z["labels"], ks=(1,))[1]
        rows.append({"row": "contrastive", "epochs": e, "validation (%)": 100 * r1, "seconds": hist.seconds})
    return rows


def candidates(name: str) -> tuple[int, ...]:
    return config.by_mode(*CANDIDATES.get(name, HEAD_CANDIDATES))


def evidence(rows: list[dict]) -> pd.DataFrame:
    """The rows with each row's choice by the rule and the recipe's epochs."""
    table = pd.DataFrame(rows)
    chosen = {row: choose(part.set_index("epochs")["validation (%)"]) for row, part in table.groupby("row", sort=False)}
    chosen.update({row: chosen[by] for row, by in DECIDED_BY.items() if by in chosen})
    table["chosen by the rule"] = [e == chosen[r] for r, e in zip(table["row"], table["epochs"])]
    table["recipe"] = [r in RECIPES and e == RECIPES[r].current_epochs() for r, e in zip(table["row"], table["epochs"])]
    return table


def disagreements(table: pd.DataFrame) -> list[str]:
    """Rows whose recipe is not the budget the rule chooses."""
    rows = table[table["row"].isin([r for r in RECIPES if r not in NOT_ENFORCED])]
    return sorted(set(rows.loc[rows["chosen by the rule"] != rows["recipe"], "row"]))


def markdown(table: pd.DataFrame, splits) -> str:
    body = table.assign(**{"validation (%)": table["validation (%)"].map("{:.2f}".format),
                           "seconds": table["seconds"].map("{:.1f}".format),
                           "chosen by the rule": table["chosen by the rule"].map({True: "yes", False: ""}),
                           "recipe": table["recipe"].map({True: "yes", False: ""})})
    mode = "quick" if config.is_quick() else "full"
    return "\n".join([
        "# Recipes: the evidence", "",
        "Written by `python -m tools.select_recipes` (" + mode + " mode); do not edit by hand. Every score is on the",
        "validation part of the training pairs, grouped like the test split (no source digit and no speaker",
        "shared with the train part; see `mmhelpers/data/grouping.py`):", "",
        "```", splits.summary(), "```", "",
        f"Rule: the smallest budget within {TOLERANCE} points of the best validation score. Unimodal models:",
        f"seed {seeds()[0]}, validation accuracy of each model and of late fusion with fixed 0.5 / 0.5 weights on the",
        "two members of that budget; the latter chooses both budgets, since the series uses the unimodal models",
        f"as the members of every fusion. Fusion heads: on the chosen members, mean over seeds {list(seeds())}",
        f"(low-rank fusion at rank {LOW_RANK}; the relevance head with its block-norm loss, p = 2, centred terms).",
        f"Contrastive runs ({CONTRASTIVE_RUN[0]}, tau {CONTRASTIVE_RUN[1]}, no labels): image-to-audio recall@1",
        "(same digit) on clean validation pairs. Early fusion's budget is chosen in notebook 1f.",
        f"Not held to the rule: {', '.join(NOT_ENFORCED)} (notebook 4a trains a relevance head per scenario,",
        "severity and p, and 4d an attention head per seed, so they keep 10 epochs to stay within their time",
        "budgets; the rows show what longer training would buy).", "",
        markdown_table(list(body.columns), body.astype(str).to_numpy().tolist()), ""])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="quick mode: the small data, short budgets")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "recipes.md", help="the Markdown written")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["MM_QUICK"] = "1"
    splits = load_splits()
    rows = unimodal_rows(splits, candidates("image"), seeds()[0])
    # the recipes' members (the same cached runs the series uses, and one of the budgets above)
    img, aud = (trained(name, splits, seeds()[0], progress=False)[0] for name in UNIMODAL)
    rows += head_rows(splits, img, aud, seeds()) + contrastive_rows(splits, seeds()[0])
    table = evidence(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(table, splits))
    print(table.to_string(index=False))
    wrong = disagreements(table)
    if wrong and not args.quick:
        print(f"select_recipes: RECIPES disagree with the rule for {wrong}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
