"""The networks.

* :mod:`.encoders`       image CNN, raw-waveform CNN, log-mel CNN: one modality -> an embedding;
* :mod:`.classifier`     one encoder + a linear classifier; normalisation fitting, parameter counts;
* :mod:`.fusion`         early, intermediate and gated fusion of two encoders;
* :mod:`.late_fusion`    a weighted combination of two classifiers' outputs;
* :mod:`.frozen`         trained encoders kept frozen, and a fusion seen from its members' outputs;
* :mod:`.tensor_fusion`  tensor fusion (TFN) and its low-rank form (LMF) (4a);
* :mod:`.relevance`      a block-linear head whose blocks' norms measure each modality's relevance (4a);
* :mod:`.searchable`     the search space of fusion architectures, and the model one point of it builds (4b);
* :mod:`.alignment`      two encoders with projection heads for contrastive alignment (3d);
* :mod:`.generative`     a multimodal VAE (product or mixture of experts) and the bimodal autoencoder (4c);
* :mod:`.cross_attention`  scaled dot-product attention, and the fusion whose audio frames attend over
                         the image's positions (4d).

Every model is built by calling its class with its parts, e.g.
``IntermediateFusion(ImageEncoder(), LogMelEncoder())``; the series' named models are the entries of
:mod:`mmhelpers.training.catalogue`.
"""
