"""The notebooks' interactive controls: the figures behind them (:mod:`mmhelpers.plots.controls`), on
tiny synthetic inputs, and the notebooks' pattern: a plain static twin, then its ``lab-only`` control."""

import ast
import base64
import io
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
import torch

from mmhelpers.data.paired import PairedData
from mmhelpers.plots import controls, style

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("00_data", "1f_late_fusion", "2d_temperature", "3a_robustness", "4c_translation")
SCENARIOS = ("image_noisy", "audio_noisy", "both_mild")


@pytest.fixture
def pairs():
    gen = torch.Generator().manual_seed(0)
    n = 12
    return PairedData(torch.rand(n, 1, 28, 28, generator=gen), 0.1 * torch.randn(n, 1, 8000, generator=gen),
                      torch.arange(n) % 4, meta={"scenario": np.array(SCENARIOS * 4),
                                                 "image_noise": np.linspace(0, 1, n),
                                                 "audio_noise": np.linspace(0.5, 0, n)})


def _png(fig) -> bytes:
    """The figure as :func:`controls.show` renders it; checks that its text prints legibly."""
    width, height = fig.get_size_inches()
    assert width <= style.PRINT_WIDTH + 1e-6   # printed at full size: the fonts are what they say
    assert style.smallest_print_font(fig, width, height) >= style.MIN_PRINT_PT
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    plt.close(fig)
    return buffer.getvalue()


def test_pick_walks_a_scenario_from_its_least_to_its_noisiest_pair(pairs):
    noise = np.maximum(pairs.meta["image_noise"], pairs.meta["audio_noise"])
    audio_noisy = controls.members(pairs, "audio_noisy")
    assert list(audio_noisy) == [1, 4, 7, 10]
    low, high = controls.pick(pairs, "audio_noisy", 0), controls.pick(pairs, "audio_noisy", 100)
    assert noise[low] == noise[audio_noisy].min() and noise[high] == noise[audio_noisy].max()
    assert int(pairs.labels[controls.pick(pairs, "audio_noisy", 50, digit=3)]) == 3
    assert controls.pick(pairs, "audio_noisy", 50, digit=9) in audio_noisy   # no such digit: any of them
    with pytest.raises(ValueError, match="no pair"):
        controls.pick(pairs, "unknown", 0)


def test_pick_and_captions_without_recorded_noise(pairs):
    bare = PairedData(pairs.images, pairs.audio, pairs.labels)   # as the course's files: no meta
    assert list(controls.members(bare, "unknown")) == list(range(len(bare)))
    assert controls.pick(bare, "unknown", 100) == len(bare) - 1
    assert controls.pair_caption(bare, 3) == "pair 3, label 3"
    assert "image_noisy (noise: image" in controls.pair_caption(pairs, 0)


def test_pair_view_differs_between_pairs(pairs):
    assert _png(controls.pair_view(pairs, 0)) != _png(controls.pair_view(pairs, 1))


def test_class_probs_differs_with_the_probabilities():
    rng = np.random.default_rng(0)
    names = ["image", "audio", "late fusion"]
    first = {k: rng.dirichlet(np.ones(10)) for k in names}
    second = {k: rng.dirichlet(np.ones(10)) for k in names}
    image = np.zeros((28, 28))
    fig = controls.class_probs(first, 3, image, "pair 0")
    assert fig.axes[1].texts[0].get_text() == f"image\nsays {int(first['image'].argmax())}"
    assert _png(fig) != _png(controls.class_probs(second, 3, image, "pair 0"))
    assert _png(controls.class_probs(first, -1)) != _png(controls.class_probs(first, 3))  # label unknown


def test_negative_weights_follow_tau():
    from mmhelpers import losses
    s_pos, s_neg = torch.tensor(0.8), torch.tensor([0.9, 0.5, 0.0, -0.3])

    def figure(tau):
        weights = {"NT-Xent": losses.nt_xent_weights(s_pos, s_neg, tau)[1],
                   "NT-Logistic": losses.nt_logistic_weights(s_pos, s_neg, tau)[1]}
        return controls.negative_weights(s_neg, weights, tau, s_pos)

    cold, hot = figure(0.01), figure(100)
    assert "hardest negative: 100%" in cold.axes[0].get_title()   # small tau: all weight to the hardest
    assert "hardest negative: 25%" in hot.axes[0].get_title()     # large tau: uniform over the four
    assert _png(cold) != _png(hot)


def test_sweep_bars_reads_the_nearest_computed_severity():
    sweep = pd.DataFrame([{"model": m, "corrupted": c, "severity": s, "accuracy": 90 - 60 * s * (i + 1) / 3}
                          for i, m in enumerate(["image", "audio", "late"]) for c in ("image", "audio")
                          for s in (0.0, 0.5, 1.0)])
    fig = controls.sweep_bars(sweep, "image", 0.4)
    assert "severity 0.5" in fig.axes[0].get_title()
    bars = [p.get_width() for p in fig.axes[0].patches]
    assert bars == pytest.approx([80, 70, 60])
    assert _png(fig) != _png(controls.sweep_bars(sweep, "audio", 1.0))


def test_translation_row_draws_images_and_spectrograms():
    gen = torch.Generator().manual_seed(0)
    spec, image = torch.randn(1, 1, 32, 63, generator=gen), torch.rand(1, 1, 28, 28, generator=gen)
    to_image = controls.translation_row(spec, {"a": image, "b": 1 - image}, "audio", "pair 0")
    assert [ax.get_title() for ax in to_image.axes] == ["source spoken digit", "a", "b"]
    to_audio = controls.translation_row(image, {"a": spec, "b": -spec}, "image")
    assert _png(to_image) != _png(to_audio)


def test_show_displays_one_png_and_closes_the_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(controls, "display", lambda data, raw, metadata: shown.append((data, metadata)))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    controls.show(fig)
    assert not plt.fignum_exists(fig.number)
    (data, metadata), = shown
    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n" and "application/pdf" not in data
    assert metadata["image/png"]["width"] == round(3 * plt.rcParams["figure.dpi"])  # shown at screen size


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with controls.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# ----------------------------------------------------------------------------- the notebooks


def _tags(cell) -> list:
    return cell.metadata.get("tags", [])


def _called(source: str) -> set:
    return {n.func.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _controls(nb):
    """``(index, cell, interact call)`` of each lab-only cell that calls interact/interactive."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "lab-only" in _tags(cell):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                        "interact", "interactive"):
                    yield i, cell, node


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_control_follows_its_static_twin(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    found = list(_controls(nb))
    assert found, f"{name}: no lab-only cell calls interact/interactive"
    for i, cell, call in found:
        draw = call.args[0].id
        twin = nb.cells[i - 1]
        assert twin.cell_type == "code" and not _tags(twin), f"{name}: the cell before {cell.id} is no plain code cell"
        assert draw in _called(twin.source), f"{name}: the cell before {cell.id} does not call {draw}"
        assert nb.cells[i - 2].cell_type == "markdown", f"{name}: no Markdown before the twin of {cell.id}"
        lines = cell.source.splitlines()
        assert len(lines) < 20 and max(map(len, lines)) < 86, f"{name}: control cell {cell.id} too long"
        widgets = [kw.value for kw in call.keywords if isinstance(kw.value, ast.Call)]
        assert widgets and all(any(k.arg == "description" for k in w.keywords) for w in widgets), (
            f"{name}: every widget of {cell.id} needs a description")
        for c in (twin, cell):   # stored as the repository stores notebooks: no outputs
            assert c.outputs == [] and c.execution_count is None and c.get("id")
