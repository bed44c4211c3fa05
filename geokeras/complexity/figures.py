"""Figures of the cell decomposition (Lei et al. 2018, Fig. 3): the manifold coloured by cell.

* :func:`plot_cells_on_polyline`: a curve, each part coloured by the encoder's cell it
  lies in, with the counts (intervals, cells, pieces) in the title.
* :func:`plot_cells_on_mesh`: a surface's polygons (from
  :func:`~geokeras.complexity.mesh.count_regions_on_mesh`) coloured by cell.
* :func:`plot_box_decomposition`: for a 2-D input, every cell of the network on a box
  (:func:`~geokeras.complexity.mesh.count_regions_in_box`), with the data drawn over it.

Cells are categorical: each cell gets a colour of the qualitative cell palette
(:data:`geokeras.report.colours.CELL_PALETTE`, colour-blind safe, without black and grey),
chosen by a greedy colouring of the cells' adjacency so that neighbouring cells never share
one: along a curve, cells met one after the other; on a mesh or a box, cells whose polygons
share an edge. A cell met several times keeps one colour; the title gives the exact counts.
Inputs of more than 3 dimensions are shown through their first 3 principal components (the
title says so), as in :mod:`geokeras.report.figures`, whose canvas helpers are reused (Agg
canvas, no pyplot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from geokeras.report.colours import neighbour_distinct_colours, path_edges, polygon_edges
from geokeras.report.figures import new_figure, projection_for, save_figure, wrap_title

PathLike = str | Path


def cell_colours(cell_ids: Any, edges: Any) -> list[str]:
    """A colour per entry of ``cell_ids``: the colour of its cell in a greedy colouring of
    ``edges`` (pairs of neighbouring cell ids), so that neighbouring cells differ."""
    ids = np.asarray(cell_ids, dtype=np.int64).reshape(-1)
    edges = list(edges)
    count = 1 + max(int(ids.max(initial=-1)), max((max(edge) for edge in edges), default=-1))
    by_cell = neighbour_distinct_colours(count, edges)
    return [by_cell[int(cell)] for cell in ids]


def polyline_cell_colours(regions: Any) -> list[str]:
    """A colour per part of a :class:`PolylineRegions`, cells met one after the other differing."""
    order = np.lexsort((np.asarray(regions.part_starts), np.asarray(regions.part_segments)))
    edges = path_edges(np.asarray(regions.part_cells)[order], closed=bool(regions.closed))
    return cell_colours(regions.part_cells, edges)


def mesh_cell_colours(regions: Any) -> list[str]:
    """A colour per polygon of a :class:`MeshRegions`, cells whose polygons share an edge differing."""
    edges = polygon_edges(regions.polygons, regions.polygon_cell_ids)
    return cell_colours(regions.polygon_cell_ids, edges)


def _axis_label(projection_words: str, index: int) -> str:
    """``x<i>`` for input coordinates, ``PC<i>`` when the input was projected by PCA."""
    return f"PC{index}" if "principal" in projection_words else f"x{index}"


def _part_points(vertices: np.ndarray, regions: Any) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every part of a :class:`PolylineRegions` decomposition."""
    closed = bool(regions.closed)
    ends_of = np.concatenate([vertices[1:], vertices[:1]]) if closed else vertices[1:]
    starts_of = vertices if closed else vertices[:-1]
    segment = regions.part_segments
    direction = ends_of[segment] - starts_of[segment]
    first = starts_of[segment] + regions.part_starts[:, None] * direction
    last = starts_of[segment] + regions.part_ends[:, None] * direction
    return first, last


def _fit_3d(axes: Any, points: np.ndarray, words: str) -> None:
    """3-D axes limited to the points' bounding box, the third axis labelled."""
    axes.set_xlim(points[:, 0].min(), points[:, 0].max())
    axes.set_ylim(points[:, 1].min(), points[:, 1].max())
    axes.set_zlim(points[:, 2].min(), points[:, 2].max())
    axes.set_zlabel(_axis_label(words, 3))


def plot_cells_on_polyline(vertices: Any, regions: Any, path: PathLike, dpi: int = 110) -> Path:
    """The polyline coloured by cell (``regions`` from ``count_regions_on_polyline``)."""
    from matplotlib.collections import LineCollection

    vertices = np.asarray(vertices, dtype=np.float64)
    first, last = _part_points(vertices, regions)
    project, words = projection_for(vertices)
    first, last = project(first), project(last)
    colours = polyline_cell_colours(regions)
    figure = new_figure((6.4, 5.6))
    title = f"{regions.cells} cells, {regions.intervals} intervals, {regions.pieces} affine pieces along the curve"
    title += f"\n{words.strip()}" if words else ""
    if first.shape[1] == 3:
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        axes = figure.add_subplot(projection="3d")
        axes.add_collection3d(Line3DCollection(np.stack([first, last], axis=1), colors=colours, linewidths=2.0))
        _fit_3d(axes, np.concatenate([first, last]), words)
    else:
        axes = figure.add_subplot()
        if first.shape[1] == 1:  # a 1-D input: the line, drawn along x
            first = np.concatenate([first, np.zeros_like(first)], axis=1)
            last = np.concatenate([last, np.zeros_like(last)], axis=1)
        axes.add_collection(LineCollection(np.stack([first, last], axis=1), colors=colours, linewidths=2.0))
    _finish(axes, (_axis_label(words, 1), _axis_label(words, 2)), title, planar=first.shape[1] != 3)
    return save_figure(figure, path, dpi)


