"""Figures and tables: what a reader sees (computed elsewhere, drawn here).

* :mod:`.figures`      curves, bars, confusion matrices; :func:`~.figures.savefig`, the one way to save;
* :mod:`.style`        one look for every figure;
* :mod:`.tables`       tables in JupyterLab and in the PDF, and the one Markdown table writer;
* :mod:`.samples`      image grids, waveforms with their spectrograms, audio players;
* :mod:`.diagrams`     the fusion diagram of 1d;
* :mod:`.controls`     the figures behind the notebooks' interactive controls;
* :mod:`.losses`       how NT-Xent and NT-Logistic weight their negatives, against the temperature (2c, 2d);
* :mod:`.robustness`   accuracy with a modality missing, along a noise sweep, the gate's weights (3a, 3b);
* :mod:`.calibration`  reliability diagrams (3c);
* :mod:`.embeddings`   t-SNE maps (3c);
* :mod:`.alignment`    scores against the temperature, similarity maps (3d);
* :mod:`.relevance`    accuracy against size, and the relevance sweep (4a);
* :mod:`.search`       the best score found, and the surrogate's predictions (4b);
* :mod:`.translation`  what each generative model draws, and how coherent it is (4c);
* :mod:`.attention`    a cross-modal attention's maps over the image, per head and frame (4d).
"""
