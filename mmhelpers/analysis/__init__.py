"""What is computed from trained models, and from the losses (no training, no figures).

* :mod:`.evaluate`       predictions and metrics (overall, per class, per scenario, confusion, ECE);
* :mod:`.comparison`     intervals, paired tests, the oracle-view reference and means over seeds;
* :mod:`.robustness`     a missing or noisier modality, the gate's weights (3a, 3b);
* :mod:`.calibration`    the calibration error per model and scenario, temperature scaling (3c);
* :mod:`.embeddings`     embeddings, silhouettes and t-SNE coordinates (3c);
* :mod:`.retrieval`      recall@k, linear probes, prototypes (3d, 4c);
* :mod:`.alignment`      3d's grid of contrastive runs, scored;
* :mod:`.contribution`   how much each modality contributes: EMAP, perceptual drop, Shapley values (4a);
* :mod:`.translation`    what the generative models of 4c draw, judged, and broken views filled in;
* :mod:`.loss_symbolic`  the exam's loss equations in sympy, checked symbolically (2a-2d);
* :mod:`.loss_checks`    test anchors and batches, the closed-form gradients against autograd (2a-2d);
* :mod:`.attention`      where a cross-modal attention looks: entropy, ink, heads, frames (4d);
* :mod:`.zero_shot`      zero-shot transfer across modalities: the split, prototypes (4d).
"""