def plot_cells_on_mesh(regions: Any, path: PathLike, dpi: int = 110) -> Path:
    """A surface's polygons (``regions`` from ``count_regions_on_mesh``) coloured by cell."""
    polygons = [np.asarray(polygon, dtype=np.float64) for polygon in regions.polygons]
    reference = np.concatenate(polygons)
    project, words = projection_for(reference)
    polygons = [project(polygon) for polygon in polygons]
    colours = mesh_cell_colours(regions)
    figure = new_figure((6.4, 5.6))
    title = f"{regions.cells} cells, {regions.regions} regions, {regions.pieces} affine pieces on the surface"
    title += f"\n{words.strip()}" if words else ""
    if polygons[0].shape[1] == 3:
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection

        axes = figure.add_subplot(projection="3d")
        axes.add_collection3d(Poly3DCollection(polygons, facecolors=colours, edgecolors="none"))
        _fit_3d(axes, project(reference), words)
    else:
        from matplotlib.collections import PolyCollection

        axes = figure.add_subplot()
        axes.add_collection(PolyCollection(polygons, facecolors=colours, edgecolors="none"))
    _finish(axes, (_axis_label(words, 1), _axis_label(words, 2)), title, planar=polygons[0].shape[1] != 3)
    return save_figure(figure, path, dpi)


def _finish(axes: Any, labels: tuple[str, str], title: str, planar: bool = True) -> None:
    """Axes labelled and titled; planar ones fitted to their data with equal aspect."""
    if planar:
        axes.autoscale()
        axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel(labels[0])
    axes.set_ylabel(labels[1])
    axes.set_title(wrap_title(title, axes.figure.get_figwidth() - 0.8, fontsize=9), fontsize=9)


def latent_polygons(regions: Any) -> list[np.ndarray]:
    """Each polygon of ``regions`` mapped by its cell's affine map x -> x A_c + c_c (shape=[k, n_out])."""
    linear, offset = regions.cell_maps
    return [
        np.asarray(polygon, dtype=np.float64) @ linear[cell] + offset[cell]
        for polygon, cell in zip(regions.polygons, regions.polygon_cell_ids)
    ]


def plot_cells_in_latent(regions: Any, path: PathLike, dpi: int = 110) -> Path:
    """The surface's polygons mapped by their cell's affine map into a 2-D latent space.

    Each polygon P of ``regions`` (``count_regions_on_mesh`` of a network with 2 outputs) is
    drawn as its image {x A_c + c_c : x in P} under the affine map of its cell c, coloured as in
    :func:`plot_cells_on_mesh`: the paper's picture of the cell decomposition of the latent
    domain (Lei et al. 2018, the surface example). An encoding map gives images that tile the
    latent domain without overlap; a fold shows as overlapping images.
    """
    if regions.network.output_dim != 2:
        raise ValueError(f"Expected a network with 2 outputs. Received: {regions.network.output_dim} outputs.")
    images = latent_polygons(regions)
    from matplotlib.collections import PolyCollection

    figure = new_figure((6.0, 5.6))
    axes = figure.add_subplot()
    axes.add_collection(PolyCollection(images, facecolors=mesh_cell_colours(regions), edgecolors="none"))
    _finish(axes, ("code 1", "code 2"), f"The same {regions.cells} cells in the latent domain (image of the surface)")
    return save_figure(figure, path, dpi)


def plot_box_decomposition(
    regions: Any,
    path: PathLike,
    overlay: Any | None = None,
    overlay_is_curve: bool = True,
    dpi: int = 110,
) -> Path:
    """Every cell of a 2-D-input network on a box (``count_regions_in_box``), data on top.

    Args:
        regions: the box's :class:`~geokeras.complexity.mesh.MeshRegions`.
        overlay: optional shape=[n, 2], drawn in black: polyline vertices joined by a line
            (``overlay_is_curve``) or points.
    """
    from matplotlib.collections import PolyCollection

    polygons = [np.asarray(polygon, dtype=np.float64) for polygon in regions.polygons]
    figure = new_figure((6.4, 5.6))
    axes = figure.add_subplot()
    axes.add_collection(
        PolyCollection(polygons, facecolors=mesh_cell_colours(regions), edgecolors="white", linewidths=0.2)
    )
    if overlay is not None:
        points = np.asarray(overlay, dtype=np.float64)
        if overlay_is_curve:
            axes.plot(points[:, 0], points[:, 1], color="black", linewidth=1.0)
        else:
            axes.scatter(points[:, 0], points[:, 1], color="black", s=2.0, linewidths=0)
    _finish(axes, ("x1", "x2"), f"{regions.regions} linear regions ({regions.cells} cells) on the box")
    return save_figure(figure, path, dpi)
