"""Tensor fusion, low-rank fusion, relevance scores and the contribution measures, on tiny cases."""

import pytest
import torch
from torch import nn

from mmhelpers.analysis import contribution
from mmhelpers.models.relevance import RelevanceFusion, RelevanceLoss, block_norm_penalty, relevance_scores
from mmhelpers.models.tensor_fusion import LowRankFusion, TensorFusion, tensor_product


class Identity(nn.Module):
    """A stand-in frozen encoder: its input is its embedding."""

    def __init__(self, dim, modality):
        super().__init__()
        self.embed_dim, self.modality = dim, modality

    def forward(self, x):
        return x


def encoders(d_img=3, d_aud=5):
    return Identity(d_img, "image"), Identity(d_aud, "audio")


def test_tensor_product_has_dimension_d1_plus_1_times_d2_plus_1_and_keeps_the_unimodal_terms():
    a, b = torch.randn(4, 3), torch.randn(4, 5)
    z = tensor_product(a, b)
    assert z.shape == (4, (3 + 1) * (5 + 1))
    grid = z.view(4, 4, 6)
    assert torch.equal(grid[:, 0, 0], torch.ones(4))  # the constant
    assert torch.allclose(grid[:, 0, 1:], b) and torch.allclose(grid[:, 1:, 0], a)  # each modality alone
    assert torch.allclose(grid[:, 1:, 1:], a.unsqueeze(2) * b.unsqueeze(1))  # every product
    assert TensorFusion(*encoders(), hidden=7).fused.in_features == 24


def test_low_rank_fusion_at_full_rank_is_exactly_the_tensor_fusion():
    torch.manual_seed(0)
    tfn = TensorFusion(*encoders(), hidden=6).eval()
    lmf = LowRankFusion(*encoders(), rank=4, hidden=6).eval().from_tensor_fusion(tfn)
    a, b = torch.randn(9, 3), torch.randn(9, 5)
    assert torch.allclose(lmf.fuse(a, b), tfn.fuse(a, b), atol=1e-5)
    with pytest.raises(ValueError, match="rank 2 < 4"):
        LowRankFusion(*encoders(), rank=2, hidden=6).from_tensor_fusion(tfn)


def test_low_rank_parameters_grow_linearly_with_the_rank():
    count = {r: sum(p.numel() for p in LowRankFusion(*encoders(), rank=r, hidden=6).parameters()) for r in (1, 2, 4)}
    per_rank = (4 + 6) * 6 + 1  # two factors of (d + 1) x hidden, one rank weight
    assert count[2] - count[1] == per_rank and count[4] - count[2] == 2 * per_rank


@pytest.mark.parametrize("p", [1, 2, 4])
def test_relevance_scores_have_unit_p_norm(p):
    norms = torch.tensor([0.3, 2.0, 5.0])
    beta = relevance_scores(norms, p)
    assert float(beta.norm(p=p)) == pytest.approx(1.0)
    assert torch.all(beta[1:] > beta[:-1])  # larger block, larger score
    q = 2 * p / (p + 1)
    assert float(block_norm_penalty(norms, p)) == pytest.approx(float((norms ** q).sum() ** (2 / q)))


def test_relevance_loss_adds_the_penalty_of_the_model_it_trains():
    torch.manual_seed(0)
    model = RelevanceFusion(*encoders(), centred=False)
    a, b, y = torch.randn(8, 3), torch.randn(8, 5), torch.randint(0, 10, (8,))
    plain = nn.functional.cross_entropy(model.fuse(a, b), y)
    loss = RelevanceLoss(p=2, strength=0.5)
    expected = plain + 0.5 * block_norm_penalty(model.block_norms(), 2)
    assert loss(model, a, b, y).item() == pytest.approx(expected.item())


def test_centred_terms_remove_the_means_from_the_interaction():
    torch.manual_seed(0)
    model = RelevanceFusion(*encoders(), centred=True).train()
    a, b = torch.rand(256, 3) + 2.0, torch.rand(256, 5) + 3.0  # large means, like ReLU outputs
    terms = model.terms(a, b)
    for t in terms:
        assert t.mean(0).abs().max() < 1e-5  # centred
        assert float((t ** 2).sum(1).mean()) == pytest.approx(1.0, rel=1e-3)  # unit mean squared norm


