"""The multimodal VAE, the bimodal autoencoder, their losses and the translation measures, on tiny cases."""

import math

import numpy as np
import pytest
import torch

from mmhelpers.analysis import translation
from mmhelpers.data import PairedData
from mmhelpers.features.inputs import MelInput
from mmhelpers.features.logmel import griffin_lim
from mmhelpers.features.spoken_word import WORD_FRAMES, background, placed, spoken_word
from mmhelpers.models.generative import BimodalAutoencoder, MultimodalVAE, product_of_experts
from mmhelpers.training import generative as gen
from mmhelpers.training.checkpoints import train_or_load
from mmhelpers.training.recipes import Recipe


def test_product_of_experts_matches_the_closed_form_and_the_product_of_densities():
    mu, logvar = product_of_experts([torch.tensor([[1.0]]), torch.tensor([[3.0]])],
                                    [torch.tensor([[0.0]]), torch.tensor([[math.log(0.5)]])])
    # precisions 1 (prior) + 1 + 2 = 4; mean (0 + 1 * 1 + 3 * 2) / 4
    assert float(mu) == pytest.approx(1.75) and float(logvar.exp()) == pytest.approx(0.25)
    z = np.linspace(-6, 8, 20001)
    density = np.exp(-z ** 2 / 2) * np.exp(-(z - 1) ** 2 / 2) * np.exp(-(z - 3) ** 2 / (2 * 0.5))
    density /= density.sum()
    mean = (z * density).sum()
    assert mean == pytest.approx(1.75, abs=1e-4) and ((z - mean) ** 2 * density).sum() == pytest.approx(0.25, abs=1e-4)


class Fixed(torch.nn.Module):
    """A stand-in decoder: image logits 0 (every pixel 1/2) and a fixed spectrogram."""

    def __init__(self, mel):
        super().__init__()
        self.mel_out = mel

    def decode(self, z):
        return torch.zeros(len(z), 1, 28, 28), self.mel_out.expand(len(z), *self.mel_out.shape[1:])


def test_elbo_terms_on_a_tiny_case():
    assert float(gen.gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3))) == 0.0
    assert float(gen.gaussian_kl(torch.ones(1, 2), torch.zeros(1, 2))) == pytest.approx(1.0)  # 0.5 * (1 + 1)
    var = torch.tensor([[2.0]])
    assert float(gen.gaussian_kl(torch.zeros(1, 1), var.log())) == pytest.approx(0.5 * (2 - 1 - math.log(2)))
    images = (torch.rand(2, 1, 28, 28) > 0.5).float()
    mel = torch.zeros(1, 1, 4, 3)
    target = mel + torch.tensor([1.0, 2.0, 0.0]).view(1, 1, 1, 3)
    nll = gen.reconstruction(Fixed(mel), torch.zeros(2, 5), images, target.expand(2, -1, -1, -1))
    # 784 pixels at probability 1/2: 784 log 2; the spectrogram is off by 1 and 2 in 4 bands: 0.5 * 4 * (1 + 4)
    assert torch.allclose(nll, torch.full((2,), 784 * math.log(2) + 10.0))
    only_image = gen.reconstruction(Fixed(mel), torch.zeros(2, 5), images, target.expand(2, -1, -1, -1), ("image",))
    assert torch.allclose(only_image, torch.full((2,), 784 * math.log(2)))


