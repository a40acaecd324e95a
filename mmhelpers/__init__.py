"""mmhelpers: the small helper library behind the multimodal deep-learning notebook series.

Each module has one purpose; docs/architecture.md is the map. Importing the package has no side
effects: nothing is read from the environment, written to disk or seeded until a function asks.
"""

__version__ = "0.1.0"
