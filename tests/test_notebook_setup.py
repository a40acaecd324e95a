"""The opening cell's memory release: the allocator's free memory goes back after every cell."""

import sys

import pytest
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