def tiny_pairs(n=24, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(8000) / 8000
    labels = torch.arange(n) % 10
    audio = torch.from_numpy(np.stack([0.3 * np.sin(2 * np.pi * (200 + 60 * int(y)) * t) for y in labels]))
    images = torch.zeros(n, 1, 28, 28)
    for i, y in enumerate(labels):
        images[i, 0, 2 * int(y):2 * int(y) + 4, 4:24] = 1.0
    images += torch.from_numpy(rng.random((n, 1, 28, 28))).float() * 0.05
    return PairedData(images.clamp(0, 1), audio.float().unsqueeze(1), labels, name="tiny", fingerprint=f"tiny{seed}")


@pytest.mark.parametrize("name,make,loss", [("mvae", lambda: MultimodalVAE("poe"), gen.MVAELoss()),
                                             ("mmvae", lambda: MultimodalVAE("moe"), gen.MMVAELoss()),
                                             ("bimodal_ae", BimodalAutoencoder, gen.BimodalAELoss())])
def test_the_same_seed_gives_the_same_model_and_every_view_gives_a_latent(name, make, loss, one_thread_tmp_cache):
    data = tiny_pairs()
    recipe = Recipe(epochs=(2, 2), batch_size=8, lr=1e-3)
    a, history = train_or_load(name, make, data, recipe=recipe, loss=loss, retrain=True, progress=False)
    b, _ = train_or_load(name, make, data, recipe=recipe, loss=loss, retrain=True, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert np.isfinite(history.frame().train_loss).all()
    for given in ("image", "audio", "both"):
        z = translation.latents(a, data, given)
        assert z.shape == (len(data), a.latent) and np.isfinite(z).all()
    assert translation.translate(a, data, "audio").shape == (len(data), 1, 28, 28)
    assert translation.translate(a, data, "image").shape == (len(data), 1, 32, 63)


class Template(torch.nn.Module):
    """A hand-made translator: audio -> pixel probabilities 0.9 at position (0, digit) of the
    image, 0.1 elsewhere (the digit is in every audio sample)."""

    latent = 1

    def translate(self, source, x):
        digit = x[:, 0, 0].long()
        image = torch.full((len(x), 1, 28, 28), 0.1)
        image[torch.arange(len(x)), 0, 0, digit] = 0.9
        return image


class ReadsLitPixel(torch.nn.Module):
    """A stand-in image classifier: the position of the pixel that is exactly on (1) in the first
    row, as a real digit's strokes are, except that it reads 7 as 1."""

    def forward(self, images, audio):
        digit = (images[:, 0, 0, :10] == 1.0).float().argmax(1)
        digit = torch.where(digit == 7, torch.ones_like(digit), digit)
        return torch.nn.functional.one_hot(digit, 10).float()


def test_coherence_judges_the_most_likely_image_on_a_hand_made_case():
    labels = torch.arange(20) % 10
    audio = labels.float().view(-1, 1, 1).expand(-1, 1, 8000).clone()  # the digit in every sample
    data = PairedData(torch.zeros(20, 1, 28, 28), audio, labels, name="hand-made")
    right = translation.coherence(Template(), data, "audio", {"image": ReadsLitPixel()})
    assert right.mean() == pytest.approx(0.9)  # every digit but 7 comes out right
    assert not right[labels.numpy() == 7].any()


def hand_made_clip(start=10, width=10, frames=63):
    """A log-mel clip (1, 1, 4, frames): background -5 + band index, a word 3 above it."""
    floor = (-5.0 + torch.arange(4.0)).view(1, 1, 4, 1)
    clip = floor.expand(1, 1, 4, frames).clone()
    clip[..., start:start + width] += 3.0
    return clip, floor


def test_the_spoken_word_is_cut_out_wherever_it_was_spoken_and_put_back_in_the_middle():
    for start in (0, 10, 53):
        clip, floor = hand_made_clip(start)
        assert torch.equal(background(clip), floor)
        assert torch.equal(spoken_word(clip, 10), torch.full((1, 1, 4, 10), 3.0))
        wider = spoken_word(clip, 12)                     # the word and two frames of background
        assert float(wider.sum()) == 3.0 * 4 * 10 and float(wider.min()) == 0.0
    rebuilt = placed(spoken_word(clip, 10), background(clip), 63)
    assert torch.equal(rebuilt, hand_made_clip(start=(63 - 10) // 2)[0])


def test_the_spoken_word_names_what_is_wrong_with_its_input():
    clip, floor = hand_made_clip()
    with pytest.raises(ValueError, match="width must be in 1..63"):
        spoken_word(clip, 64)
    with pytest.raises(ValueError, match=r"log_mel must be \(B, 1, bands, frames\)"):
        spoken_word(clip[0], 10)
    with pytest.raises(ValueError, match="does not fit in 8 frames"):
        placed(spoken_word(clip, 10), floor, 8)


def test_a_model_draws_what_it_is_trained_on_and_turns_it_back_into_a_clip():
    model = MultimodalVAE("moe")
    audio = tiny_pairs(4).audio
    log_mel = MelInput().features(audio)
    target = model.audio_target(audio)
    assert target.shape == (4, 1, 32, WORD_FRAMES + 1)
    expected = placed(spoken_word(log_mel), background(log_mel), log_mel.shape[3])
    assert torch.allclose(model.clip(target), expected, atol=1e-5)


def test_griffin_lim_rebuilds_a_clip_whose_log_mel_is_close():
    front = MelInput()
    t = torch.arange(8000) / 8000
    tone = (0.3 * torch.sin(2 * torch.pi * 440 * t) * (t < 0.5)).view(1, 1, -1)
    mel = front.features(tone)
    voiced = mel > mel.max() - 8                          # the tone's own bins, not the log floor
    errors = {}
    for n_iter in (0, 30):                                # 0: the random phase alone
        rebuilt = griffin_lim(mel, front.logmel, 8000, n_iter=n_iter)
        assert rebuilt.shape == (1, 8000)
        errors[n_iter] = float((front.features(rebuilt.unsqueeze(1)) - mel)[voiced].abs().mean())
    # the iterations halve the error of the random phase (measured: 1.29 -> 0.67 log-mel units)
    assert errors[30] < 0.6 * errors[0] and errors[30] < 0.8, errors


def test_a_loss_that_hands_over_the_audio_target_gets_exactly_what_the_encoder_computes_itself():
    """The losses compute the audio target once (the encoder's input and what is drawn) and pass
    it on: the posteriors and the autoencoder's code are bitwise those computed from the clip."""
    torch.manual_seed(0)
    images, audio = torch.rand(4, 1, 28, 28), torch.randn(4, 1, 8000)
    for combine in ("poe", "moe"):
        vae = MultimodalVAE(combine).eval()
        target = vae.audio_target(audio)
        for own, handed in zip(vae.posterior("audio", audio), vae.posterior("audio", audio, target)):
            assert torch.equal(own, handed)
    ae = BimodalAutoencoder().eval()
    keep = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert torch.equal(ae.code(images, audio, keep), ae.code(images, audio, keep, ae.audio_target(audio)))


def test_the_spoken_word_computed_once_per_split_is_bitwise_what_a_batch_computes():
    """Training hands the generative models their spoken word precomputed (in chunks of 1024 clips,
    as :func:`~mmhelpers.features.precompute.with_features` does), not the clips: the same numbers
    as computing it from the clips of each batch, so the models train exactly as before."""
    from mmhelpers.features.precompute import for_model

    data = tiny_pairs(12)
    model = MultimodalVAE("poe").eval()
    (pre,) = for_model(model, data)
    assert pre.features and pre.audio.shape == (12, *model.audio_input.feature_shape) == (12, 1, 32, WORD_FRAMES + 1)
    log_mel = MelInput().features(data.audio)
    by_hand = torch.cat([spoken_word(log_mel) / 5.0, (background(log_mel) + 2.0) / 7.0], dim=3)
    for batch in (slice(0, 5), slice(5, 12)):
        assert torch.equal(model.audio_target(data.audio[batch]), pre.audio[batch])
        assert torch.equal(model.audio_target(pre.audio[batch]), pre.audio[batch])     # passed through
    assert torch.equal(pre.audio, by_hand)
    with torch.no_grad():
        assert torch.equal(model(data.images[:5], data.audio[:5]), model(data.images[:5], pre.audio[:5]))
    with pytest.raises(ValueError, match="precomputed features must be"):
        model.audio_target(log_mel)                 # a log-mel spectrogram is not what the model reads


class OneDimensional(torch.nn.Module):
    """A stand-in model with a 1-D latent: fixed Gaussian experts and a decoder that ignores z
    (so the log-likelihood is a constant and every bound's gap is the latent terms alone)."""

    def __init__(self, experts):
        super().__init__()
        self.experts = experts
        self.mel = torch.zeros(1, 1, 2, 2)

    def audio_target(self, audio):
        return audio

    def posterior(self, modality, x, target=None):
        mu, var = self.experts[0 if modality == "image" else 1]
        return torch.full((len(x), 1), mu), torch.full((len(x), 1), math.log(var))

    def decode(self, z):
        return torch.zeros(len(z), 1, 28, 28), self.mel.expand(len(z), -1, -1, -1)


def _pairs(n):
    return torch.zeros(n, 1, 28, 28), torch.zeros(n, 1, 2, 2)


def test_the_mixture_bound_with_one_expert_is_the_elbo():
    torch.manual_seed(0)
    model = OneDimensional([(1.0, 0.5), (0.0, 1.0)])
    images, audio = _pairs(200_000)
    expert = [model.posterior("image", images)]
    bound = gen.stratified_bound(model, expert, images, audio).mean()
    constant = -gen.reconstruction(model, torch.zeros(1, 1), images[:1], audio[:1])
    kl = gen.gaussian_kl(*[t[:1] for t in expert[0]])
    assert float(bound) == pytest.approx(float(constant - kl), abs=0.01)   # MC, 200k draws
    few = [(mu[:20_000], logvar[:20_000]) for mu, logvar in expert]
    more = gen.stratified_bound(model, few, images[:20_000], audio[:20_000], particles=8)
    assert float(more.mean()) >= float(bound) - 0.01   # IWAE: K draws never loosen it


def test_the_naive_bound_is_lower_by_the_mean_kl_of_the_experts_to_their_mixture():
    from scipy import integrate, stats

    torch.manual_seed(0)
    experts = [(1.5, 0.3), (-1.0, 0.8)]
    model = OneDimensional(experts)
    images, audio = _pairs(200_000)
    both = [model.posterior(m, images) for m in ("image", "audio")]
    gap = (gen.stratified_bound(model, both, images, audio).mean()
           - gen.naive_moe_bound(model, images, audio).mean())
    q = [stats.norm(mu, math.sqrt(var)) for mu, var in experts]

    def kl_to_mixture(m):
        def f(z):
            return q[m].pdf(z) * (q[m].logpdf(z) - np.log(np.mean([p.pdf(z) for p in q])))
        return integrate.quad(f, -12, 12)[0]

    expected = np.mean([kl_to_mixture(m) for m in range(2)])
    assert expected > 0.3 and float(gap) == pytest.approx(expected, abs=0.01)


def test_dreg_weighs_each_draw_by_its_squared_normalised_weight_through_z():
    torch.manual_seed(0)
    mu = torch.zeros(4, 3, 2, requires_grad=True)        # (K, B, latent)
    z = mu + torch.randn(4, 3, 2)
    a = torch.randn(2)
    log_w = (z * a).sum(-1) - z.pow(2).sum(-1)           # a stand-in log-weight of z
    gen.dreg(log_w, z).sum().backward()
    w = torch.softmax(log_w.detach(), 0)
    d_log_w_dz = a - 2 * z.detach()
    assert torch.allclose(mu.grad, w.pow(2).unsqueeze(-1) * d_log_w_dz, atol=1e-6)
    value = gen.dreg(log_w.detach(), z.detach())
    assert torch.allclose(value, torch.logsumexp(log_w.detach(), 0) - math.log(4))


def test_the_autoencoder_zeroes_a_missing_modality_at_its_input():
    torch.manual_seed(0)
    model = BimodalAutoencoder()
    images, audio = torch.rand(3, 1, 28, 28), 0.1 * torch.randn(3, 1, 8000)
    target = model.audio_target(audio)
    no_audio = model.code(images, audio, torch.tensor([[1.0, 0.0]] * 3), target)
    assert torch.allclose(model.unimodal("image", images)[0], no_audio, atol=1e-6)
    assert torch.allclose(no_audio, model.code(images, 0 * audio, None, 0 * target), atol=1e-6)
    no_image = model.code(images, audio, torch.tensor([[0.0, 1.0]] * 3), target)
    assert torch.allclose(model.unimodal("audio", audio)[0], no_image, atol=1e-6)


def test_retrieval_takes_the_most_cosine_similar_gallery_row_whatever_its_length():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [10.0, 10.0]])
    query = np.array([[5.0, 0.1], [0.0, -3.0], [1.0, 1.2], [-0.2, 4.0]])
    # cosine, not distance: [10, 10] is far from [1, 1.2] but points the same way
    assert translation.retrieved(query, gallery).tolist() == [0, 0, 3, 1]
    # chunks give the same answer
    assert translation.retrieved(query, gallery, chunk=1).tolist() == [0, 0, 3, 1]


def test_prior_draws_decode_standard_normal_codes_as_the_most_likely_image():
    torch.manual_seed(0)
    model = MultimodalVAE("moe", latent=3, hidden=8)
    images, clips = translation.prior_draws(model, 5, seed=1)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    logits, audio = model.decode(z)
    assert torch.equal(images, (torch.sigmoid(logits) > 0.5).float())
    assert torch.equal(clips, model.clip(audio))
    assert set(images.unique().tolist()) <= {0.0, 1.0}
