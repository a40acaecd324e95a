"""How robust is each checked claim? Run the series under other training seeds and count.

    python -m tools.claims --offsets 1 2 3               # run the series three more times, then write
    python -m tools.claims --offsets 1 2 3 --only 1a 1f  # only some notebooks
    python -m tools.claims --report-only                 # rebuild docs/claims.md from the runs kept

Each run executes the notebooks in full mode with ``MM_SEED_OFFSET`` set (every training seed
shifted; the data, its split and its noise stay the same) into ``reports/claims/offset-N/``, with
its figures in ``reports/claims/offset-N/figures/`` (the project's ``figures/`` stays the seed-0 run's). The
series' own full run (``reports/executed``, offset 0) counts as one more seed where it exists.
Every line a notebook prints with :func:`mmhelpers.lesson.check` is one claim, identified by its
notebook, its code cell and its place in that cell (the text carries numbers that change with the
seed). ``docs/claims.md`` lists every claim with the seeds it was tried on and the share on which
it held; a claim that does not hold on all of them has to be rewritten to what does hold.

Offset ``k`` turns a notebook's training seed ``i`` into ``i + k``: a notebook that trains one model
gets seed ``k``, one that compares two or three seeds (1a; 1c, 1d, 1f) the seeds ``k, k+1(, k+2)``.
Offsets 1, 2 and 3 therefore reuse the models trained for the seeds before and add one new seed each:
every single-seed claim sees seeds 0-3, and every claim about each of three seeds sees seeds 0-5 (the
averages are over overlapping triples). Notebooks that train nothing (00, 2a-2c) print the same
claims at every offset and are run at offset 0 only (``--only``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mmhelpers import config
from mmhelpers.lesson import FALSE_MARK, TRUE_MARK, printed_claims

from . import run_series

RUNS = config.project_root() / "reports" / "claims"
BASE_RUN = config.project_root() / "reports" / "executed"
DOC = config.project_root() / "docs" / "claims.md"


def claims_of(path: Path) -> dict[tuple[int, int], tuple[str, bool]]:
    """``{(code cell, k): (text, holds)}`` for every asserted claim an executed notebook printed."""
    found, count = {}, {}
    for n, out in run_series.code_outputs(path):
        if out.output_type == "stream" and out.name == "stdout":
            for claim, holds in printed_claims(out.text):
                k = count[n] = count.get(n, -1) + 1
                found[(n, k)] = (claim.split("  <- ")[0], holds)
    return found


def runs(folder: Path = RUNS, base: Path = BASE_RUN) -> dict[int, Path]:
    """``{seed offset: folder of executed notebooks}`` for every run kept."""
    found = {int(p.name.split("-")[1]): p for p in sorted(folder.glob("offset-*")) if p.is_dir()}
    if base.is_dir() and any(base.glob("*.ipynb")):
        found.setdefault(0, base)
    return dict(sorted(found.items()))


def table(kept: dict[int, Path]):
    """One row per claim: notebook, cell, text (from the lowest offset), per offset ✓/✗, hold rate."""
    import pandas as pd

    rows = {}
    for offset, folder in kept.items():
        for nb in sorted(folder.glob("*.ipynb")):
            for (cell, k), (text, holds) in claims_of(nb).items():
                row = rows.setdefault((nb.stem, cell, k), {"claim": text})
                row[f"offset {offset}"] = TRUE_MARK if holds else FALSE_MARK
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index.names = ["notebook", "cell", "k"]
    marks = frame.drop(columns="claim")
    frame["tried"] = marks.notna().sum(axis=1)
    frame["held"] = (marks == TRUE_MARK).sum(axis=1)
    return frame


def write_doc(frame, kept: dict[int, Path], doc: Path = DOC) -> str:
    """``docs/claims.md`` from :func:`table`: a summary line per notebook, then every claim."""
    offsets = ", ".join(str(o) for o in kept)
    lines = ["# Claims and how often they hold", "",
             "Written by `python -m tools.claims` from the full-mode runs it finds: the series' own run",
             "(`make all`, seed offset 0) and reruns with `MM_SEED_OFFSET` set (every training seed shifted by the",
             "offset; the data, its split and its noise unchanged). A claim is a line printed by",
             "`mmhelpers.lesson.check`, identified by its notebook, code cell and place in the cell; its text is",
             "shown as the lowest offset printed it. A claim must hold on every seed tried. Offset k turns each",
             "training seed i into i + k: a notebook that trains one model trains seed k, the comparisons over",
             "seeds (1a, 1c, 1d, 1f) seeds k, k+1 (and k+2). Notebooks that train nothing (00, 2a-2c) are run",
             "once: their claims do not depend on a training seed.", "",
             f"Seed offsets found: {offsets}.", "",
             "| notebook | claims | held on every seed tried | seeds tried (least, most) |",
             "|---|---|---|---|"]
    for nb, part in frame.groupby(level="notebook"):
        every = (part["held"] == part["tried"]).sum()
        lines.append(f"| {nb} | {len(part)} | {every} | {part['tried'].min()}, {part['tried'].max()} |")
    lines += ["", "| notebook | cell | claim | " + " | ".join(f"offset {o}" for o in kept) + " | held |",
              "|---|---|---|" + "---|" * len(kept) + "---|"]
    for (nb, cell, _), row in frame.iterrows():
        marks = " | ".join(str(row.get(f"offset {o}", "")) if isinstance(row.get(f"offset {o}"), str) else "–"
                           for o in kept)
        text = row["claim"].replace("|", "\\|")
        lines.append(f"| {nb} | {cell} | {text} | {marks} | {row['held']}/{row['tried']} |")
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offsets", nargs="*", type=int, default=[], help="seed offsets to run (e.g. 10 20 30)")
    ap.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes")
    ap.add_argument("--report-only", action="store_true", help="run nothing; rebuild docs/claims.md")
    args = ap.parse_args(argv)
    if config.is_quick():
        ap.error("claims are counted in full mode: unset MM_QUICK")
    if not args.report_only:
        for offset in args.offsets:
            os.environ["MM_SEED_OFFSET"] = str(offset)
            # figures and tables of another seed stay with its run, not in the project's figures/
            os.environ["MM_FIGURES_DIR"] = str(RUNS / f"offset-{offset}" / "figures")
            print(f"seed offset {offset}", flush=True)
            run_series.run(RUNS / f"offset-{offset}", quick=False, only=args.only)
    kept = runs()
    if not kept:
        ap.error("no runs found: run the series (make all) or give --offsets")
    frame = table(kept)
    write_doc(frame, kept)
    weak = frame[frame["held"] < frame["tried"]]
    print(f"{len(frame)} claims, {len(weak)} not held on every seed tried; written to {DOC}")
    for (nb, cell, _), row in weak.iterrows():
        print(f"  {nb} cell {cell}: {row['held']}/{row['tried']}: {row['claim']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
