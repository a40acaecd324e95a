"""Features: what a network reads, computed from the raw inputs.

* :mod:`.logmel`       waveform -> log-mel spectrogram (amplitude normalisation, mel filterbank, STFT);
* :mod:`.standardize`  ``(x - mean) / std`` with training statistics;
* :mod:`.inputs`       the per-modality input stages the encoders start with;
* :mod:`.precompute`   a model's log-mel front end run once per split, not every batch.
"""
