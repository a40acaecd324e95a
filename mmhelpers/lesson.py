"""What a lesson shows: the source of the code that runs, and checked claims about its results.

* :func:`show_source` displays the source of the very classes and functions a notebook runs, as a
  highlighted listing, in JupyterLab (HTML) and in the exported PDF (LaTeX, like a code cell).
* :func:`check` states a claim that the prose makes about a computed result and checks it: the
  notebook prints ``✓ claim``, or ``✗ claim`` where a result made the sentence false, and goes on.
"""

from __future__ import annotations

import inspect
import textwrap

from IPython.display import Code

from . import config


def source(*objects) -> str:
    """The source code of ``objects`` (classes, functions, methods), each dedented, in that order."""
    if not objects:
        raise ValueError("source: name at least one class or function")
    try:
        return "\n\n".join(textwrap.dedent(inspect.getsource(obj)).rstrip() for obj in objects)
    except (TypeError, OSError) as exc:
        raise TypeError(f"source: no source code for {objects!r} ({exc})") from exc


class Listing(Code):
    """A highlighted Python listing: HTML in JupyterLab, LaTeX in the PDF export.

    In the PDF it is set one size below the text (9 pt), so that a line of up to
    ``LISTING_WIDTH`` characters fits the page width instead of wrapping."""

    def __init__(self, code: str):
        super().__init__(code, language="python")

    def _repr_latex_(self) -> str:
        verbatim = r"\begin{Verbatim}[commandchars=\\\{\}"
        latex = super()._repr_latex_()
        if not latex.startswith(verbatim):
            raise RuntimeError(f"Listing: unexpected LaTeX from pygments: {latex[:60]!r}")
        return verbatim + r",fontsize=\small" + latex[len(verbatim):]


LISTING_WIDTH = 88


def show_source(*objects) -> Listing:
    """A highlighted listing of the source of ``objects``: the code that runs, not a copy
    of it. Return it as a cell's last expression to display it."""
    return Listing(source(*objects))


#: how a claim that holds, and one that does not, start their line (the series runner reads them)
TRUE_MARK, FALSE_MARK = "✓", "✗"
#: how a full-mode claim ends its line in quick mode, where it is shown but not asserted
NOT_ASSERTED = "(quick mode: not asserted)"


def check(claim: str, holds, full_mode_only: bool = False) -> None:
    """Print ``✓ claim`` if ``holds`` is true, else ``✗ claim`` with a note that it does not hold
    here; either way the notebook goes on. The series runner (``tools/run_series.py``) collects
    every ``✗`` line of every notebook, exports everything that ran, and then fails, naming them.

    ``full_mode_only``: a claim about how well the models of the full series learn. Quick (smoke)
    mode trains a few epochs on a thousand pairs, too little to test it, so there the claim is
    shown with what was found, marked as not asserted, and the runner does not count it."""
    holds = bool(holds)
    forced = config.claims_forced_false()
    if forced and forced in claim:
        holds = False
    mark = TRUE_MARK if holds else FALSE_MARK
    if full_mode_only and config.is_quick():
        print(f"{mark} {claim} {NOT_ASSERTED}")
    elif holds:
        print(f"{mark} {claim}")
    else:
        print(f"{mark} {claim}  <- DOES NOT HOLD in this run")


def printed_claims(text: str) -> list[tuple[str, bool]]:
    """``(claim, holds)`` for every asserted claim :func:`check` printed in ``text`` (a quick-mode
    line marked as not asserted is left out); the claim is the line after its mark."""
    return [(line[len(FALSE_MARK):].strip(), line.startswith(TRUE_MARK)) for line in text.splitlines()
            if line.startswith((TRUE_MARK, FALSE_MARK)) and not line.rstrip().endswith(NOT_ASSERTED)]


def false_claims(text: str) -> list[str]:
    """The claims printed as not holding (asserted ones only) in a cell's printed ``text``."""
    return [claim for claim, holds in printed_claims(text) if not holds]


def noise_recorded(data, what: str = "which view of each pair is noisy") -> bool:
    """True where ``data`` records each pair's noise scenario and severities (the embedded dataset).
    Otherwise says so, for the course's files, and returns False: the cell skips what needs them."""
    if data.noise_known:
        return True
    print(f"The course's files do not record {what}: skipped here.")
    return False
