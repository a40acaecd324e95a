"""Implicit alignment by cross-modal attention (notebook 4d): the audio's time steps attend over
the image's spatial positions.

* :class:`CrossModalAttention` - scaled dot-product attention in textbook form, with learned
  projections ``Q = X_q W_q``, ``K = X_kv W_k``, ``V = X_kv W_v`` and
  ``softmax(Q K^T / sqrt(d)) V`` (one head, or several side by side); it returns the attended
  values *and* the weights.
* :class:`ImagePositions`, :class:`AudioFrames` - the series' encoders cut before they pool:
  the image CNN's 7x7x64 feature map as 49 positions of 64 features, and the log-mel CNN's
  (64 channels x 4 bands x 8 frames) map as 8 frames of 256 features.
* :class:`CrossAttentionFusion` - on those two: the frames (projected) are the queries, the
  positions (plus a learned position embedding) the keys and values, in several heads; the
  frames and what they attended to are pooled over time, concatenated and classified.

Like the other fusion heads of the series it fuses trained encoders kept frozen
(``CrossAttentionFusion(FrozenEncoder(ImagePositions(img.encoder)), FrozenEncoder(AudioFrames(
aud.encoder)))``), so the two maps are computed once per split
(:func:`mmhelpers.training.frozen_members.train_on_frozen_members`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .encoders import ImageEncoder, LogMelEncoder, channels_last
from .fusion import _check_p, _TwoEncoders


class CrossModalAttention(nn.Module):
    """Scaled dot-product attention of ``queries`` (B, T, query_dim) over
    ``keys_values`` (B, P, key_dim), as the textbook writes it: ``Q = queries W_q``,
    ``K = keys_values W_k``, ``V = keys_values W_v`` (no biases), then
    ``softmax(Q K^T / sqrt(d)) V``.

    ``heads`` > 1: multi-head attention (Vaswani et al., 2017): ``Q``, ``K`` and ``V``
    are cut into ``heads`` slices of ``d = dim // heads`` features, each slice attends
    on its own and the heads' outputs are concatenated. The paper's output projection
    ``W_o`` is left out: a linear map that the layers after it (a mean, a Linear) would
    absorb. ``mask`` (P,) or (B, P), boolean, True where a position must *not* be
    attended (as ``key_padding_mask`` in ``torch.nn.MultiheadAttention``): its score is
    -inf before the softmax, so its weight is 0 and its key and value change nothing.
    Returns ``(attended (B, T, dim), weights (B, heads, T, P))``; the weights of every
    head and query sum to 1 over the positions.
    """

    def __init__(self, query_dim: int, key_dim: int, dim: int = 64, heads: int = 1):
        super().__init__()
        if heads < 1 or dim % heads:
            raise ValueError(f"CrossModalAttention: heads ({heads}) must divide "
                             f"dim ({dim})")
        self.dim, self.n_heads = dim, heads
        self.w_q = nn.Linear(query_dim, dim, bias=False)
        self.w_k = nn.Linear(key_dim, dim, bias=False)
        self.w_v = nn.Linear(key_dim, dim, bias=False)

    def forward(self, queries, keys_values, mask=None):
        (b, t, _), p, h = queries.shape, keys_values.shape[1], self.n_heads
        q = self.w_q(queries).view(b, t, h, -1).transpose(1, 2)      # (B, h, T, d)
        k = self.w_k(keys_values).view(b, p, h, -1).transpose(1, 2)  # (B, h, P, d)
        v = self.w_v(keys_values).view(b, p, h, -1).transpose(1, 2)  # (B, h, P, d)
        scores = q @ k.transpose(2, 3) / math.sqrt(q.shape[-1])      # (B, h, T, P)
        if mask is not None:                                         # True: left out
            scores = scores.masked_fill(mask.view(-1, 1, 1, p), -math.inf)
        weights = torch.softmax(scores, dim=-1)                      # sums to 1 over P
        attended = weights @ v                                       # (B, h, T, d)
        return attended.transpose(1, 2).reshape(b, t, self.dim), weights


class ImagePositions(nn.Module):
    """(B, 1, 28, 28) images -> (B, 49, 64): an :class:`ImageEncoder` up to its second pooling,
    the 7x7 map of 64 channels read as 49 positions (row by row) of 64 features. It shares the
    encoder's layers (and their trained weights)."""

    modality = "image"

    def __init__(self, encoder: ImageEncoder):
        super().__init__()
        self.input, self.trunk = encoder.input, encoder.net[:8]  # up to MaxPool: 64 x 7 x 7
        self.embed_dim = self.trunk[4].out_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps = self.trunk(channels_last(self.input(images)))  # (B, 64, 7, 7)
        return maps.flatten(2).transpose(1, 2)               # (B, 49, 64)

    def fit_normalisation(self, images: torch.Tensor) -> "ImagePositions":
        self.input.fit_normalisation(images)
        return self


