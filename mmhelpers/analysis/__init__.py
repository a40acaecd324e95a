"""What is computed from trained models, and from the losses.

* :mod:`.evaluate`       predictions and metrics (overall, per class, per scenario, confusion);
* :mod:`.comparison`     the oracle-view reference and means over seeds;
* :mod:`.robustness`     a missing or noisier modality, the gate's weights (3a);
* :mod:`.calibration`    ECE, temperature scaling, reliability diagrams;
* :mod:`.embeddings`     embeddings and t-SNE maps;
* :mod:`.retrieval`      recall@k, linear probes, prototypes; :mod:`.alignment` the 3b grid of runs;
* :mod:`.loss_symbolic`  the exam's loss equations in sympy, checked symbolically (2a-2d);
* :mod:`.loss_figures`   numeric checks against autograd, tables and figures for 2a-2d.
"""
