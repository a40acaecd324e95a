"""Cross-modal attention (4d): the attention against torch's own, on hand-made cases, masking; the
fusion's trunks against the encoders they cut; the measures of where the attention goes."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from mmhelpers.analysis import attention
from mmhelpers.data.splits import Splits
from mmhelpers.models.classifier import fit_normalisation
from mmhelpers.models.cross_attention import AudioFrames, CrossAttentionFusion, CrossModalAttention, ImagePositions
from mmhelpers.models.encoders import ImageEncoder, LogMelEncoder
from mmhelpers.models.frozen import FrozenEncoder
from mmhelpers.training import catalogue
from mmhelpers.training.recipes import RECIPES
from test_models import _unregistered
from test_train import toy_pairs


pytestmark = pytest.mark.usefixtures("seeded_one_thread")  # tests/conftest.py


def inputs(b=3, t=5, p=7, dq=6, dk=4):
    g = torch.Generator().manual_seed(2)
    return torch.randn(b, t, dq, generator=g), torch.randn(b, p, dk, generator=g)


# ----------------------------------------------------------------------------- the attention

@pytest.mark.parametrize("heads", [1, 2, 4])
def test_the_weights_sum_to_one_over_the_positions_attended(heads):
    q, kv = inputs()
    att = CrossModalAttention(6, 4, dim=8, heads=heads)
    out, w = att(q, kv)
    assert out.shape == (3, 5, 8) and w.shape == (3, heads, 5, 7)
    assert (w >= 0).all() and torch.allclose(w.sum(-1), torch.ones(3, heads, 5))
    mask = torch.tensor([False, True, False, False, True, False, False])
    _, w = att(q, kv, mask)
    assert torch.allclose(w.sum(-1), torch.ones(3, heads, 5))
    assert (w[..., mask] == 0).all() and (w[..., ~mask] > 0).all()


@pytest.mark.parametrize("heads", [1, 4])
def test_it_is_torchs_multi_head_attention_without_the_output_projection(heads):
    """The reference on the same inputs: ``torch.nn.MultiheadAttention`` with the same
    projections and an identity output projection, its per-head weights, and a key mask."""
    q, kv = inputs(dq=8, dk=4)
    att = CrossModalAttention(8, 4, dim=8, heads=heads)
    ref = torch.nn.MultiheadAttention(8, heads, bias=False, kdim=4, vdim=4, batch_first=True)
    with torch.no_grad():
        ref.q_proj_weight.copy_(att.w_q.weight)
        ref.k_proj_weight.copy_(att.w_k.weight)
        ref.v_proj_weight.copy_(att.w_v.weight)
        ref.out_proj.weight.copy_(torch.eye(8))
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[0, 2], mask[2, :3] = True, True
    for m in (None, mask):
        out, w = att(q, kv, m)
        ref_out, ref_w = ref(q, kv, kv, key_padding_mask=m, average_attn_weights=False)
        assert torch.allclose(out, ref_out, atol=1e-5) and torch.allclose(w, ref_w, atol=1e-6)


def test_one_key_that_matches_the_query_gets_the_weight():
    """Hand-made: W_q and W_k read the first feature only; one position has a large first
    feature, the others none, so every query (first feature 1) puts its weight there."""
    att = CrossModalAttention(2, 2, dim=2)
    with torch.no_grad():
        att.w_q.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        att.w_k.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        att.w_v.weight.copy_(torch.eye(2))
    queries = torch.tensor([[[1.0, 5.0], [1.0, -3.0]]])          # (1, 2 frames, 2)
    keys = torch.zeros(1, 6, 2)
    keys[0, :, 1] = torch.arange(6.0)                              # values to read back
    keys[0, 4, 0] = 20.0                                           # the signal, at position 4
    out, w = att(queries, keys)
    assert (w[0, 0, :, 4] > 0.99).all()
    assert torch.allclose(out[0, :, 1], torch.full((2,), 4.0), atol=0.1)  # position 4's value
    expected = torch.softmax(torch.tensor([0, 0, 0, 0, 20.0, 0]) / math.sqrt(2), 0)
    assert torch.allclose(w[0, 0, 0], expected, atol=1e-6)       # the scaled scores' softmax


def test_a_masked_position_changes_nothing_downstream():
    q, kv = inputs()
    att = CrossModalAttention(6, 4, dim=8, heads=2)
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[:, 3] = True
    out, w = att(q, kv, mask)
    changed = kv.clone()
    changed[:, 3] = 1e3 * torch.randn(3, 4)                        # its key and its value
    out2, w2 = att(q, changed, mask)
    assert torch.equal(out, out2) and torch.equal(w, w2)
    out3, _ = att(q, changed)                                      # unmasked, it does matter
    assert not torch.allclose(out, out3)


def test_heads_must_divide_the_dimension():
    with pytest.raises(ValueError, match="divide"):
        CrossModalAttention(4, 4, dim=6, heads=4)


# ----------------------------------------------------------------------------- the fusion

def fresh(heads=4):
    img, aud = ImageEncoder(), LogMelEncoder()
    return img, aud, CrossAttentionFusion(ImagePositions(img), AudioFrames(aud), heads=heads)


def test_the_trunks_are_the_encoders_before_they_pool():
    img, aud = ImageEncoder().eval(), LogMelEncoder().eval()
    images, audio = torch.rand(2, 1, 28, 28), torch.randn(2, 1, 8000)
    fit_normalisation(img, images), fit_normalisation(aud, None, audio)
    positions, frames = ImagePositions(img)(images), AudioFrames(aud)(audio)
    assert positions.shape == (2, 49, 64) and frames.shape == (2, 8, 256)
    x = img.input(images)
    assert torch.allclose(positions, img.net[:8](x).flatten(2).transpose(1, 2))
    pooled = aud.net[:13](aud.input(audio)).flatten(1)            # the encoder's max over time
    assert torch.allclose(frames.amax(1), pooled)
    trunk = ImagePositions(img)
    assert all(a is b for a, b in zip(trunk.parameters(), img.net[:8].parameters()))  # shared


def test_the_fusion_gives_logits_embeddings_and_its_weights():
    _, _, model = fresh()
    images, audio = torch.rand(4, 1, 28, 28), torch.randn(4, 1, 8000)
    fit_normalisation(model, images, audio)
    for mode in (True, False):
        model.train(mode)
        assert model(images, audio).shape == (4, 10)
        assert model.embed(images, audio).shape == (4, model.embed_dim)
    _, _, w = model.attend(*model.member_outputs(images, audio))
    assert w.shape == (4, 4, 8, 49) and torch.allclose(w.sum(-1), torch.ones(4, 4, 8))
    assert _unregistered(model) == []


def test_on_frozen_trunks_every_own_parameter_trains_and_the_trunks_do_not():
    img, aud, _ = fresh()
    model = CrossAttentionFusion(FrozenEncoder(ImagePositions(img)), FrozenEncoder(AudioFrames(aud))).train()
    assert model.freeze_members and not any(m.training for m in model.image_encoder.encoder.modules())
    images, audio, labels = torch.rand(4, 1, 28, 28), torch.randn(4, 1, 8000), torch.arange(4)
    own = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    trunk = {k: v.clone() for k, v in img.state_dict().items()}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    torch.nn.functional.cross_entropy(model(images, audio), labels).backward()
    opt.step()
    assert own and all(not torch.equal(p, own[n]) for n, p in model.named_parameters() if p.requires_grad)
    assert all(torch.equal(v, img.state_dict()[k]) for k, v in trunk.items())


def test_the_catalogue_trains_it_on_its_members_and_its_weights_can_be_read(one_thread_tmp_cache):
    splits = Splits(toy_pairs(), toy_pairs(100, 1), toy_pairs(100, 2))
    tiny = {n: dataclasses.replace(RECIPES[n], epochs=(1, 1), batch_size=64)
            for n in ("image", "audio_mel", "cross_attention")}
    members = tuple(catalogue.trained(n, splits, 3, recipe=tiny[n], progress=False)[0]
                    for n in catalogue.MEMBERS)
    model, hist = catalogue.trained("cross_attention", splits, 3, members=members,
                                    recipe=tiny["cross_attention"], progress=False)
    assert isinstance(model, CrossAttentionFusion) and len(hist.epochs) == 1
    w, frames = attention.attention_weights(model, splits.test)
    assert w.shape == (100, 4, 8, 49) and np.allclose(w.sum(-1), 1, atol=1e-5)
    assert frames.shape == (100, 8, 256)


# ----------------------------------------------------------------------------- the measures

def test_entropy_is_zero_on_one_position_and_one_when_even():
    w = np.zeros((2, 49))
    w[0, 5] = 1.0
    w[1] = 1 / 49
    assert np.allclose(attention.normalised_entropy(w), [0.0, 1.0])


def test_ink_positions_and_the_mass_on_them():
    images = torch.zeros(1, 1, 28, 28)
    images[0, 0, :4, :8] = 1.0                                     # ink in cells (0, 0) and (0, 1)
    ink = attention.ink_positions(images)
    assert ink.shape == (1, 49) and ink[0].nonzero()[0].tolist() == [0, 1]
    w = np.zeros((1, 2, 3, 49))
    w[..., 0], w[..., 10] = 0.25, 0.75
    assert np.allclose(attention.mass_on(w, ink), 0.25)


def test_head_distance_and_the_summary_per_scenario():
    w = np.zeros((2, 2, 1, 49))
    w[0, :, 0, 3] = 1.0                                            # two heads, the same place
    w[1, 0, 0, 3], w[1, 1, 0, 4] = 1.0, 1.0                       # two heads, two places
    assert np.allclose(attention.head_distance(w), [0.0, 1.0])
    ink = np.zeros((2, 49), bool)
    ink[:, 3] = True
    table = attention.scenario_summary(w, ink, ["a", "b"])
    assert list(table.index) == ["a", "b"]
    assert np.allclose(table["attention on the ink (%)"], [100, 50])
    assert np.allclose(table["entropy (0 to 1)"], 0) and np.allclose(table["largest weight"], 1)


def test_frame_measures_see_attention_that_travels_with_time_and_sharpens_with_the_word():
    frames = 7
    w = np.zeros((1, 1, frames, 49))
    w[0, 0, np.arange(frames), np.arange(frames)] = 1.0           # moves right, one cell a frame
    norms = np.ones((1, frames, 3))
    with np.errstate(invalid="ignore", divide="ignore"):           # its row never changes
        moving = attention.frame_measures(w, norms)
    assert moving["correlation of time with the centre's column"] > 0.8
    assert moving["the centre's movement over a clip (grid cells)"] > 1
    still = np.full((1, 1, frames, 49), 1 / 49)
    still[0, 0, :4] = 0
    still[0, 0, :4, 24] = 1.0                                      # loud frames: one place
    loud = np.ones((1, frames, 3))
    loud[0, 4:] = 0.1                                              # quiet frames: spread
    with np.errstate(invalid="ignore", divide="ignore"):           # a centre that never moves
        sharp = attention.frame_measures(still, loud)
    assert sharp["correlation of a frame's norm with its entropy"] < -0.99
    assert sharp["the centre's movement over a clip (grid cells)"] == pytest.approx(0.0, abs=1e-9)
