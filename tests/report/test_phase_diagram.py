"""The phase diagram of a sweep: categorical and numeric metrics, seeds aggregated, titles inside, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.report.phase_diagram import (
    CellSummary,
    phase_axes,
    phase_diagram_figure,
    plot_phase_diagram,
    summarise_cell,
)

CELLS = [("1", "a", "encoded"), ("2", "a", "not_encoded"), ("1", "b", "provably_not_encodable"), ("2", "b", "failed")]


@pytest.mark.parametrize(
    "cells",
    [CELLS, [("1", "a", 0.5), ("2", "a", 1.5), ("1", "b", "failed"), ("2", "b", None)], [("1", "a", True)]],
)
def test_phase_diagram_writes_a_png(tmp_path, cells):
    path = plot_phase_diagram(cells, ["x", "y"], "metric", tmp_path / "phase.png")
    assert path == tmp_path / "phase.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_phase_diagram_in_vector_formats(tmp_path, suffix, magic):
    path = plot_phase_diagram(CELLS, ["x", "y"], "metric", tmp_path / f"phase.{suffix}")
    assert path.read_bytes().startswith(magic)


def test_phase_diagram_rejects_bad_keys_and_cells(tmp_path):
    with pytest.raises(ValueError, match=r"one or two swept keys. Received: keys=\['x', 'y', 'z'\]"):
        plot_phase_diagram(CELLS, ["x", "y", "z"], "metric", tmp_path / "phase.png")
    with pytest.raises(ValueError, match=r"each grid point as \(x, metric value\). Received: \('1', 'a', 'encoded'\)"):
        plot_phase_diagram(CELLS, ["x"], "metric", tmp_path / "phase.png")
    with pytest.raises(ValueError, match="at least one grid point"):
        plot_phase_diagram([], ["x", "y"], "metric", tmp_path / "phase.png")


def test_verdicts_keep_their_colours_and_others_get_distinct_ones():
    from geokeras.report.figures import OKABE_ITO
    from geokeras.report.phase_diagram import VERDICT_COLOURS, class_palette

    alone = class_palette(["not_encoded"])
    both = class_palette(["provably_not_encodable", "not_encoded", "encoded"])
    assert alone["not_encoded"] == both["not_encoded"] == VERDICT_COLOURS["not_encoded"]
    assert len(set(both.values())) == 3
    other = class_palette(["True", "False", "failed", "encoded"])
    assert other["failed"] == "#BBBBBB" and other["encoded"] == VERDICT_COLOURS["encoded"]
    assert other["True"] != other["False"] and {other["True"], other["False"]} <= set(OKABE_ITO)
    assert not {other["True"], other["False"]} & set(VERDICT_COLOURS.values())


# ----------------------------------------------------------------------------- seeds aggregated
def test_phase_axes_leave_the_seed_out():
    assert phase_axes(["turns", "width"]) == ["turns", "width"]
    assert phase_axes(["turns", "seed"]) == ["turns"]
    assert phase_axes(["seed", "turns", "width"]) == ["turns", "width"]
    assert phase_axes(["turns"]) is None and phase_axes(["seed"]) is None
    assert phase_axes(["a", "b", "c"]) is None and phase_axes(["a", "b", "c", "seed"]) is None


def test_categorical_cells_show_the_majority_and_its_share():
    assert summarise_cell(["encoded", "not_encoded", "encoded"], numeric=False) == CellSummary(
        "encoded", "encoded\n2/3", 2 / 3
    )
    assert summarise_cell(["encoded"] * 3, numeric=False) == CellSummary("encoded", "encoded", 1.0)
    # A tie goes to the class met first; the share shows it is a tie.
    assert summarise_cell(["not_encoded", "encoded"], numeric=False).text == "not_encoded\n1/2"
    # Labels longer than 11 characters are broken at their underscores to fit the cell.
    assert summarise_cell(["provably_not_encodable"] * 2, numeric=False).text == "provably\nnot\nencodable"
    assert summarise_cell(["failed", "failed", True], numeric=False) == CellSummary("failed", "failed\n2/3", 2 / 3)


def test_numeric_cells_show_the_mean_and_the_sample_standard_deviation():
    assert summarise_cell([1.0, 2.0, 3.0], numeric=True) == CellSummary(2.0, "2\n±1")
    # sqrt(((1 - 1.5)^2 + (2 - 1.5)^2) / 1) = 0.707...; one of three repeats failed.
    assert summarise_cell([1.0, "failed", 2.0], numeric=True) == CellSummary(1.5, "1.5\n±0.71\n2/3")
    assert summarise_cell([0.25], numeric=True) == CellSummary(0.25, "0.25")
    assert summarise_cell(["failed", None], numeric=True) == CellSummary(None, "failed")
    assert summarise_cell([None], numeric=True) == CellSummary(None, "-")


def cell_texts(figure) -> dict[tuple[float, float], str]:
    (axes,) = [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]
    return {tuple(text.get_position()): text.get_text() for text in axes.texts}


def title_of(figure):
    (title,) = figure.texts  # the suptitle
    return title


def test_a_hand_built_grid_of_verdicts_is_aggregated_over_seeds():
    # turns x width x seed, verdicts per seed; each cell of the diagram is the majority over 3 seeds.
    verdicts = {
        ("1", "8"): ["encoded", "encoded", "encoded"],
        ("2", "8"): ["encoded", "not_encoded", "encoded"],
        ("1", "16"): ["not_encoded", "not_encoded", "encoded"],
        ("2", "16"): ["failed", "not_encoded", "not_encoded"],
    }
    cells = [(turns, width, verdict) for (turns, width), values in verdicts.items() for verdict in values]
    figure = phase_diagram_figure(cells, ["turns", "width"], "learnability.verdict")
    assert cell_texts(figure) == {
        (0, 0): "encoded",
        (1, 0): "encoded\n2/3",
        (0, 1): "not_encoded\n2/3",
        (1, 1): "not_encoded\n2/3",
    }
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_xticklabels()] == ["1", "2"]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["8", "16"]
    assert "majority of 3 seeds" in title_of(figure).get_text().replace("\n", " ")
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["encoded", "not_encoded", "seeds disagree"]
    hatched = sorted(tuple(patch.get_xy()) for patch in axes.patches if patch.get_hatch())
    assert hatched == [(-0.5, 0.5), (0.5, -0.5), (0.5, 0.5)]  # the cells (0, 1), (1, 0), (1, 1)


def test_seed_and_one_key_give_a_one_row_diagram_of_means():
    cells = [("1", 0.1), ("1", 0.3), ("2", 1.0), ("2", "failed"), ("3", "failed")]
    figure = phase_diagram_figure(cells, ["turns"], "reconstruction.mse")
    assert cell_texts(figure) == {(0, 0): "0.2\n±0.14", (1, 0): "1\n1/2", (2, 0): "failed"}
    axes = figure.axes[0]
    assert axes.get_yticks().size == 0 and axes.get_xlabel() == "turns"
    np.testing.assert_allclose(axes.images[0].get_array().filled(np.nan), [[0.2, 1.0, np.nan]])


def test_a_long_title_stays_inside_the_figure():
    title = "learnability verdict of the spiral over the number of turns and the encoder width " * 3
    figure = phase_diagram_figure(CELLS, ["manifold.turns", "model.encoder.widths"], "verdict", title=title)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    extent = title_of(figure).get_window_extent(renderer)
    box = figure.bbox
    assert box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1
    assert title_of(figure).get_text().count("\n") >= 2
    legend = figure.axes[0].get_legend().get_window_extent(renderer)
    assert legend.x1 <= box.x1 and legend.y1 <= box.y1


def test_long_values_are_slanted_and_stay_inside_the_figure():
    values = ["{type: mlp, widths: [64, 64]}", "{type: mlp, widths: [8]}"]
    cells = [(value, 0.1 * seed) for value in values for seed in (1, 2)]
    figure = phase_diagram_figure(cells, ["model.encoder"], "reconstruction.mse")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    labels = figure.axes[0].get_xticklabels()
    assert [label.get_rotation() for label in labels] == [30.0, 30.0]
    for label in labels:
        extent = label.get_window_extent(renderer)
        assert figure.bbox.x0 <= extent.x0 and extent.y0 >= figure.bbox.y0
