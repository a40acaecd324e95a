"""Models and features: shapes, normalisation fitting, fusion mechanics, registered parameters."""

import math

import pytest
import torch

from mmhelpers.features import inputs
from mmhelpers.features import logmel as features
from mmhelpers.features.standardize import Standardize
from mmhelpers.models import fusion
from mmhelpers.models.classifier import UnimodalClassifier, describe, fit_normalisation
from mmhelpers.models.cross_attention import AudioFrames, CrossAttentionFusion, ImagePositions
from mmhelpers.models.encoders import ImageEncoder, LogMelEncoder, RawAudioEncoder, image_cnn
from mmhelpers.models.frozen import FrozenEncoder
from mmhelpers.models.late_fusion import LateFusion
from mmhelpers.models.relevance import RelevanceFusion
from mmhelpers.models.searchable import FusionLayer, SearchedFusion, SearchSpace
from mmhelpers.models.tensor_fusion import LowRankFusion, TensorFusion

B = 4

#: every model of the series, built by its constructor as the notebooks build it
MODELS = {
    "image": lambda: UnimodalClassifier(ImageEncoder(), "image"),
    "audio_raw": lambda: UnimodalClassifier(RawAudioEncoder(), "audio"),
    "audio_mel": lambda: UnimodalClassifier(LogMelEncoder(), "audio"),
    "early": lambda **kw: fusion.EarlyFusion(**kw),
    "intermediate": lambda **kw: fusion.IntermediateFusion(ImageEncoder(), LogMelEncoder(), **kw),
    "intermediate_raw": lambda **kw: fusion.IntermediateFusion(ImageEncoder(), RawAudioEncoder(), **kw),
    "gated": lambda **kw: fusion.GatedFusion(ImageEncoder(), LogMelEncoder(), **kw),
    "late": lambda **kw: LateFusion(MODELS["image"](), MODELS["audio_mel"](), **kw),
    "tensor": lambda **kw: TensorFusion(ImageEncoder(), LogMelEncoder(), **kw),
    "low_rank": lambda **kw: LowRankFusion(ImageEncoder(), LogMelEncoder(), **kw),
    "relevance": lambda **kw: RelevanceFusion(ImageEncoder(), LogMelEncoder(), **kw),
    "relevance_raw_terms": lambda **kw: RelevanceFusion(ImageEncoder(), LogMelEncoder(), centred=False, **kw),
    "cross_attention": lambda **kw: CrossAttentionFusion(ImagePositions(ImageEncoder()), AudioFrames(LogMelEncoder()),
                                                         **kw),
}


