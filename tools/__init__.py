"""Tooling that runs, packages or measures the notebook series; not part of the ``mmhelpers``
package that notebooks and a learner's code import. Run from the repository root, as the
Makefile does: ``python -m tools.run_series``, ``python -m tools.export``,
``python -m tools.update_readme``, ``python -m tools.bench``."""
