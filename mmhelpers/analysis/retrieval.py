"""Scores of a learned audio-image embedding space (notebook 3d, :mod:`mmhelpers.training.contrastive`):

* cross-modal retrieval, recall@k in both directions: a hit is a retrieved item of the query's
  digit (``match="class"``); matching the exact partner (``"instance"``) is nearly hopeless here,
  because an image and its audio share nothing but the digit;
* a linear probe (scikit-learn ``LogisticRegression``) on the frozen encoder outputs;
* "zero-shot-ish" audio classification: each test clip gets the digit of the nearest class
  prototype, the mean projected *image* embedding of that digit (audio labels are never used).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from torch import nn

from .. import config
from ..cache.results import compute_or_load
from ..data.paired import PairedData, PairedLoader
from ..models.alignment import AlignmentModel


def embed(model: AlignmentModel, data: PairedData, batch_size: int = 512) -> dict:
    """Encoder outputs ``h_img``, ``h_aud`` and L2-normalised projections ``z_img``, ``z_aud``
    (numpy), with the pairs' ``labels``; stored, so that a re-run reads it
    (:func:`~mmhelpers.cache.results.compute_or_load`)."""
    return compute_or_load("embed", {"model": model, "data": data},
                           lambda: _embed(model, data, batch_size))


@torch.inference_mode()
def _embed(model: AlignmentModel, data: PairedData, batch_size: int) -> dict:
    model.eval()
    device = next(model.parameters()).device
    out = {k: [] for k in ("h_img", "h_aud", "z_img", "z_aud")}
    for images, audio, _ in PairedLoader(data, batch_size, shuffle=False):
        h_img, h_aud = model.represent(images.to(device), audio.to(device))
        for k, v in (("h_img", h_img), ("h_aud", h_aud), ("z_img", model.image_head(h_img)),
                     ("z_aud", model.audio_head(h_aud))):
            out[k].append(v.float().cpu())
    out = {k: torch.cat(v) for k, v in out.items()}
    for k in ("z_img", "z_aud"):
        out[k] = nn.functional.normalize(out[k], dim=1)
    out = {k: v.numpy() for k, v in out.items()}
    out["labels"] = data.labels.numpy()
    return out


def recall_at_k(query: np.ndarray, gallery: np.ndarray, q_labels, g_labels, ks=(1, 5),
                match: str = "class", chunk: int = 1024) -> dict:
    """Fraction of queries with a hit among their ``k`` most cosine-similar gallery items.

    ``match="class"``: a hit is a gallery item with the query's label. ``"instance"``: the hit
    must be the query's own partner (row ``i`` of ``gallery`` for query ``i``).
    """
    if match not in ("class", "instance"):
        raise ValueError(f"recall_at_k: match must be 'class' or 'instance', got {match!r}")
    q = nn.functional.normalize(torch.as_tensor(query, dtype=torch.float32), dim=1)
    g = nn.functional.normalize(torch.as_tensor(gallery, dtype=torch.float32), dim=1)
    q_labels, g_labels = torch.as_tensor(q_labels), torch.as_tensor(g_labels)
    top = torch.cat([(c @ g.T).topk(max(ks), dim=1).indices for c in q.split(chunk)])
    if match == "class":
        hit = g_labels[top] == q_labels[:, None]
    else:
        hit = top == torch.arange(len(q))[:, None]
    return {k: hit[:, :k].any(1).float().mean().item() for k in ks}


def linear_probe(train_x, train_y, test_x, test_y, seed: int = config.SEED) -> float:
    """Test accuracy of a logistic regression fitted on frozen training features (standardised);
    stored, so that a re-run reads it (:func:`~mmhelpers.cache.results.compute_or_load`)."""
    spec = {"train": [train_x, train_y], "test": [test_x, test_y], "seed": seed}
    return compute_or_load("linear_probe", spec, lambda: _linear_probe(train_x, train_y, test_x, test_y, seed))


def _linear_probe(train_x, train_y, test_x, test_y, seed: int) -> float:
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    # one BLAS thread: OpenBLAS's threads spinning against torch's cost about 20x here (0.95 s
    # against 0.05 s for 3,000 pairs of 20-d codes, measured in a notebook that trains)
    with threadpool_limits(1, user_api="blas"):
        return float(probe.fit(train_x, train_y).score(test_x, test_y))


def prototypes(z: np.ndarray, labels) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, prototypes)``: per class, the mean of its unit embeddings ``z`` (N, d),
    normalised to unit length."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    protos = np.stack([z[labels == c].mean(0) for c in classes])
    return classes, protos / (np.linalg.norm(protos, axis=1, keepdims=True) + 1e-12)


def prototype_accuracy(z_img_train, y_train, z_aud_test, y_test) -> float:
    """Audio classified by the nearest image-class prototype (mean unit image projection per digit)."""
    classes, protos = prototypes(z_img_train, y_train)
    return float((classes[(z_aud_test @ protos.T).argmax(1)] == y_test).mean())


def scores(train_emb: dict, test_emb: dict) -> dict:
    """Every metric of one run (in %): retrieval both ways, linear probes, prototype accuracy."""
    y_tr, y_te = train_emb["labels"], test_emb["labels"]
    i2a = recall_at_k(test_emb["z_img"], test_emb["z_aud"], y_te, y_te)
    a2i = recall_at_k(test_emb["z_aud"], test_emb["z_img"], y_te, y_te)
    exact = recall_at_k(test_emb["z_img"], test_emb["z_aud"], y_te, y_te, ks=(1,), match="instance")
    row = {"R@1 img→aud": i2a[1], "R@5 img→aud": i2a[5], "R@1 aud→img": a2i[1], "R@5 aud→img": a2i[5],
           "exact R@1 img→aud": exact[1],
           "probe image": linear_probe(train_emb["h_img"], y_tr, test_emb["h_img"], y_te),
           "probe audio": linear_probe(train_emb["h_aud"], y_tr, test_emb["h_aud"], y_te),
           "audio by image prototype": prototype_accuracy(train_emb["z_img"], y_tr, test_emb["z_aud"], y_te)}
    return {k: 100 * v for k, v in row.items()}


def run_scores(model: AlignmentModel, train_data: PairedData, test_data: PairedData) -> dict:
    """:func:`scores` of one trained model (stored and reused for the same weights and data)."""
    spec = {"model": model, "train": train_data, "test": test_data}
    return compute_or_load("contrastive_scores", spec,
                           lambda: scores(embed(model, train_data), embed(model, test_data)))
