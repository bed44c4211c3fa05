"""Figures of the latent OT map and of AE-OT generation (matplotlib; PNG, SVG or PDF).

* :func:`plot_power_diagram` (2-D latent spaces): the power cells W_i(h) of the source domain,
  source samples coloured by their cell, and the targets (codes) in the same colours, with
  generated codes on top: the OT map sends each coloured region onto the code of its colour.
* :func:`plot_generated`: held-out data, AE-OT samples and baseline samples side by side, as
  scatter plots (the first two principal components of the data beyond 2-D) or image grids.

Colours: each cell gets a colour of the qualitative cell palette of
:mod:`geokeras.report.colours`, chosen by a greedy colouring of the cells' adjacency (cells
whose pixels touch on the rasterised diagram), so that neighbouring cells never share one and
a cell, its source samples and its code have the same colour in the three panels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from geokeras.report.colours import neighbour_distinct_colours, raster_edges
from geokeras.report.figures import (
    OKABE_ITO,
    draw_tile_lines,
    image_mosaic,
    new_figure,
    save_figure,
    thin_gutters,
)

__all__ = ["cell_colours", "plot_generated", "plot_power_diagram"]

PathLike = Union[str, Path]
_POINT_SIZE = 4.0


def cell_colours(count: int, label_image: Any) -> np.ndarray:
    """One RGBA colour per cell 0..count-1, neighbours on ``label_image`` (shape=[H, W], the
    cell of each pixel) differing; cells not on the image are not adjacent to any."""
    from matplotlib.colors import to_rgba_array

    return to_rgba_array(neighbour_distinct_colours(count, raster_edges(label_image)))


def _source_window(source: Any) -> tuple[np.ndarray, np.ndarray]:
    box = source.box()
    if box is not None:
        return np.asarray(box[0], float), np.asarray(box[1], float)
    spread = 3.0 * source.coordinate_std()
    return np.full(2, -spread), np.full(2, spread)


def plot_power_diagram(
    targets: Any,
    heights: Any,
    source: Any,
    path: PathLike,
    dpi: int = 110,
    *,
    generated_codes: Optional[Any] = None,
    samples: int = 2000,
    resolution: int = 300,
    seed: int = 0,
) -> Path:
    """Three panels for a 2-D latent space: power diagram, source samples by cell, codes.

    Args:
        targets: shape=[N, 2], the codes y_i; heights: shape=[N].
        source: the :class:`geokeras.ot.sources.Source` (its box, or +-3 std, is drawn).
        path: the figure to write (.png, .svg or .pdf).
        generated_codes: shape=[n, 2] codes from :func:`geokeras.ot.generation.generate`, or None.
        samples: source samples in the middle panel.
        resolution: pixels per side of the rasterised diagram.
        seed: seeds the source samples.
    """
    from geokeras.ot.assignment import assign_cells

    targets = np.asarray(targets, dtype=np.float32)
    if targets.ndim != 2 or targets.shape[1] != 2:
        raise ValueError(f"Expected 2-D targets, shape [N, 2]. Received: shape={list(targets.shape)}.")
    heights = np.asarray(heights, dtype=np.float32)
    low, high = _source_window(source)
    axis_x = np.linspace(low[0], high[0], resolution)
    axis_y = np.linspace(low[1], high[1], resolution)
    grid = np.stack(np.meshgrid(axis_x, axis_y), axis=-1).reshape(-1, 2).astype(np.float32)
    cells = assign_cells(grid, targets, heights).numpy().reshape(resolution, resolution)
    colours = cell_colours(targets.shape[0], cells)
    x = source.sample(samples, seed=seed, step=3).numpy()
    x_cells = assign_cells(x, targets, heights).numpy()

    figure = new_figure((15.0, 5.0))
    diagram = figure.add_subplot(1, 3, 1)
    diagram.imshow(colours[cells], origin="lower", extent=(low[0], high[0], low[1], high[1]), interpolation="nearest")
    boundary = (np.diff(cells, axis=0, prepend=cells[:1]) != 0) | (np.diff(cells, axis=1, prepend=cells[:, :1]) != 0)
    diagram.contour(axis_x, axis_y, boundary.astype(float), levels=[0.5], colors="white", linewidths=0.4)
    diagram.set_title(f"Power diagram W_i(h) on the source ({targets.shape[0]} cells)")
    diagram.set_xlabel("x1")
    diagram.set_ylabel("x2")

    scatter = figure.add_subplot(1, 3, 2)
    scatter.scatter(x[:, 0], x[:, 1], s=_POINT_SIZE, c=colours[x_cells], linewidths=0)
    scatter.set_xlim(low[0], high[0])
    scatter.set_ylim(low[1], high[1])
    scatter.set_aspect("equal")
    scatter.set_title(f"{samples} source samples coloured by cell")
    scatter.set_xlabel("x1")
    scatter.set_ylabel("x2")

    codes = figure.add_subplot(1, 3, 3)
    codes.scatter(targets[:, 0], targets[:, 1], s=_POINT_SIZE * 3, c=colours, linewidths=0, label="training codes y_i")
    if generated_codes is not None:
        generated = np.asarray(generated_codes, dtype=np.float64)
        codes.scatter(
            generated[:, 0],
            generated[:, 1],
            s=_POINT_SIZE / 2,
            color="black",
            alpha=0.5,
            linewidths=0,
            label="generated codes",
        )
    codes.set_title("Codes: T maps each cell onto its code")
    codes.set_xlabel("z1")
    codes.set_ylabel("z2")
    codes.legend(loc="best", fontsize="small")
    return save_figure(figure, path, dpi)


def _project_2d(reference: np.ndarray) -> tuple[Any, str]:
    if reference.shape[1] <= 2:
        return (lambda points: points if points.shape[1] == 2 else np.c_[points, np.zeros(len(points))]), ""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver="full").fit(reference)
    mean, components = pca.mean_, pca.components_.T
    return (lambda points: (points - mean) @ components), " (first 2 principal components of the data)"


def plot_generated(
    held_out: Any,
    generated: Any,
    baseline: Optional[Any],
    path: PathLike,
    dpi: int = 110,
    *,
    image_shape: Optional[Sequence[int]] = None,
    max_points: int = 2000,
    max_images: int = 64,
    seed: int = 0,
) -> Path:
    """Held-out data, AE-OT samples and baseline samples side by side.

    Args:
        held_out, generated, baseline: shape=[n, D] (or images); ``baseline`` may be None.
        image_shape: (H, W, C) to draw image grids instead of scatter plots.
        max_points: points per scatter panel (a seeded subsample); max_images: tiles per grid.
    """
    panels = [("held-out data", held_out), ("AE-OT (extended OT map)", generated)]
    if baseline is not None:
        panels.append(("baseline: decoder of Gaussian latents", baseline))
    rng = np.random.Generator(np.random.PCG64(seed))
    figure = new_figure((5.0 * len(panels), 5.0))
    if image_shape is not None:
        thin_gutters(figure)
        height, width, channels = (int(size) for size in image_shape)
        for index, (title, values) in enumerate(panels):
            images = np.asarray(values, dtype=np.float64).reshape(-1, height, width, channels)[:max_images]
            columns = int(np.ceil(np.sqrt(len(images))))
            rows = int(np.ceil(len(images) / columns))
            mosaic = image_mosaic(np.clip(images, 0.0, 1.0), rows, columns, fill=0.0, gap=0)  # white under gray_r
            axes = figure.add_subplot(1, len(panels), index + 1)
            axes.imshow(mosaic[..., 0] if channels != 3 else mosaic, cmap="gray_r", vmin=0.0, vmax=1.0)
            draw_tile_lines(axes, rows, columns, height, width)
            axes.set_title(title)
            axes.set_axis_off()
        return save_figure(figure, path, dpi)
    flat = [(title, np.asarray(values, dtype=np.float64).reshape(len(values), -1)) for title, values in panels]
    project, words = _project_2d(flat[0][1])
    projected = []
    for title, values in flat:
        values = values[np.all(np.isfinite(values), axis=1)]
        if len(values) > max_points:
            values = values[rng.choice(len(values), max_points, replace=False)]
        projected.append((title, project(values)))
    stacked = np.concatenate([points for _, points in projected])
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    margin = 0.05 * np.maximum(high - low, 1e-12)
    for index, (title, points) in enumerate(projected):
        axes = figure.add_subplot(1, len(panels), index + 1)
        axes.scatter(points[:, 0], points[:, 1], s=_POINT_SIZE, color=OKABE_ITO[index], linewidths=0)
        axes.set_xlim(low[0] - margin[0], high[0] + margin[0])
        axes.set_ylim(low[1] - margin[1], high[1] + margin[1])
        axes.set_title(f"{title}{words}", fontsize="medium")
        axes.set_xlabel("PC1" if words else "x1")
        axes.set_ylabel("PC2" if words else "x2")
    return save_figure(figure, path, dpi)
