"""Put the series' own results into the README: ``python -m tools.update_readme``.

The README's results section sits between the markers ``<!-- results:start -->`` and
``<!-- results:end -->``; this replaces what is between them with the headline table that notebook
1f saved (``figures/1f_results.md``), the paired tests between its fusions
(``figures/1f_paired_tests.md``) and the sample-pairs picture of 00 (``figures/00_pairs.png``).
Nothing outside the markers is touched. ``make all`` runs it after the full-mode series.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmhelpers import config

START, END = "<!-- results:start -->", "<!-- results:end -->"
TABLE, TESTS, PICTURE = "1f_results.md", "1f_paired_tests.md", "00_pairs.png"


def section(figures: Path, root: Path) -> str:
    """The Markdown between the markers, built from the files the series wrote."""
    table, tests, picture = figures / TABLE, figures / TESTS, figures / PICTURE
    for f in (table, tests, picture):
        if not f.is_file():
            raise FileNotFoundError(f"{f} is missing: run the series in full mode first (make notebooks)")
    here, root = picture.resolve(), root.resolve()
    rel = here.relative_to(root) if here.is_relative_to(root) else picture
    return (f"\n![Sample pairs: image, waveform and log-mel spectrogram]({rel.as_posix()})\n\n"
            "Test accuracy (%) on the embedded dataset, mean ± std over 3 seeds, with two 95% intervals of the\n"
            "overall accuracy: a bootstrap over the test pairs and a t interval over the seeds (notebook 1f, full\n"
            "mode):\n\n" + table.read_text().strip() + "\n\n"
            "Do the fusions differ? McNemar's exact test on the same test pairs, Holm-corrected for the three\n"
            "pairs, one p-value per seed:\n\n" + tests.read_text().strip() + "\n")


def update(readme: Path, figures: Path) -> bool:
    """Rewrite the marked section of ``readme``; return whether anything changed."""
    text = readme.read_text()
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{readme}: expected one '{START}' followed by one '{END}'")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    new = head + START + section(figures, readme.parent) + END + tail
    if new != text:
        readme.write_text(new)
    return new != text


def main(argv=None) -> int:
    root = config.project_root()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readme", default=str(root / "README.md"))
    ap.add_argument("--figures", default=str(config.figures_dir(quick=False)))
    args = ap.parse_args(argv)
    changed = update(Path(args.readme), Path(args.figures))
    print(f"{args.readme}: results section {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
