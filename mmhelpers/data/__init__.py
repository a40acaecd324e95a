"""Paired data: what a learner's own code imports.

The five names below are the sub-package's public interface (``from mmhelpers.data import
load_pairs``); each is defined in the module named beside it:

* :func:`load_pairs` (:mod:`.loading`): the one entry point, course files or embedded dataset;
* :func:`load_course_files` (:mod:`.course_files`): read and check the course's files;
* :class:`PairedData`, :class:`PairedLoader`, :class:`DataError` (:mod:`.paired`): the container,
  the batch loader and the error for bad input.

The other modules:

* :mod:`.splits`    the train / validation / test split (:func:`~mmhelpers.data.splits.load_splits`);
* :mod:`.grouping`  the validation part grouped like the test split;
* :mod:`.subsets`   a fixed random subset of pairs, as given or before noise.
"""

from .course_files import load_course_files
from .loading import load_pairs
from .paired import DataError, PairedData, PairedLoader

__all__ = ["DataError", "PairedData", "PairedLoader", "load_course_files", "load_pairs"]