class Additive(nn.Module):
    """A model with no interaction: logits = A a + B b."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 10), nn.Linear(5, 10, bias=False)

    def fuse(self, a, b):
        return self.a(a) + self.b(b)


def test_emap_of_an_additive_model_is_the_model_itself():
    torch.manual_seed(0)
    model, a, b = Additive(), torch.randn(40, 3), torch.randn(40, 5)
    labels = torch.randint(0, 10, (40,))
    assert torch.allclose(contribution.emap_logits(model, a, b), contribution.fused_logits(model, a, b), atol=1e-5)
    assert contribution.emap_accuracy(model, a, b, labels) == contribution.accuracy(
        contribution.fused_logits(model, a, b), labels)


def test_emap_removes_a_pure_interaction():
    class Product(nn.Module):
        def fuse(self, a, b):  # the class is decided by the sign of a * b only
            s = (a[:, :1] * b[:, :1])
            return torch.cat([s, -s], dim=1)

    a, b = torch.randn(200, 1), torch.randn(200, 1)
    labels = (a[:, 0] * b[:, 0] < 0).long()
    assert contribution.accuracy(contribution.fused_logits(Product(), a, b), labels) == 100.0
    assert contribution.emap_accuracy(Product(), a, b, labels) < 75.0  # the additive part knows little


def test_shapley_values_sum_to_full_minus_empty_and_split_an_additive_game():
    values = {(): 10.0, ("image",): 60.0, ("audio",): 30.0, ("image", "audio"): 90.0}
    phi = contribution.shapley_values(values)
    assert phi["image"] + phi["audio"] == pytest.approx(90.0 - 10.0)
    assert phi == {"image": 0.5 * (50 + 60), "audio": 0.5 * (20 + 30)}


def test_perceptual_drop_is_zero_for_an_ignored_modality():
    torch.manual_seed(0)
    model = Additive()
    with torch.no_grad():
        model.b.weight.zero_()  # the audio is ignored
    a, b = torch.randn(100, 3), torch.randn(100, 5)
    labels = contribution.fused_logits(model, a, b).argmax(1)
    drop = contribution.perceptual_drop(model, a, b, labels, permutations=3)
    assert drop["audio"] == 0.0 and drop["image"] > 50.0
    values = contribution.coalition_values(model, a, b, labels, a.mean(0, keepdim=True), b.mean(0, keepdim=True))
    assert values[("image",)] == values[("image", "audio")] == 100.0


def test_scaled_only_terms_keep_the_means_and_have_unit_mean_squared_norm():
    torch.manual_seed(0)
    model = RelevanceFusion(*encoders(), centred=False, scaled=True).train()
    assert model.kind == "scaled" and not hasattr(model, "centre")
    a, b = torch.rand(256, 3) + 2.0, torch.rand(256, 5) + 3.0
    raw = RelevanceFusion(*encoders(), centred=False).terms(a, b)
    for t, r in zip(model.terms(a, b), raw):
        assert float((t ** 2).sum(1).mean()) == pytest.approx(1.0, rel=1e-3)  # scaled
        ratio = t / r   # one number per block: scaled, not centred
        assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)
    model.eval()  # evaluation uses the running scale, still one number per block
    for t, r in zip(model.terms(a, b), raw):
        ratio = t / r
        assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)


def test_relevance_kinds_and_their_blocks():
    kinds = {(c, s): RelevanceFusion(*encoders(), centred=c, scaled=s).kind
             for c, s in ((False, False), (False, True), (True, True), (True, None), (False, None))}
    assert kinds == {(False, False): "raw", (False, True): "scaled", (True, True): "centred",
                     (True, None): "centred", (False, None): "raw"}
    with pytest.raises(ValueError):
        RelevanceFusion(*encoders(), centred=True, scaled=False)
    scaled = RelevanceFusion(*encoders(), centred=False, scaled=True)
    assert "centre=False" in repr(scaled.norms[0])  # reaches the cache key
