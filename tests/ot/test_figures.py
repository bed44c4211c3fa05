"""Figures of the latent OT map: power cells coloured so that neighbours differ, in every panel alike."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from geokeras.ot import figures  # noqa: E402
from geokeras.ot.sources import make_source  # noqa: E402


def test_cells_touching_on_the_raster_get_different_colours():
    # Cells 0..4 on a 4 x 4 raster; cell 4 is not on it (an empty cell) and touches nothing.
    raster = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
    colours = figures.cell_colours(5, raster)
    assert colours.shape == (5, 4)
    touching = [(0, 1), (0, 2), (1, 3), (2, 3)]
    assert all(not np.array_equal(colours[a], colours[b]) for a, b in touching)
    # A 2 x 2 block needs two colours only: the diagonal cells share one.
    assert np.array_equal(colours[0], colours[3]) and np.array_equal(colours[1], colours[2])


@pytest.fixture
def drawn(monkeypatch):
    saved = []
    original = figures.save_figure

    def keep(figure, path, dpi):
        saved.append(figure)
        return original(figure, path, dpi)

    monkeypatch.setattr(figures, "save_figure", keep)
    return saved


def test_power_diagram_panels_share_the_cell_colours(tmp_path, drawn):
    source = make_source(None, 2)
    low, high = (np.asarray(bound, dtype=np.float64) for bound in source.box())
    targets = (low + (high - low) * np.random.default_rng(0).random((12, 2))).astype(np.float32)
    heights = np.random.default_rng(1).normal(scale=0.05, size=12).astype(np.float32)
    path = figures.plot_power_diagram(
        targets, heights, source, tmp_path / "power.svg", dpi=40, samples=300, resolution=48
    )
    assert path.read_bytes().startswith(b"<?xml")
    diagram, scatter, codes = drawn[-1].axes[:3]
    pixels = np.asarray(diagram.images[0].get_array())  # shape=[48, 48, 4]: the colour of each pixel's cell
    from geokeras.ot.assignment import assign_cells

    axis_x = np.linspace(low[0], high[0], 48)
    axis_y = np.linspace(low[1], high[1], 48)
    grid = np.stack(np.meshgrid(axis_x, axis_y), axis=-1).reshape(-1, 2).astype(np.float32)
    cells = assign_cells(grid, targets, heights).numpy().reshape(48, 48)
    horizontal = cells[:, 1:] != cells[:, :-1]
    vertical = cells[1:, :] != cells[:-1, :]
    assert horizontal.any() and vertical.any()
    assert np.all(np.any(pixels[:, 1:] != pixels[:, :-1], axis=-1)[horizontal])  # touching cells differ
    assert np.all(np.any(pixels[1:, :] != pixels[:-1, :], axis=-1)[vertical])
    np.testing.assert_array_equal(codes.collections[0].get_facecolors(), figures.cell_colours(12, cells))
