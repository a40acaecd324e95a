"""Features: what a network reads, computed from the raw inputs.

* :mod:`.logmel`       waveform -> log-mel spectrogram (amplitude normalisation, mel filterbank, STFT);
* :mod:`.standardize`  ``(x - mean) / std`` with training statistics;
* :mod:`.inputs`       the per-modality input stages the encoders start with;
* :mod:`.spoken_word`  the spoken word inside a clip, and its background: what 4c's models draw;
* :mod:`.precompute`   a model's log-mel front end run once per split, not every batch.
"""
