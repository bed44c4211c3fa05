#!/usr/bin/env python3
"""Regenerate specs/data/bumpy_cup.obj, the shipped example mesh, byte for byte.

The paper's Buddha experiment (Lei, Luo, Yau, Gu, arXiv:1805.10451) encodes a
scanned genus-0 surface with boundary into R^2. We ship no scan (licences); instead this
script builds such a surface procedurally: a bumpy cup, the graph of a radius function over
the directions of a spherical cap,

    p(θ, φ) = r(θ, φ) (sin θ cos φ, sin θ sin φ, -1.3 cos θ),   θ in [0, 0.58 π], φ in [0, 2π),
    r(θ, φ) = 1 + 0.1 sin^2 θ cos 5φ + 0.06 cos 4θ,

θ measured from the bottom. r > 0 and the cap is star-shaped around the origin, so p is an
embedding: a disk (genus 0, one boundary circle, the rim; χ = 1) whose rim curls inwards
slightly past the equator. It is triangulated on a 32 x 72 grid in (θ, φ), the bottom
(θ = 0) one vertex: V = 1 + 32 * 72 = 2305 vertices, F = 72 + 2 * 31 * 72 = 4536
triangles, wound consistently. Coordinates are written with 6 decimals, so the file is the
same on every platform.

Usage::

    .venv/bin/python scripts/make_mesh.py [--out specs/data/bumpy_cup.obj]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "specs" / "data" / "bumpy_cup.obj"

ROWS = 32
"""Rings of vertices in θ (besides the bottom vertex)."""
COLUMNS = 72
"""Vertices per ring (in φ)."""
THETA_MAX = 0.58 * math.pi


def bumpy_cup() -> tuple[np.ndarray, np.ndarray]:
    """The cup's vertices shape=[2305, 3] and 0-based faces shape=[4536, 3]."""
    theta = THETA_MAX * np.arange(1, ROWS + 1) / ROWS
    phi = 2.0 * math.pi * np.arange(COLUMNS) / COLUMNS
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    radius = 1.0 + 0.1 * np.sin(theta) ** 2 * np.cos(5.0 * phi) + 0.06 * np.cos(4.0 * theta)
    ring_points = np.stack(
        [radius * np.sin(theta) * np.cos(phi), radius * np.sin(theta) * np.sin(phi), -1.3 * radius * np.cos(theta)],
        axis=-1,
    ).reshape(-1, 3)
    bottom = np.array([[0.0, 0.0, -1.3 * (1.0 + 0.06)]])  # r(0, φ) = 1.06 in every direction
    vertices = np.concatenate([bottom, ring_points])

    def index(row: np.ndarray, column: np.ndarray) -> np.ndarray:  # row 0 is the first ring
        return 1 + row * COLUMNS + column % COLUMNS

    column = np.arange(COLUMNS)
    fan = np.stack([np.zeros(COLUMNS, dtype=np.int64), index(0, column), index(0, column + 1)], axis=1)
    row, column = np.meshgrid(np.arange(ROWS - 1), np.arange(COLUMNS), indexing="ij")
    row, column = row.ravel(), column.ravel()
    a, b = index(row, column), index(row + 1, column)
    c, d = index(row + 1, column + 1), index(row, column + 1)
    quads = np.stack([np.stack([a, b, c], axis=1), np.stack([a, c, d], axis=1)], axis=1).reshape(-1, 3)
    return vertices, np.concatenate([fan, quads]).astype(np.int64)


def obj_text(vertices: np.ndarray, faces: np.ndarray) -> str:
    """Wavefront OBJ text: a header, ``v x y z`` lines (6 decimals), ``f i j k`` lines (1-based)."""
    lines = [
        "# bumpy_cup.obj: a procedural genus-0 surface with boundary (a disk), for geokeras",
        "# regenerate with: python scripts/make_mesh.py",
        f"# {vertices.shape[0]} vertices, {faces.shape[0]} triangles",
    ]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices.tolist()]
    lines += [f"f {i} {j} {k}" for i, j, k in (faces + 1).tolist()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the OBJ file")
    arguments = parser.parse_args()
    vertices, faces = bumpy_cup()
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_bytes(obj_text(vertices, faces).encode("ascii"))
    print(f"wrote {arguments.out} ({vertices.shape[0]} vertices, {faces.shape[0]} triangles)")


if __name__ == "__main__":
    main()