class AudioFrames(nn.Module):
    """(B, 1, 8000) waveforms -> (B, 8, 256): a :class:`LogMelEncoder` before its max over time,
    the (64 channels, 4 bands, 8 frames) map read as 8 frames of 64 x 4 features, each about
    an eighth of the second. It shares the encoder's layers (and their trained weights)."""

    modality = "audio"

    def __init__(self, encoder: LogMelEncoder):
        super().__init__()
        self.input, self.trunk = encoder.input, encoder.net[:12]  # the four convolutions
        rows = encoder.net[12].output_size[0]
        self.embed_dim = self.trunk[9].out_channels * rows

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        maps = self.trunk(channels_last(self.input(audio)))   # (B, 64, 4, 8)
        return maps.permute(0, 3, 1, 2).flatten(2)            # (B, 8, 256)

    def fit_normalisation(self, audio: torch.Tensor) -> "AudioFrames":
        self.input.fit_normalisation(audio)
        return self


class CrossAttentionFusion(_TwoEncoders):
    """The audio frames attend over the image positions; pool, concatenate, classify.

    The frames, ``Linear(256 -> dim)``, are the queries; the positions plus a learned
    position embedding (so that attention can tell the 49 places apart) give the keys
    and values, in ``heads`` heads (:class:`CrossModalAttention`). The frames are
    max-pooled over time (as the log-mel encoder pools them: a word wherever it sits in
    the clip), the attended image features averaged over the frames;
    ``[pooled frames; attended image]`` -> Linear(hidden)-ReLU -> Dropout -> Linear.
    ``embed`` returns the hidden layer; :meth:`attend` the weights (B, heads, frames,
    positions).
    """

    def __init__(self, image_positions: nn.Module, audio_frames: nn.Module,
                 dim: int = 64, heads: int = 4, hidden: int = 128,
                 dropout: float = 0.3, n_positions: int = 49, n_classes: int = 10):
        super().__init__(image_positions, audio_frames, modality_dropout=0.0)
        d_img, d_aud = image_positions.embed_dim, audio_frames.embed_dim
        self.embed_dim = hidden
        self.position = nn.Parameter(0.02 * torch.randn(n_positions, d_img))
        self.frames = nn.Linear(d_aud, dim)
        self.attention = CrossModalAttention(dim, d_img, dim, heads)
        self.hidden = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(_check_p(dropout, "dropout"))
        self.classifier = nn.Linear(hidden, n_classes)

    def attend(self, positions, frames, mask=None):
        """``(queries, attended, weights)``: the projected frames (B, T, dim), what they
        attended to (B, T, dim) and the weights (B, heads, T, P)."""
        queries = self.frames(frames)
        attended, weights = self.attention(queries, positions + self.position, mask)
        return queries, attended, weights

    def _hidden(self, positions, frames) -> torch.Tensor:
        queries, attended, _ = self.attend(positions, frames)
        pooled = torch.cat([queries.amax(1), attended.mean(1)], dim=1)
        return self.hidden(pooled)

    def fuse(self, positions: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Logits from the image positions (B, P, 64) and audio frames (B, T, 256)."""
        return self.classifier(self.dropout(self._hidden(positions, frames)))

    def embed(self, images, audio) -> torch.Tensor:
        return self._hidden(*self.member_outputs(images, audio))
