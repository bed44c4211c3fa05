"""EvaluationContext.figure_path: the figure's suffix is the spec's report.format."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.evaluation import EvaluationContext
from geokeras.manifolds import make
from geokeras.report.params import ReportSpec


def context(tmp_path, **report) -> EvaluationContext:
    circle = make({"type": "circle"})
    return EvaluationContext(
        manifold=circle,
        encoder=None,
        decoder=None,
        autoencoder=None,
        x_train=np.zeros((4, 2)),
        seed=0,
        report=ReportSpec(**report),
        figures_dir=tmp_path / "figures",
    )


@pytest.mark.parametrize("figure_format", ["png", "svg", "pdf"])
def test_figure_paths_end_in_the_report_format(tmp_path, figure_format):
    path = context(tmp_path, format=figure_format).figure_path("reconstruction")
    assert path == tmp_path / "figures" / f"reconstruction.{figure_format}" and path.parent.is_dir()


def test_no_figure_path_without_figures_and_only_plain_names(tmp_path):
    assert context(tmp_path, figures=False).figure_path("reconstruction") is None
    with pytest.raises(ValueError, match="plain file name"):
        context(tmp_path).figure_path("../reconstruction")


def test_the_report_format_is_one_of_three():
    assert ReportSpec().format == "png"
    with pytest.raises(Exception, match="'png', 'svg' or 'pdf'"):
        ReportSpec(format="jpg")
