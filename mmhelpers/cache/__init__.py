"""The caches, all under :func:`mmhelpers.config.cache_dir`, all written atomically and all keyed
by :func:`mmhelpers.cache.fingerprint.fingerprint`:

* ``datasets/``   the embedded dataset (:mod:`mmhelpers.embedded.store`), array folders;
* ``selections/`` the train / validation parts of a split (:mod:`mmhelpers.data.splits`), array folders;
* ``features/``   log-mel spectrograms computed once per split (:mod:`mmhelpers.features.precompute`);
* ``models/``     trained weights and their history (:mod:`mmhelpers.training.checkpoints`);
* ``results/``    what is computed from trained models (:mod:`mmhelpers.cache.results`).

An entry that is absent, partial, corrupt or stale is rebuilt, never half-loaded.

* :mod:`.fingerprint`  the one way to identify data, settings and networks;
* :mod:`.files`        atomic writes of one file;
* :mod:`.arrays`       folders of arrays with a manifest, memory-mapped when read;
* :mod:`.results`      ``compute_or_load``: what is computed from trained models, stored once.
"""
