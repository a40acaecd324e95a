"""The fusion search space, the candidate networks and the two searches, on tiny cases."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare, spearmanr

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
        # the surrogate's description of a candidate names every layer: it reads back
        assert tuple(FusionLayer(int(i) + 1, int(a) + 1, SPACE.activations[int(n)])
                     for i, a, n in SPACE.indices(candidate)) == candidate
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


def test_random_draws_take_the_number_of_layers_uniformly_first():
    rng = np.random.default_rng(1)
    draws = [SPACE.sample(rng) for _ in range(3000)]
    counts = np.bincount([len(c) for c in draws], minlength=4)[1:]
    assert chisquare(counts).pvalue > 0.01  # uniform over 1, 2, 3 layers, not 97% three
    assert counts.min() > 900
    firsts = np.bincount([SPACE.choices.index(c[0]) for c in draws], minlength=30)
    assert chisquare(firsts).pvalue > 0.01


def known_score(candidate) -> float:
    """A synthetic score with a known ranking: deeper image layers, later audio layers and ReLU help."""
    return float(np.mean([40 + 8 * layer.image + 3 * layer.audio + (5 if layer.act == "relu" else 0)
                          for layer in candidate]) + 2 * len(candidate))


def test_the_temperature_follows_the_reference_schedule_from_step_0():
    settings = search.MFASSettings()  # the reference's defaults: E = 3, K = 15, 10.0 -> 0.2
    assert (settings.iterations, settings.samples) == (3, 15)
    temps = settings.temperatures(4)  # the reference's 4 fusions
    assert len(temps) == 12 and temps[:3] == pytest.approx([10.0, 9.41, 7.83], abs=0.005)
    # after step (e, l) the reference computes the schedule at e * E + l
    assert temps[4] == temps[5] == pytest.approx(settings.schedule(3))
    steps = search.mfas_steps(SPACE, known_score, seed=0)
    assert [s.temperature for s in steps] == settings.temperatures(3)
    assert [s.temperature for s in steps][:3] == pytest.approx([10.0, 9.41, 7.83], abs=0.005)


def test_each_step_extends_only_what_the_step_before_sampled():
    settings = search.MFASSettings(iterations=2, samples=5)
    steps = search.mfas_steps(SPACE, known_score, seed=3, settings=settings)
    assert [(s.iteration, s.layer) for s in steps] == [(e, k) for e in range(2) for k in range(3)]
    first = steps[0]
    assert [t.candidate for t in first.trials] == [(c,) for c in SPACE.choices]  # all C trained
    assert len(first.sampled) == 5 and set(first.sampled) <= {t.candidate for t in first.trials}
    for before, step in zip(steps, steps[1:]):
        assert step.extended == before.sampled and len(step.trials) == 5
        assert [t.candidate for t in step.trials] == list(step.sampled)
        for t in step.trials:
            assert not np.isnan(t.predicted)
            rest = t.candidate[: step.layer] + t.candidate[step.layer + 1:]
            assert any(rest == p[: step.layer] + p[step.layer + 1:] for p in before.sampled)
        if step.iteration == 0:  # step l extends the configurations of length l
            assert {len(c) for c in before.sampled} == {step.layer}
            assert {len(t.candidate) for t in step.trials} == {step.layer + 1}
            # not the best measured so far: only prefixes sampled at the step before
            assert {t.candidate[:-1] for t in step.trials} <= set(before.sampled)
        else:  # later iterations replace layer l of full-length configurations
            assert {len(t.candidate) for t in step.trials} == {3}


def test_the_budget_is_equal_and_the_same_seed_gives_the_same_search(one_thread_tmp_cache):
    settings = search.MFASSettings(iterations=2, samples=4)
    budget = settings.budget(SPACE)
    assert budget == 30 + (2 * 3 - 1) * 4
    mfas = search.model_based_search(SPACE, known_score, seed=3, settings=settings)
    rand = search.random_search(SPACE, budget, known_score, seed=3)
    assert len(mfas) == len(rand) == budget
    for run in (lambda s: search.model_based_search(SPACE, known_score, s, settings),
                lambda s: search.random_search(SPACE, budget, known_score, s)):
        assert run(3) == run(3) and run(3) != run(4)
    assert [t.step for t in mfas] == [0] * 30 + [k for k in range(1, 6) for _ in range(4)]


def test_sampling_follows_the_powered_shares():
    acc = np.array([50.0, 60.0, 90.0])
    rng = np.random.default_rng(0)
    for t in (10.0, 0.2):
        draws = [int(search.sample_configurations(acc, 1, t, rng)[0]) for _ in range(4000)]
        expected = (acc / acc.sum()) ** (1 / t)
        freq = np.bincount(draws, minlength=3) / 4000
        assert freq == pytest.approx(expected / expected.sum(), abs=0.03)
    picks = search.sample_configurations(acc, 3, 1.0, rng)
    assert sorted(picks) == [0, 1, 2]  # without replacement


def test_the_surrogate_is_the_reference_lstm_and_learns_a_known_ranking():
    surrogate = search.RecurrentSurrogate.seeded(0)
    assert surrogate.lstm.hidden_size == 100 and surrogate.embedding[0].in_features == 3
    assert torch.all(surrogate.head[0].bias == 1.8)
    assert surrogate.head[0].weight.abs().max() <= 0.1
    rng = np.random.default_rng(2)
    seen = {SPACE.sample(rng): None for _ in range(90)}
    data = {c: known_score(c) for c in seen}
    optimizer = torch.optim.Adam(surrogate.parameters(), lr=1e-3)
    surrogate.train_on(SPACE, data, optimizer, epochs=600)
    unseen = [SPACE.sample(rng) for _ in range(300)]
    predicted = surrogate.predict(SPACE, unseen)
    assert predicted.shape == (300,) and np.all((predicted > 0) & (predicted < 1))
    rho = spearmanr(predicted, [known_score(c) for c in unseen]).statistic
    assert rho > 0.9


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
