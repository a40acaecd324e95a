"""Training.

* :mod:`.catalogue`       every named model of the series, one entry each, and ``trained``: the one call;
* :mod:`.recipes`         the training settings of every named model, one row each;
* :mod:`.checkpoints`     ``train_or_load``: the one cache of trained models;
* :mod:`.trainer`         ``fit``: the one training loop, for every model (it knows nothing of the model);
* :mod:`.frozen_members`  fusing trained models that stay frozen: encode once, train the head;
* :mod:`.contrastive`     the contrastive losses of 3d's runs, and their grid of temperatures;
* :mod:`.generative`      the training losses of the generative models of 4c;
* :mod:`.layer_outputs`   every layer of a trained encoder, pooled: what 4b's search fuses;
* :mod:`.search`          4b's searches over the fusion space: random, and sequential with a surrogate.
"""