pytestmark = pytest.mark.usefixtures("seeded_one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(B, 1, 28, 28, generator=g)
    audio = torch.randn(B, 1, 8000, generator=g) * torch.tensor([0.5, 2.0, 10.0, 35.0])[:, None, None]
    labels = torch.arange(B) % 10
    return images, audio, labels


# ----------------------------------------------------------------------------- features

def test_logmel_shape_and_finite_on_silence_and_clipping():
    lm = features.LogMel(n_mels=40, hop=80)
    silence = torch.zeros(2, 1, 8000)
    loud = (torch.randn(2, 1, 8000) * 1e4).clamp(-3e3, 3e3)  # heavily clipped, huge amplitude
    for x in (silence, loud):
        out = lm(x)
        assert out.shape == (2, 1, 40, 101) == (2, 1, 40, lm.frames(8000))
        assert torch.isfinite(out).all()
    assert torch.allclose(lm(silence), torch.full_like(lm(silence), math.log(lm.eps)))
    assert "filterbank" in dict(lm.named_buffers())
    assert lm(torch.zeros(3, 8000)).shape == (3, 1, 40, 101)  # (B, T) accepted too
    assert features.LogMel()(silence).shape == (2, 1, 32, 63)  # the encoder's defaults


def test_logmel_puts_a_tone_in_the_right_band():
    lm = features.LogMel(n_mels=40)
    t = torch.arange(8000) / 8000
    low, high = (lm(torch.sin(2 * math.pi * f * t)[None, None])[0, 0].mean(1).argmax() for f in (300, 3000))
    assert low < high
    fb = features.mel_filterbank(256, 40, 8000)
    assert fb.shape == (40, 129) and (fb.sum(1) > 0.99).all()


def test_logmel_and_amplitude_reject_bad_arguments():
    with pytest.raises(ValueError, match="n_mels"):
        features.LogMel(n_mels=0)
    with pytest.raises(ValueError, match="shape"):
        features.LogMel()(torch.zeros(2, 2, 8000))
    with pytest.raises(ValueError, match="mode"):
        features.normalise_amplitude(torch.zeros(1, 1, 10), mode="loud")


def test_amplitude_normalisation_removes_the_clip_gain():
    x = torch.randn(1, 1, 8000)
    a, b = features.normalise_amplitude(x * 2), features.normalise_amplitude(x * 30)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
    assert torch.allclose(a.pow(2).mean().sqrt(), torch.tensor(1.0), atol=1e-3)
    assert torch.isfinite(features.normalise_amplitude(torch.zeros(1, 1, 100))).all()


# ----------------------------------------------------------------------------- Standardize

def test_standardize_is_identity_until_fitted_then_standardises():
    s = Standardize()
    x = torch.randn(100, 1, 28, 28) * 3 + 5
    assert torch.equal(s(x), x) and not bool(s.fitted)
    y = s.fit(x)(x)
    assert bool(s.fitted)
    assert abs(y.mean().item()) < 1e-4 and abs(y.std().item() - 1) < 1e-3
    assert "mean" in s.state_dict() and "std" in s.state_dict()


def test_standardize_per_band_and_in_chunks():
    x = torch.randn(64, 1, 5, 30) * torch.arange(1.0, 6.0)[:, None] + torch.arange(5.0)[:, None]
    whole = Standardize((1, 5, 1)).fit(x)
    chunked = Standardize((1, 5, 1)).fit(x.split(10))
    assert whole.mean.shape == (1, 5, 1)
    assert torch.allclose(whole.mean.flatten(), x.mean((0, 1, 3)), atol=1e-4)
    assert torch.allclose(whole.std.flatten(), x.std((0, 1, 3)), rtol=1e-3)
    assert torch.allclose(whole.mean, chunked.mean, atol=1e-5) and torch.allclose(whole.std, chunked.std, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        Standardize((1, 4, 1)).fit(x)


def test_fit_normalisation_uses_the_right_modality(batch):
    images, audio, _ = batch
    m = MODELS["intermediate"]()
    fitted = fit_normalisation(m, images * 0.5 + 0.25, audio)
    assert fitted == ["image_encoder (image)", "audio_encoder (audio)"]
    img_norm = m.image_encoder.input.norm
    assert torch.allclose(img_norm.mean, (images * 0.5 + 0.25).mean(), atol=1e-5)
    assert m.audio_encoder.input.norm.mean.shape == (1, 32, 1) and bool(m.audio_encoder.input.norm.fitted)
    with pytest.raises(ValueError, match="audio"):
        fit_normalisation(MODELS["audio_mel"](), images, None)
    assert fit_normalisation(MODELS["image"](), images) == ["encoder (image)"]


# ----------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("name", [n for n in MODELS if n != "intermediate_raw"])
def test_every_model_outputs_logits_and_embeddings(name, batch):
    images, audio, _ = batch
    m = MODELS[name]()
    bns = [x for x in m.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)]
    assert bns and all(int(bn.num_batches_tracked) == 0 for bn in bns)  # building ran no batch
    fit_normalisation(m, images, audio)
    for mode in (True, False):
        m.train(mode)
        assert m(images, audio).shape == (B, 10)
        z = m.embed(images, audio)
        assert z.shape == (B, m.embed_dim) and torch.isfinite(z).all()
    assert name in describe(m) or type(m).__name__ in describe(m)


@pytest.mark.parametrize("layer", [
    torch.nn.Conv2d(1, 32, kernel_size=3, padding=1, bias=False),
    torch.nn.Conv1d(32, 64, 7, stride=2, bias=False), torch.nn.Linear(3136, 100),
    torch.nn.MaxPool2d(2, 2), torch.nn.Dropout(0.25), torch.nn.ReLU(inplace=True),
    torch.nn.AdaptiveMaxPool2d((4, 1)), torch.nn.Flatten()])
def test_describe_writes_a_layer_as_code_that_builds_it(layer):
    from mmhelpers.models.classifier import layer_text

    text = layer_text(layer)
    assert "(1, 1)" not in text and "dilation" not in text and "bias=True" not in text
    assert repr(eval("torch.nn." + text)) == repr(layer)   # the same layer, shorter


@pytest.mark.parametrize("name", ["image", "audio_raw", "audio_mel"])
def test_unimodal_models_ignore_the_other_input(name, batch):
    images, audio, _ = batch
    m = MODELS[name]().eval()
    uses_image = name == "image"
    out = m(images, None) if uses_image else m(None, audio)
    assert torch.equal(out, m(images, audio))
    with pytest.raises(ValueError, match="None"):
        m(None, audio) if uses_image else m(images, None)


def test_encoders_have_embed_dim_and_course_raw_variant():
    enc = RawAudioEncoder(embed_dim=32, first_kernel=7, first_stride=2)
    assert enc.head[-1].in_features == 7936  # the course's Linear(7936, 100) geometry
    assert enc(torch.randn(2, 1, 8000)).shape == (2, 32)
    assert ImageEncoder(embed_dim=16)(torch.rand(2, 1, 28, 28)).shape == (2, 16)
    assert ImageEncoder().net[-1].in_features == 3136


def test_raw_encoder_is_the_course_1d_network():
    kinds = [type(m).__name__ for m in RawAudioEncoder().features]
    assert kinds == ["Conv1d", "BatchNorm1d", "ReLU", "MaxPool1d", "Conv1d", "BatchNorm1d", "ReLU", "MaxPool1d"]
    with pytest.raises(ValueError, match="first_kernel"):
        RawAudioEncoder(first_kernel=9000)
    with pytest.raises(ValueError, match=r"\(B, 1, T\)"):
        RawAudioEncoder()(torch.zeros(2, 8000))


def test_image_cnn_is_the_course_network():
    kinds = [type(m).__name__ for m in image_cnn()]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d",
                     "Dropout", "Flatten", "Linear"]
    assert image_cnn()[-1].in_features == 64 * 7 * 7


