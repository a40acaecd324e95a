"""Training.

* :mod:`.trainer`         ``fit``: the one training loop, for every model (it knows nothing of the model);
* :mod:`.checkpoints`     ``train_or_load``: the one cache of trained models;
* :mod:`.recipes`         the settings of every model of the series, one row each;
* :mod:`.frozen_members`  fusing trained models that stay frozen: encode once, train the head;
* :mod:`.contrastive`     the contrastive alignment of 3b, through the same fit and cache.
"""
