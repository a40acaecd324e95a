"""What a lesson shows: listings of the code that runs, and claims that fail when they stop holding."""

import numpy as np
import pytest
import torch

from mmhelpers.data import PairedData
from mmhelpers.lesson import check, noise_recorded, show_source, source
from mmhelpers.models.encoders import ImageEncoder, image_cnn


def test_show_source_lists_the_running_code_highlighted_for_lab_and_pdf():
    listing = show_source(image_cnn, ImageEncoder.forward)
    text = source(image_cnn, ImageEncoder.forward)
    assert text.startswith("def image_cnn(") and "\n\ndef forward(self, images" in text   # dedented method
    assert "nn.Conv2d(in_channels, 32" in text
    assert "class=\"highlight" in listing._repr_html_() or "<span" in listing._repr_html_()
    assert listing._repr_latex_().startswith("\\begin{Verbatim}")     # the PDF export reads this
    with pytest.raises(TypeError, match="no source"):
        source(len)
    with pytest.raises(ValueError, match="at least one"):
        source()


def test_check_prints_a_true_claim_and_stops_on_a_false_one(capsys):
    check("two is more than one", 2 > 1)
    assert capsys.readouterr().out == "✓ two is more than one\n"
    with pytest.raises(AssertionError, match="no longer true: one is more than two"):
        check("one is more than two", np.bool_(1 > 2))


def test_noise_recorded_says_what_the_course_files_lack(capsys):
    n = 4
    course = PairedData(torch.zeros(n, 1, 28, 28), torch.zeros(n, 1, 8000), torch.zeros(n, dtype=torch.long))
    assert not noise_recorded(course, "the severities")
    assert capsys.readouterr().out == "The course's files do not record the severities: skipped here.\n"
    course.meta.update(image_noise=np.zeros(n), audio_noise=np.zeros(n))
    assert noise_recorded(course) and capsys.readouterr().out == ""


def test_a_full_mode_claim_is_only_reported_in_quick_mode(capsys, monkeypatch):
    monkeypatch.setenv("MM_QUICK", "1")
    check("the model learned", False, full_mode_only=True)
    assert capsys.readouterr().out == "✗ the model learned (quick mode: not asserted)\n"
    monkeypatch.setenv("MM_QUICK", "0")
    with pytest.raises(AssertionError, match="the model learned"):
        check("the model learned", False, full_mode_only=True)
