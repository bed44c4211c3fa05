"""Categorical colours: palettes for classes and a neighbour-distinct colouring for cells.

Two kinds of categorical data appear in the figures:

* **classes** (digit labels, class folders, any integer-valued label, a sweep's verdicts): each
  class keeps one colour of :func:`qualitative_palette` and is named in a legend;
* **cells** (linear regions of a network, power cells of an OT map, pieces along a curve): what
  matters is telling a cell from its neighbours, so the cells are the vertices of an adjacency
  graph (cells sharing an edge in 2-D, consecutive pieces along a curve, pixels side by side on a
  rasterised label image) and :func:`greedy_colouring` gives neighbours different colours.

The palette starts with the Okabe-Ito colours (Okabe & Ito 2008, *Color Universal Design*) and
continues with Paul Tol's *muted* and *bright* qualitative colours, both designed to stay
distinct with the common colour-vision deficiencies; past those 20 colours it is extended
deterministically by golden-ratio steps of hue (:func:`qualitative_palette`). Only numpy is
imported here.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""The Okabe-Ito colour-blind-safe palette, in the order lines are drawn."""

_TOL_COLOURS = (
    "#882255",  # wine
    "#44AA99",  # teal
    "#999933",  # olive
    "#332288",  # indigo
    "#DDCC77",  # sand
    "#117733",  # green
    "#88CCEE",  # cyan
    "#AA4499",  # purple
    "#CC6677",  # rose
    "#661100",  # brown
    "#6699CC",  # steel blue
    "#888888",  # grey
)

BASE_PALETTE = OKABE_ITO + _TOL_COLOURS
"""20 distinct colours: Okabe-Ito, then Paul Tol's qualitative colours."""

CELL_PALETTE = tuple(colour for colour in BASE_PALETTE if colour not in ("#000000", "#888888"))
"""The palette of cells: without black and grey, which draw data, boundaries and missing values."""

_GOLDEN_RATIO = (5**0.5 - 1) / 2


def qualitative_palette(count: int, base: Sequence[str] = BASE_PALETTE) -> list[str]:
    """``count`` colours: ``base`` in order, then (beyond it) hues h_k = frac(0.1 + k phi) with
    phi = (sqrt 5 - 1) / 2 (each new hue far from the previous ones), at three lightness levels
    in turn, so that any number of classes or cells gets a colour, the same ones every time."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"Expected a colour count >= 0. Received: count={count!r}.")
    colours = list(base[:count])
    for k in range(count - len(colours)):
        hue = (0.1 + k * _GOLDEN_RATIO) % 1.0
        lightness = (0.45, 0.3, 0.65)[k % 3]
        red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.75)
        colours.append("#{:02X}{:02X}{:02X}".format(*(int(round(255 * value)) for value in (red, green, blue))))
    return colours


def class_colours(classes: Iterable[Any]) -> dict[Any, str]:
    """``{class: colour}``: the qualitative palette in the order the classes are given."""
    classes = list(classes)
    return dict(zip(classes, qualitative_palette(len(classes))))


def integer_classes(values: Any, max_classes: int = 40) -> np.ndarray | None:
    """The sorted distinct values of ``values`` when they are class labels, else ``None``.

    Labels are recognised as finite values that are all integers, with at most ``max_classes``
    distinct ones (a legend of more entries does not read; a continuous colour bar then).
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0 or not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
        return None
    distinct = np.unique(array)
    return distinct if distinct.size <= max_classes else None


def greedy_colouring(count: int, edges: Iterable[tuple[int, int]]) -> np.ndarray:
    """A colour index per vertex 0..count-1 such that no edge joins two equal colours.

    Largest-first greedy colouring (Welsh & Powell 1967): vertices in order of decreasing degree
    (ties by index), each taking the smallest colour none of its already coloured neighbours
    has. It uses at most max degree + 1 colours, and few on planar-like adjacencies (cells of a
    subdivision). Self-loops and repeated edges are ignored. Returns shape=[count] int64.
    """
    neighbours: list[set[int]] = [set() for _ in range(count)]
    for a, b in edges:
        a, b = int(a), int(b)
        if not (0 <= a < count and 0 <= b < count):
            raise ValueError(f"Expected edges between vertices 0..{count - 1}. Received: ({a}, {b}).")
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    colours = np.full(count, -1, dtype=np.int64)
    for vertex in sorted(range(count), key=lambda index: (-len(neighbours[index]), index)):
        taken = {int(colours[other]) for other in neighbours[vertex]}
        colours[vertex] = next(colour for colour in range(len(taken) + 1) if colour not in taken)
    return colours


