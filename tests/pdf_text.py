"""Reading exported PDFs in tests: their text, and whether an interactive control leaked into it."""

import shutil
import subprocess

#: what a widget's plain-text repr prints; none of it may reach a PDF
WIDGET_TEXT = ("interactive(", "FloatSlider(", "IntSlider(", "Dropdown(", "VBox(children")


def pdf_text(pdf):
    """The text of ``pdf`` (pypdf, else poppler's pdftotext), or ``None`` where neither is installed."""
    try:
        from pypdf import PdfReader
    except ImportError:
        if shutil.which("pdftotext"):
            return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout
        return None
    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def widget_text(text) -> list[str]:
    """The widget reprs found in ``text`` (none when ``text`` is ``None``: nothing to read)."""
    return [w for w in WIDGET_TEXT if text and w in text]
