"""The spoken word inside a one-second clip: what a generative model of the audio should draw.

A clip of the series holds one spoken digit of about a third of a second, at a random place, over a
background that runs from silence to loud noise. Its log-mel spectrogram is therefore mostly
background, and a model that draws the whole spectrogram spends its capacity on the background's
level and on the word's position, neither of which says which digit was spoken. Notebook 4c lets its
generative models draw the clip in two parts instead:

* :func:`background` - the floor of each mel band: its median over the clip's frames (the word
  covers fewer than half of them, so the median is background);
* :func:`spoken_word` - the loudest ``width`` frames above that floor, the word, cut out wherever it
  was spoken;

and :func:`placed` puts them back together: the floor everywhere, the word in the middle of the clip.
A clip rebuilt this way keeps what the series' audio classifier reads (4c measures it).
"""

from __future__ import annotations

import torch

#: frames kept around the word: 32 frames of 16 ms, about half a second
WORD_FRAMES = 32


def _check(log_mel: torch.Tensor, who: str) -> None:
    if log_mel.dim() != 4 or log_mel.shape[1] != 1:
        raise ValueError(f"{who}: log_mel must be (B, 1, bands, frames), got {tuple(log_mel.shape)}")


def background(log_mel: torch.Tensor) -> torch.Tensor:
    """The floor of every mel band, the median over frames: (B, 1, bands, 1)."""
    _check(log_mel, "background")
    return log_mel.median(dim=3, keepdim=True).values


def spoken_word(log_mel: torch.Tensor, width: int = WORD_FRAMES) -> torch.Tensor:
    """The ``width`` consecutive frames with the most energy above the background,
    as the log-mel excess over it (>= 0): (B, 1, bands, width)."""
    _check(log_mel, "spoken_word")
    frames = log_mel.shape[3]
    if not 0 < width <= frames:
        raise ValueError(f"spoken_word: width must be in 1..{frames} (the clip's "
                         f"frames), got {width}")
    above = (log_mel - background(log_mel)).clamp(min=0.0)
    per_frame = above.sum(dim=2).squeeze(1)            # (B, frames)
    energy = per_frame.unfold(1, width, 1).sum(2)      # (B, frames - width + 1)
    start = energy.argmax(dim=1)
    index = start[:, None] + torch.arange(width, device=log_mel.device)
    index = index[:, None, None, :].expand(-1, 1, above.shape[2], -1)
    return above.gather(3, index)


def placed(word: torch.Tensor, floor: torch.Tensor, frames: int) -> torch.Tensor:
    """A clip's log-mel spectrogram (B, 1, bands, frames): ``floor`` (B, 1, bands, 1) everywhere
    and ``word`` (B, 1, bands, width) added in the middle."""
    _check(word, "placed")
    width = word.shape[3]
    if width > frames:
        raise ValueError(f"placed: a word of {width} frames does not fit in {frames} frames")
    clip = floor.expand(-1, -1, -1, frames).clone()
    start = (frames - width) // 2
    clip[..., start:start + width] += word
    return clip
