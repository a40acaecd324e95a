"""One look for every figure: font sizes that stay legible when printed, one colour per
modality and per model family, and a check that a saved figure is readable on paper.

The exported PDF shows a figure at most ``PRINT_WIDTH`` x ``PRINT_HEIGHT`` inches (the
report template's limits), so a wide figure is shrunk and its text with it.
:func:`smallest_print_font` measures the smallest text of a figure at that printed size;
:func:`~mmhelpers.plots.figures.savefig` refuses a figure whose text would print under
``MIN_PRINT_PT``.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import seaborn as sns

PRINT_WIDTH = 0.9 * 6.5     # inches: 90% of the text width of a letter page, 1 in margins
PRINT_HEIGHT = 0.6 * 9.0    # inches: 60% of its text height
MIN_PRINT_PT = 7.0

_DEEP = sns.color_palette("deep")
MODALITY_COLORS = {"image": _DEEP[0], "audio": _DEEP[1]}
FAMILY_COLORS = {"image": _DEEP[0], "audio": _DEEP[1], "intermediate": _DEEP[2],
                 "late": _DEEP[3], "gated": _DEEP[4], "early": _DEEP[5],
                 "tensor": _DEEP[6], "other": _DEEP[7]}
# the data's splits are not models or modalities: two greys, so no colour is read twice
SPLIT_COLORS = {"train": "0.35", "test": "0.7"}
# the noise scenarios, in colours no model or modality uses
SCENARIO_COLORS = {"image_noisy": _DEEP[9], "audio_noisy": _DEEP[8], "both_mild": "0.4"}
# words that mark a variant of a family's model (drawn in a lighter shade of the family's
# colour); the family's own model keeps the full colour in every figure of the series
_VARIANT_WORDS = ("raw", "end to end", "e2e", "dropout", "averaged", "lmf", "learned")
# words in a model's name that tell its family, checked in this order
_FAMILY_WORDS = (("early", "early"), ("late", "late"), ("gate", "gated"),
                 ("intermediate", "intermediate"), ("concat", "intermediate"),
                 ("tensor", "tensor"), ("lmf", "tensor"), ("tfn", "tensor"),
                 ("image", "image"), ("audio", "audio"), ("raw", "audio"),
                 ("log-mel", "audio"), ("mel", "audio"))

RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
      "ytick.labelsize": 9, "legend.fontsize": 9, "legend.title_fontsize": 9,
      "figure.titlesize": 12, "axes.titleweight": "bold"}


def apply() -> None:
    """The series' matplotlib and seaborn style (the opening cell calls it)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    plt.rcParams.update(RC)


def family(name: str) -> str:
    """A model's family from its name: ``"late fusion (logits)"`` -> ``"late"``."""
    lower = name.lower()
    return next((fam for word, fam in _FAMILY_WORDS if word in lower), "other")


def colors(names) -> list:
    """One colour per name, the same in every figure: the family's colour for its own model,
    and for a variant (a name with one of ``_VARIANT_WORDS``: "raw waveform CNN",
    "intermediate (end to end)") a lighter shade of it, 55% of the way to white; several
    variants of one family in a figure spread from 35% to 65%."""
    names = list(names)
    variants = {n: family(n) for n in names if any(w in n.lower() for w in _VARIANT_WORDS)}
    out = []
    for n in names:
        base = FAMILY_COLORS[family(n)]
        if n not in variants:
            out.append(base)
            continue
        same = [m for m, f in variants.items() if f == variants[n]]
        lighter = 0.55 if len(same) == 1 else 0.35 + 0.3 * same.index(n) / (len(same) - 1)
        out.append(tuple(c + lighter * (1 - c) for c in base))
    return out


def plain_log_ticks(*axes) -> None:
    """On every log-scaled axis of ``axes``, tick labels as plain numbers ("0.05", "1e-08") at
    the tick font's full size, not as powers of ten whose exponents print at 70% of it."""
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    for ax in axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_major_formatter(plain)
                axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def print_scale(width: float, height: float) -> float:
    """How much the PDF export shrinks a figure of ``width`` x ``height`` inches."""
    return min(1.0, PRINT_WIDTH / width, PRINT_HEIGHT / height)


def smallest_print_font(fig, width: float, height: float) -> float:
    """The smallest visible text of ``fig``, in points, once its saved ``width`` x
    ``height`` inches are shrunk to the printed size."""
    sizes = [t.get_fontsize() for t in fig.findobj(plt.Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=MIN_PRINT_PT) * print_scale(width, height)
