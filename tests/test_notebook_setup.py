"""The opening cell's memory release: the allocator's free memory goes back after every cell."""

import sys

import nbformat
import pytest
from nbclient import NotebookClient
from IPython.core.events import EventManager

from mmhelpers import notebook


class Shell:
    """Just the event manager of an IPython shell, with the events IPython defines."""

    def __init__(self):
        self.events = EventManager(self, ("post_run_cell",))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_free_memory_calls_the_c_library():
    assert notebook.release_free_memory() is True


def test_the_release_is_registered_once_however_often_setup_runs():
    shell = Shell()
    for _ in range(3):
        notebook._release_memory_after_each_cell(shell)
    assert shell.events.callbacks["post_run_cell"].count(notebook.release_free_memory) == 1
    shell.events.trigger("post_run_cell", None)  # what IPython does after each cell: no error


def test_the_settings_banner_is_html_only_in_a_notebook_so_the_pdf_leaves_it_out():
    """JupyterLab shows the run's settings; the PDF export (text/plain, LaTeX) gets nothing."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("from mmhelpers.notebook import setup\ncfg = setup()")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    banners = [o for o in outputs if o.output_type == "display_data" and "text/html" in o.data]
    assert len(banners) == 1 and set(banners[0].data) == {"text/html"}
    assert "seed" in banners[0].data["text/html"]
    assert not [o for o in outputs if o.output_type == "stream" and "seed" in o.text]
