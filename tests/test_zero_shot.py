"""Zero-shot transfer (4d): the split takes the held-out digits' labels from one modality only,
checked on the data it returns; prototypes and their nearest-prototype predictions on hand-made
embeddings."""

import numpy as np
import pytest
import torch

from mmhelpers.analysis import retrieval, zero_shot
from test_train import toy_pairs

HELD_OUT = (8, 9)


@pytest.mark.parametrize("unlabelled", ["audio", "image"])
def test_the_split_has_no_label_of_the_held_out_digits_for_one_modality_only(unlabelled):
    data = toy_pairs(200)
    split = zero_shot.zero_shot_split(data, HELD_OUT, unlabelled=unlabelled)
    other = "image" if unlabelled == "audio" else "audio"
    missing, kept = split.labelled[unlabelled], split.labelled[other]
    assert not np.isin(missing.labels.numpy(), HELD_OUT).any()          # on the labels returned
    assert np.bincount(missing.labels.numpy(), minlength=10).tolist() == [20] * 8 + [0, 0]
    assert torch.equal(kept.labels, data.labels)                        # every label of the other
    assert np.isin(kept.labels.numpy(), HELD_OUT).sum() == 40
    assert split.pairs is data and len(split.pairs) == len(data)       # every pair stays
    assert split.held_out == HELD_OUT and split.unlabelled == unlabelled


def test_the_labelled_views_keep_their_own_pairs_together():
    data = toy_pairs(100)
    missing = zero_shot.zero_shot_split(data, HELD_OUT).labelled["audio"]
    keep = ~np.isin(data.labels.numpy(), HELD_OUT)
    assert torch.equal(missing.images, data.images[keep]) and torch.equal(missing.audio, data.audio[keep])
    assert missing.fingerprint and missing.fingerprint != data.fingerprint   # a selection, identified


def test_a_modality_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="unlabelled"):
        zero_shot.zero_shot_split(toy_pairs(20), HELD_OUT, unlabelled="video")


def test_prototypes_are_unit_class_means_and_the_nearest_one_wins():
    z = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    labels = np.array([0, 0, 1, 1])
    classes, protos = retrieval.prototypes(z, labels)
    assert classes.tolist() == [0, 1]
    assert np.allclose(np.linalg.norm(protos, axis=1), 1)
    assert np.allclose(protos[0], [0.9, 0.3] / np.linalg.norm([0.9, 0.3]))
    queries = np.array([[0.95, 0.31], [-0.2, 0.98]])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    pred = zero_shot.prototype_predictions(queries, classes, protos, [0, 0])
    assert pred.preds.tolist() == [0, 1] and pred.correct.tolist() == [True, False]
    assert np.allclose(pred.logits, queries @ protos.T) and np.allclose(pred.probs.sum(1), 1)


def test_a_class_without_a_prototype_is_never_predicted():
    z = np.eye(3)
    classes, protos = retrieval.prototypes(z[:2], [0, 2])               # no prototype of 1
    pred = zero_shot.prototype_predictions(z, classes, protos, [0, 1, 2])
    assert pred.probs.shape == (3, 3) and (pred.probs[:, 1] == 0).all() and 1 not in pred.preds


def test_held_out_and_other_digits_are_scored_apart():
    labels = np.array([8, 9, 1, 2])
    p = zero_shot.prototype_predictions(np.eye(3)[[2, 1, 0, 0]], np.array([1, 2, 8]),
                                        np.eye(3), labels)
    assert p.preds.tolist() == [8, 2, 1, 1]
    table = zero_shot.held_out_table({"m": p}, HELD_OUT)
    assert table.loc["m"].tolist() == [50.0, 50.0]
    part = zero_shot.restrict(p, np.isin(labels, HELD_OUT))
    assert part.labels.tolist() == [8, 9] and len(part.preds) == 2