def neighbour_distinct_colours(count: int, edges: Iterable[tuple[int, int]]) -> list[str]:
    """A colour per vertex from :data:`CELL_PALETTE` (extended when needed), neighbours differing."""
    indices = greedy_colouring(count, edges)
    palette = qualitative_palette(int(indices.max(initial=-1)) + 1, base=CELL_PALETTE)
    return [palette[int(index)] for index in indices]


def path_edges(labels: Sequence[int], closed: bool = False) -> set[tuple[int, int]]:
    """Pairs of different labels met one after the other along a sequence (and last to first when
    ``closed``): the adjacency of the pieces of a curve."""
    labels = [int(label) for label in labels]
    pairs = list(zip(labels[:-1], labels[1:]))
    if closed and len(labels) > 1:
        pairs.append((labels[-1], labels[0]))
    return {(min(a, b), max(a, b)) for a, b in pairs if a != b}


def raster_edges(label_image: Any) -> set[tuple[int, int]]:
    """Pairs of different labels on horizontally or vertically adjacent pixels of a label image
    (shape=[H, W] integers): the adjacency of the cells a rasterised diagram shows."""
    image = np.asarray(label_image, dtype=np.int64)
    if image.ndim != 2:
        raise ValueError(f"Expected a label image of shape [H, W]. Received: shape={list(image.shape)}.")
    pairs = [
        np.stack([image[:, :-1].ravel(), image[:, 1:].ravel()], axis=1),
        np.stack([image[:-1, :].ravel(), image[1:, :].ravel()], axis=1),
    ]
    stacked = np.concatenate(pairs)
    stacked = stacked[stacked[:, 0] != stacked[:, 1]]
    ordered = np.unique(np.sort(stacked, axis=1), axis=0)
    return {(int(a), int(b)) for a, b in ordered}


def polygon_edges(polygons: Sequence[Any], labels: Sequence[int], tolerance: float = 1e-9) -> set[tuple[int, int]]:
    """Pairs of different labels whose polygons share an edge, i.e. at least two vertices.

    Polygons of a subdivision (the convex pieces of cells on a mesh or a box) meet edge to edge,
    their common edges ending at common vertices; vertices closer than ``tolerance`` times the
    size of the whole (its bounding-box diagonal) count as one, so floating-point copies of a
    vertex computed on either side of an edge match. Works in any dimension.
    """
    if len(polygons) != len(labels):
        raise ValueError(f"Expected one label per polygon. Received: {len(polygons)} polygons, {len(labels)} labels.")
    if not polygons:
        return set()
    arrays = [np.asarray(polygon, dtype=np.float64) for polygon in polygons]
    points = np.concatenate(arrays)
    owner = np.repeat(np.arange(len(arrays)), [len(array) for array in arrays])
    from scipy.spatial import cKDTree

    diagonal = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0))) or 1.0
    merged = np.arange(len(points))
    for a, b in sorted(cKDTree(points).query_pairs(tolerance * diagonal)):
        root_a, root_b = _root(merged, a), _root(merged, b)
        merged[max(root_a, root_b)] = min(root_a, root_b)
    vertex_ids = np.array([_root(merged, index) for index in range(len(points))])
    polygons_at: dict[int, set[int]] = {}
    for vertex, polygon in zip(vertex_ids, owner):
        polygons_at.setdefault(int(vertex), set()).add(int(polygon))
    shared: dict[tuple[int, int], int] = {}
    for members in polygons_at.values():
        ordered = sorted(members)
        for i, first in enumerate(ordered):
            for second in ordered[i + 1 :]:
                shared[(first, second)] = shared.get((first, second), 0) + 1
    edges = set()
    for (first, second), count in shared.items():
        a, b = int(labels[first]), int(labels[second])
        if count >= 2 and a != b:
            edges.add((min(a, b), max(a, b)))
    return edges


def _root(parent: np.ndarray, index: int) -> int:
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = int(parent[index])
    return index
