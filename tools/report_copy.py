"""The cleaned copy of a notebook that :mod:`tools.export` hands to nbconvert.

Nothing here writes a file: :func:`prepare` reads a notebook, and the rest change only its
cleaned copy. Cells tagged ``remove-output`` lose their outputs here; ``setup``/``remove-input``
(input) and ``remove-cell`` (everything) are left to nbconvert's ``TagRemovePreprocessor`` with
the tags below. stderr streams and tqdm widgets (and the widget state) are dropped, object reprs
(``<IPython...Audio object>``) become one line that names the output; the title is
metadata ``title``, else the first ``# heading`` (not printed twice); ``authors`` come from
metadata; relative markdown image links are made absolute; :func:`merge_notebooks` joins several
into the combined series.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

from mmhelpers import config

SERIES_TITLE = "Multimodal deep learning: the notebook series"
REMOVE_INPUT_TAGS = ("setup", "remove-input")
REMOVE_OUTPUT_TAGS = ("remove-output",)
REMOVE_CELL_TAGS = ("remove-cell", "lab-only")  # lab-only: a control; its static twin prints
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _is_noise(output) -> bool:
    if output.get("output_type") == "stream":
        return output.get("name") == "stderr"
    return WIDGET_MIME in output.get("data", {})


# a Python object's default repr, e.g. "<IPython.lib.display.Audio object>"
_OBJECT_REPR = re.compile(r"^<[\w.]+ object( at 0x[0-9a-fA-F]+)?>$")
# what LaTeX can show instead of text/plain (nbconvert's order of preference for PDF)
_PRINTABLE = ("text/latex", "application/pdf", "image/png", "image/jpeg", "image/svg+xml",
              "text/markdown")


def _printable(output):
    """``output`` as a PDF can show it: an output whose only printable form is an object's
    repr (an audio player, an HTML snippet) gets one line saying where to see it instead."""
    data = output.get("data", {})
    plain = str(data.get("text/plain", "")).strip()
    if not _OBJECT_REPR.match(plain) or any(m in data for m in _PRINTABLE):
        return output
    output = copy.deepcopy(output)
    audio = "<audio" in str(data.get("text/html", ""))
    output["data"]["text/plain"] = ("[audio player: open the notebook to listen]" if audio
                                    else "[interactive output: open the notebook to see it]")
    return output


def clean_notebook(nb):
    """A copy of ``nb`` without stderr streams, widget outputs, widget state, and outputs of
    cells tagged ``remove-output`` (done here, not by nbconvert, which would also blank the
    cell's execution count so that it looks never run). Outputs that a PDF could only print
    as an object's repr say in one line what they are instead (:func:`_printable`)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            drop = set(REMOVE_OUTPUT_TAGS) & set(cell.metadata.get("tags", []))
            cell.outputs = [_printable(o) for o in cell.get("outputs", [])
                            if not (drop or _is_noise(o))]
    return nb


_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_IMG = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)")


def _plain(text: str) -> str:
    return re.sub(r"[*_`]", "", text).strip()


def _take_title(nb, stem: str) -> str:
    """Metadata title, else the first markdown cell's leading ``# heading``, else the stem.

    The leading heading is removed from ``nb``: the title is printed in its place (a second,
    different heading would list the notebook twice in the series' contents).
    """
    title = str(nb.metadata.get("title") or "").strip()
    md = next((c for c in nb.cells if c.cell_type == "markdown" and c.source.strip()), None)
    if md is not None:
        lines = md.source.strip().splitlines()
        match = _H1.match(lines[0].strip())
        if match:
            title = title or _plain(match.group(1))
            md.source = "\n".join(lines[1:]).strip()
    return title or stem.replace("_", " ")


def _authors(meta) -> list[str]:
    raw = meta.get("authors") or []
    if isinstance(raw, str):
        raw = [a for a in re.split(r"\s*(?:,|;| and )\s*", raw) if a]
    return [str(a.get("name", "") if isinstance(a, dict) else a).strip() for a in raw if a]


def _absolute_images(nb, folder: Path) -> str:
    """Point relative markdown image links (``../figures/x.png``) at absolute files, which
    LaTeX finds from its temporary folder; return the folder holding the notebook and them
    (HTML embeds only images below the folder it is given). Links are resolved from the
    notebook's folder, else from ``<project>/notebooks`` (for executed copies kept elsewhere)."""
    found = [str(folder.resolve())]

    def fix(m):
        if re.match(r"^[a-z][a-z0-9+.-]*:|^/", m.group(2), re.I):
            return m.group(0)
        bases = (folder, config.project_root() / "notebooks")
        local = next((b / m.group(2) for b in bases if (b / m.group(2)).is_file()), None)
        if local is None:
            return m.group(0)
        found.append(str(local.resolve()))
        return m.group(1) + local.resolve().as_posix()

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _IMG.sub(fix, cell.source)
    return os.path.commonpath(found)


def prepare(path: Path, say) -> tuple[object, dict]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if code and not any(c.get("outputs") or c.get("execution_count") for c in code):
        say(f"warning: {path.name} looks unexecuted (no outputs); export the executed copy")
    nb = clean_notebook(nb)
    title = _take_title(nb, path.stem)
    nb.metadata["title"] = title
    base = _absolute_images(nb, path.parent)
    return nb, {"title": title, "authors": _authors(nb.metadata), "toc": False, "path": base}


def merge_notebooks(parts: list, title: str = SERIES_TITLE):
    """One notebook of ``parts`` (``(nb, meta)`` from preparation) in order: each starts on a
    new page under its title as a ``#`` heading, so the table of contents lists the notebooks."""
    import nbformat

    v4 = nbformat.v4
    first = parts[0][0]
    merged = v4.new_notebook(metadata=copy.deepcopy(first.metadata))
    merged.metadata["title"] = title
    authors: list[str] = []
    for k, (nb, meta) in enumerate(parts):
        authors += [a for a in meta["authors"] if a not in authors]
        if k:
            merged.cells.append(v4.new_raw_cell("\\clearpage", metadata={"raw_mimetype": "text/latex"}))
        merged.cells.append(v4.new_markdown_cell(f"# {meta['title']}"))
        for j, cell in enumerate(nb.cells):
            cell = copy.deepcopy(cell)
            cell["id"] = f"n{k}-c{j}"
            merged.cells.append(cell)
    base = os.path.commonpath([m["path"] for _, m in parts])
    return merged, {"title": title, "authors": authors, "toc": True, "path": base}