def test_image_encoder_uses_its_batch_norms():
    enc = ImageEncoder().train()
    bns = [m for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 2
    enc(torch.rand(8, 1, 28, 28))
    assert all(int(bn.num_batches_tracked) == 1 for bn in bns)


# ----------------------------------------------------------------------------- training mechanics

@pytest.mark.parametrize("name,kwargs", [
    ("intermediate", {"modality_dropout": 0.3}), ("gated", {}), ("early", {}),
    ("late", {"combine": "probs", "per_class": True}), ("audio_raw", {}),
    ("intermediate_raw", {}), ("tensor", {}), ("low_rank", {"rank": 2}), ("relevance", {}),
    ("relevance_raw_terms", {}), ("cross_attention", {"heads": 2}),
])
def test_every_trainable_parameter_gets_a_gradient_and_moves(name, kwargs, batch):
    images, audio, labels = batch
    m = MODELS[name](**kwargs).train()
    params = {n: p.detach().clone() for n, p in m.named_parameters() if p.requires_grad}
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(m(images, audio), labels).backward()
    no_grad = [n for n, p in m.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    opt.step()
    unchanged = [n for n, p in m.named_parameters() if p.requires_grad and torch.equal(p, params[n])]
    assert not no_grad and not unchanged, (no_grad, unchanged)


def _unregistered(model):
    """Tensors outside the registered parameters and buffers (a plain attribute), and modules or
    tensors hidden in plain lists/tuples/dicts: the optimiser (or ``.to()``) would never see them."""
    found = []
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if attr.startswith("_"):
                continue  # _parameters, _modules, _buffers: the registered ones
            items = (value.values() if isinstance(value, dict)
                     else value if isinstance(value, (list, tuple)) else [value])
            if any(isinstance(v, (torch.nn.Module, torch.Tensor)) for v in items):
                found.append(f"{name}.{attr}")
    return found


def test_every_fusion_class_of_the_package_is_checked():
    import inspect
    import pkgutil

    import mmhelpers.models as models

    classes = set()
    for info in pkgutil.iter_modules(models.__path__):
        module = __import__(f"mmhelpers.models.{info.name}", fromlist=["_"])
        classes |= {c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, torch.nn.Module) and c.__module__ == module.__name__
                    and (hasattr(c, "fuse") or "Fusion" in c.__name__) and not c.__name__.startswith("_")}
    checked = {type(make()) for make in MODELS.values()} | {SearchedFusion}  # the latter: below
    assert classes and classes <= checked, classes - checked


def test_a_searched_fusion_registers_and_trains_every_parameter():
    space = SearchSpace(image_dims=(4, 6), audio_dims=(3,))
    net = SearchedFusion((FusionLayer(2, 1, "relu"), FusionLayer(1, 1, "sigmoid")), space, hidden=5)
    assert _unregistered(net) == []
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    torch.nn.functional.cross_entropy(net(torch.randn(8, 10), torch.randn(8, 3)), torch.arange(8)).backward()
    opt.step()
    assert all(not torch.equal(p, before[n]) for n, p in net.named_parameters())


@pytest.mark.parametrize("name", [n for n in MODELS if n != "intermediate_raw"])
def test_no_parameters_hide_in_plain_containers(name):
    assert _unregistered(MODELS[name]()) == []
    broken = MODELS["gated"]()
    broken.heads = [torch.nn.Linear(2, 2)]  # what the known defect looks like
    assert _unregistered(broken) == [".heads"]
    lmf = MODELS["low_rank"]()
    lmf.factors = [torch.nn.Parameter(torch.randn(2, 3))]  # MultiBench's LowRankTensorFusion
    lmf.scale = torch.ones(3, requires_grad=True)  # a bare tensor attribute
    assert _unregistered(lmf) == [".factors", ".scale"]


def test_late_fusion_frozen_members_train_only_the_weights(batch):
    images, audio, labels = batch
    img, aud = MODELS["image"](), MODELS["audio_mel"]()
    m = LateFusion(img, aud, freeze_members=True).train()
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    assert trainable == ["weight_logits"]
    assert not img.training and not aud.training  # members stay in eval mode
    before = m.modality_weights()
    opt = torch.optim.Adam([m.weight_logits], lr=0.1)
    torch.nn.functional.cross_entropy(m(images, audio), labels).backward()
    opt.step()
    assert not torch.equal(before, m.modality_weights())
    assert torch.allclose(m.modality_weights().sum(0), torch.tensor(1.0))


def test_late_fusion_fixed_weights_give_the_exact_average(batch):
    images, audio, _ = batch
    img, aud = MODELS["image"]().eval(), MODELS["audio_mel"]().eval()
    li, la = img(images, audio), aud(images, audio)
    m = LateFusion(img, aud, weighting="fixed").eval()
    assert torch.allclose(m(images, audio), (li + la) / 2, atol=1e-6)
    assert torch.equal(m.fuse(li, la), m(images, audio))
    assert list(m.parameters()) == list(img.parameters()) + list(aud.parameters())  # nothing new to train
    probs = LateFusion(img, aud, combine="probs", weighting="fixed", weights=(1, 3)).eval()
    expected = torch.log(0.25 * li.softmax(1) + 0.75 * la.softmax(1))
    assert torch.allclose(probs(images, audio), expected, atol=1e-5)
    assert torch.allclose(probs(images, audio).exp().sum(1), torch.ones(B), atol=1e-5)
    assert torch.allclose(probs.modality_weights(), torch.tensor([0.25, 0.75]))
    for bad in ({"combine": "max"}, {"weighting": "magic"}, {"weights": (1, 2, 3)}, {"weights": (-1, 2)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            LateFusion(img, aud, **bad)


def test_modality_dropout_zeroes_at_most_one_modality_and_is_off_in_eval(batch):
    keep = fusion.modality_dropout_mask(10_000, 0.5)
    assert (keep.sum(1) >= 1).all()  # never both
    assert abs((keep.sum(1) == 1).float().mean().item() - 0.5) < 0.03
    assert abs((keep[:, 0] == 0).float().mean().item() - 0.25) < 0.03  # each modality half of the drops
    assert (fusion.modality_dropout_mask(50, 1.0).sum(1) == 1).all()
    assert (fusion.modality_dropout_mask(50, 0.0) == 1).all()
    with pytest.raises(ValueError, match="modality_dropout"):
        fusion.modality_dropout_mask(4, 1.5)

    images, audio, _ = batch
    m = MODELS["intermediate"](modality_dropout=1.0).train()
    m(images, audio)
    assert (m.last_keep.sum(1) == 1).all()
    m.eval()
    m(images, audio)
    assert (m.last_keep == 1).all()
    # the mask really zeroes the embeddings that reach the head: exactly one per sample at p=1
    m.train()
    e_img, e_aud = m.drop_modality(*m.member_outputs(images, audio))
    zero = torch.stack([(e_img == 0).all(1), (e_aud == 0).all(1)], dim=1)
    assert torch.equal(zero, m.last_keep == 0)


def test_gated_fusion_weights_sum_to_one_and_are_exposed(batch):
    images, audio, _ = batch
    m = MODELS["gated"]().eval()
    m(images, audio)
    w = m.last_weights
    assert w.shape == (B, 2) and not w.requires_grad
    assert torch.allclose(w.sum(1), torch.ones(B)) and (w >= 0).all()
    assert torch.allclose(m.modality_weights(images, audio), w)


def test_constructors_reject_bad_parts():
    with pytest.raises(ValueError, match="modality"):
        UnimodalClassifier(ImageEncoder(), "video")
    with pytest.raises(TypeError, match="embed_dim"):
        UnimodalClassifier(torch.nn.Linear(3, 3), "image")
    assert fusion.IntermediateFusion(ImageEncoder(), LogMelEncoder(), hidden=12).embed_dim == 12
    with pytest.raises(ValueError, match="image_encoder"):
        fusion.GatedFusion(LogMelEncoder(), ImageEncoder())
    with pytest.raises(ValueError, match="dropout"):
        fusion.IntermediateFusion(ImageEncoder(), LogMelEncoder(), dropout=1.5)


def test_models_save_and_restore_their_normalisation(batch):
    images, audio, _ = batch
    m = MODELS["audio_mel"]()
    fit_normalisation(m, images, audio)
    fresh = MODELS["audio_mel"]()
    fresh.load_state_dict(m.state_dict())
    assert torch.equal(fresh.encoder.input.norm.std, m.encoder.input.norm.std)
    m.eval(), fresh.eval()
    assert torch.equal(m(images, audio), fresh(images, audio))


def test_random_shift_moves_digits_in_training_only():
    shift = inputs.RandomShift(2)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    shift.train()
    torch.manual_seed(0)
    y = shift(x)
    assert y.shape == x.shape
    assert torch.equal(y.sum((1, 2, 3)), x.sum((1, 2, 3)))          # a shift of <= 2 px loses nothing here
    centres = (y[:, 0].sum(1) * torch.arange(28)).sum(1) / y[:, 0].sum((1, 2))
    assert centres.min() >= 13.5 - 2 and centres.max() <= 13.5 + 2 and centres.unique().numel() > 1
    shift.eval()
    assert torch.equal(shift(x), x)
    with pytest.raises(ValueError, match="max_shift"):
        inputs.RandomShift(-1)


@pytest.mark.parametrize("name", ["intermediate", "gated"])
def test_a_fusion_of_frozen_encoders_trains_only_its_own_weights(name, batch):
    images, audio, labels = batch
    img, aud = MODELS["image"](), MODELS["audio_mel"]()
    cls = fusion.IntermediateFusion if name == "intermediate" else fusion.GatedFusion
    fused = cls(FrozenEncoder(img.encoder), FrozenEncoder(aud.encoder)).train()
    assert fused.freeze_members and fused.member_encoders() == (img.encoder, aud.encoder)
    assert not img.encoder.training and not aud.encoder.training       # frozen encoders stay in eval mode
    before = {k: v.clone() for k, v in img.state_dict().items()}
    opt = torch.optim.Adam([p for p in fused.parameters() if p.requires_grad], lr=1e-2)
    torch.nn.functional.cross_entropy(fused(images, audio), labels).backward()
    opt.step()
    assert all(torch.equal(v, img.state_dict()[k]) for k, v in before.items())   # the member is untouched
    assert not cls(img.encoder, aud.encoder).freeze_members                      # plain encoders train too


def test_late_fusion_from_encodings_gives_the_members_logits(batch):
    images, audio, _ = batch
    img, aud = MODELS["image"]().eval(), MODELS["audio_mel"]().eval()
    late = LateFusion(img, aud, freeze_members=True).eval()
    e_img, e_aud = (enc(x) for enc, x in zip(late.member_encoders(), (images, audio)))
    a, b = late.from_encodings(e_img, e_aud)
    assert torch.allclose(a, img(images, audio), atol=1e-6) and torch.allclose(b, aud(images, audio), atol=1e-6)
    with pytest.raises(TypeError, match="encoder"):
        LateFusion(torch.nn.Identity(), aud).member_encoders()
