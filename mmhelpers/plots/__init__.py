"""Figures.

* :mod:`.figures`    curves, sample grids, bars, confusion matrices; :func:`~.figures.savefig`, the one way to save;
* :mod:`.diagrams`   the fusion diagram of 1d;
* :mod:`.alignment`  the figures of 3b.
"""
