"""The model of contrastive audio-image alignment (notebook 3d): two encoders, each with a
projection head, trained so that an image and its own audio land close together."""

from __future__ import annotations

import torch
from torch import nn

from .encoders import ImageEncoder, LogMelEncoder

EMBED_DIM, PROJ_DIM = 64, 32


class AlignmentModel(nn.Module):
    """Two encoders, each followed by a projection head Linear-BatchNorm-ReLU-Linear (SimCLR's g).

    ``forward(images, audio)`` returns the projections ``(z_img, z_aud)`` the loss compares;
    ``represent`` returns the encoder outputs ``h`` (what a linear probe reads, as in SimCLR).
    The batch norm matters: without it, a few short runs collapsed to one constant projection
    (the loss stuck at ``log(2N - 1)``, every similarity equal).
    """

    def __init__(self, embed_dim: int = EMBED_DIM, proj_dim: int = PROJ_DIM):
        super().__init__()
        self.image_encoder = ImageEncoder(embed_dim)
        self.audio_encoder = LogMelEncoder(embed_dim)
        head = lambda: nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.BatchNorm1d(embed_dim),  # noqa: E731
                                     nn.ReLU(), nn.Linear(embed_dim, proj_dim))
        self.image_head, self.audio_head = head(), head()

    def represent(self, images, audio) -> tuple[torch.Tensor, torch.Tensor]:
        return self.image_encoder(images), self.audio_encoder(audio)

    def forward(self, images, audio) -> tuple[torch.Tensor, torch.Tensor]:
        h_img, h_aud = self.represent(images, audio)
        return self.image_head(h_img), self.audio_head(h_aud)
