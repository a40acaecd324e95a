"""The fusion search space, the candidate networks and the two searches, on tiny cases."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from mmhelpers.data import PairedData
from mmhelpers.data.splits import Splits
from mmhelpers.models.searchable import FusionLayer, SearchedFusion, SearchSpace, describe
from mmhelpers.training import search

TINY = SearchSpace(image_dims=(4,), audio_dims=(3, 5), max_layers=2)
SPACE = SearchSpace(image_dims=(32, 64, 100), audio_dims=(16, 32, 64, 64, 100))


def test_size_formula_matches_enumeration():
    candidates = list(TINY.enumerate())
    assert TINY.size() == len(candidates) == len(set(candidates)) == 4 + 4 ** 2
    assert SPACE.size() == 30 + 30 ** 2 + 30 ** 3


def test_a_candidate_decodes_into_a_module_and_back():
    rng = np.random.default_rng(0)
    for _ in range(50):
        candidate = SPACE.sample(rng)
        assert SPACE.decode(SPACE.encode(candidate)) == candidate
    candidate = (FusionLayer(3, 2, "relu"), FusionLayer(1, 5, "sigmoid"))
    net = SearchedFusion(candidate, SPACE, hidden=8)
    assert [type(layer[1]).__name__ for layer in net.fusion_layers] == ["ReLU", "Sigmoid"]
    assert net.fusion_layers[0][0].in_features == 100 + 32 and net.fusion_layers[1][0].in_features == 32 + 100 + 8
    image, audio = torch.randn(4, sum(SPACE.image_dims)), torch.randn(4, sum(SPACE.audio_dims))
    assert net(image, audio).shape == (4, 10)
    assert describe(candidate) in repr(net)
    # it reads only the layers it picked: changing another layer changes nothing
    other = image.clone()
    other[:, 32:96] += 5.0  # image layer 2: not used by this candidate
    assert torch.equal(net(image, audio), net(other, audio))


def test_sampling_covers_lengths_in_proportion_to_their_counts():
    rng = np.random.default_rng(1)
    lengths = np.bincount([len(TINY.sample(rng)) for _ in range(2000)], minlength=3)[1:]
    assert lengths[1] / lengths.sum() == pytest.approx(16 / 20, abs=0.03)


def known_score(candidate) -> float:
    """A synthetic score with a known ranking: deeper image layers, later audio layers and ReLU help."""
    return float(np.mean([40 + 8 * layer.image + 3 * layer.audio + (5 if layer.act == "relu" else 0)
                          for layer in candidate]) + 2 * len(candidate))


def test_the_surrogate_learns_a_known_ranking(one_thread_tmp_cache):
    rng = np.random.default_rng(2)
    seen = [SPACE.sample(rng) for _ in range(60)]
    trials = [search.Trial(c, known_score(c), 0) for c in seen]
    surrogate = search.Surrogate.fitted(SPACE, trials, seed=0)
    unseen = [SPACE.sample(rng) for _ in range(200)]
    rho = spearmanr(surrogate.predict(SPACE, unseen), [known_score(c) for c in unseen]).statistic
    assert rho > 0.8


def test_the_same_seed_gives_the_same_search_and_the_budget_is_kept(one_thread_tmp_cache):
    for run in (search.random_search, search.model_based_search):
        a, b = (run(SPACE, 40, known_score, seed=3) for _ in range(2))
        assert a == b and len(a) == 40 and len({t.candidate for t in a}) == 40
        assert run(SPACE, 40, known_score, seed=4) != a
    smbo = search.model_based_search(SPACE, 40, known_score, seed=3)
    assert [t.step for t in smbo] == [0] * 20 + [1] * 10 + [2] * 10
    assert all(np.isnan(t.predicted) for t in smbo[:20]) and not any(np.isnan(t.predicted) for t in smbo[20:])
    assert max(len(t.candidate) for t in smbo) == 3


def test_the_temperature_falls_and_sharpens_the_sampling():
    assert search.temperature(0) > search.temperature(3) > search.temperature(10) >= 0.2
    p_early, p_late = (search.sampling_probabilities(np.array([50.0, 90.0]), s) for s in (0, 10))
    assert p_early[1] - p_early[0] < p_late[1] - p_late[0]
    assert p_late.sum() == pytest.approx(1.0)


def test_a_candidate_trains_on_layer_outputs_and_its_score_is_reproducible(one_thread_tmp_cache):
    rng = np.random.default_rng(0)
    n = 200
    labels = torch.from_numpy(rng.integers(0, 10, n))
    image = torch.randn(n, sum(TINY.image_dims)) + torch.nn.functional.one_hot(labels, 10)[:, :4].float() * 3
    audio = torch.randn(n, sum(TINY.audio_dims))
    data = PairedData(image, audio, labels, features="layer outputs", name="toy", fingerprint="toy-layers")
    parts = Splits(data[np.arange(150)], data[np.arange(150, 200)], data[np.arange(150, 200)])
    training = search.CandidateTraining(epochs=2, hidden=8)
    candidate = (FusionLayer(1, 1, "relu"),)
    first = training.score(candidate, TINY, parts)
    assert 0 <= first <= 100 and training.score(candidate, TINY, parts) == first


def test_layer_outputs_pool_every_layer_and_end_with_the_embedding(one_thread_tmp_cache):
    from mmhelpers.models.encoders import ImageEncoder, LogMelEncoder
    from mmhelpers.training.layer_outputs import layer_dims, layer_outputs

    torch.manual_seed(0)
    img, aud = ImageEncoder().eval(), LogMelEncoder().eval()
    assert layer_dims(img) == (32, 64, 100) and layer_dims(aud) == (16, 32, 64, 64, 100)
    data = PairedData(torch.rand(5, 1, 28, 28), torch.randn(5, 1, 8000) * 0.1, torch.arange(5), name="five")
    out = layer_outputs(img, aud, data)
    assert out.images.shape == (5, 196) and out.audio.shape == (5, 276)
    with torch.no_grad():
        assert torch.allclose(out.images[:, -100:], img(data.images), atol=1e-5)
        assert torch.allclose(out.audio[:, -100:], aud(data.audio), atol=1e-5)
    with pytest.raises(TypeError, match="ImageEncoder or a LogMelEncoder"):
        layer_dims(torch.nn.Linear(2, 2))
