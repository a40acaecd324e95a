"""The networks.

* :mod:`.encoders`     image CNN, raw-waveform CNN, log-mel CNN: one modality -> an embedding;
* :mod:`.classifier`   one encoder + a linear classifier; normalisation fitting, parameter counts;
* :mod:`.fusion`       early, intermediate and gated fusion of two encoders;
* :mod:`.late_fusion`  a weighted combination of two classifiers' outputs;
* :mod:`.frozen`       trained encoders kept frozen, and a fusion seen from its members' outputs;
* :mod:`.alignment`    two encoders with projection heads for contrastive alignment.

Every model is built by calling its class with its parts, e.g.
``IntermediateFusion(ImageEncoder(), LogMelEncoder())``.
"""
