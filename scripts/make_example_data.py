"""Write the small example data of ``specs/manifolds/points.yaml`` and ``image_folder.yaml`` into specs/data/.

Seeded: the same points and pixels on every run (the committed files are what the specs' content
hashes and tests/golden/spec_hashes.json hold; PNG and .npz bytes can differ with other numpy,
Pillow or zlib versions, so regenerate them only to change the data):

* ``trefoil.npy``: 400 points of a trefoil knot in R^3 with Gaussian noise (std 0.05), float64;
* ``trefoil.csv``: the same points with a header ``x,y,z,t``, t in [0, 1) the knot's parameter
  (a colour for the figures: ``label_column: t``);
* ``trefoil.npz``: arrays ``points`` [400, 3] and ``t`` [400];
* ``shapes/{circle,square}/NN.png``: 20 grayscale 16x16 PNGs per class, a filled disk or square
  of random size and position.

Usage: ``python scripts/make_example_data.py [OUT_DIR]`` (default specs/data).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SEED = 20181805
POINTS = 400
IMAGES_PER_CLASS = 20
SIDE = 16


def trefoil(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(points [n, 3], t [n]) of (sin t + 2 sin 2t, cos t - 2 cos 2t, -sin 3t) plus noise, t = 2 pi s."""
    s = np.sort(rng.uniform(0.0, 1.0, POINTS))
    t = 2.0 * np.pi * s
    points = np.stack([np.sin(t) + 2 * np.sin(2 * t), np.cos(t) - 2 * np.cos(2 * t), -np.sin(3 * t)], axis=1)
    return np.round(points + rng.normal(0.0, 0.05, points.shape), 6), np.round(s, 6)


def shape_image(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A uint8 [SIDE, SIDE] image: a filled disk or square on black, with random centre and size."""
    radius = rng.uniform(3.0, 6.0)
    cx, cy = rng.uniform(radius, SIDE - radius, 2)
    y, x = np.mgrid[0:SIDE, 0:SIDE] + 0.5
    if kind == "circle":
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= radius**2
    else:
        inside = (np.abs(x - cx) <= radius * 0.85) & (np.abs(y - cy) <= radius * 0.85)
    return np.where(inside, 255, 0).astype(np.uint8)


def main(out_dir: Path) -> None:
    from PIL import Image

    rng = np.random.Generator(np.random.PCG64(SEED))
    points, t = trefoil(rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "trefoil.npy", points)
    np.savez(out_dir / "trefoil.npz", points=points, t=t)
    rows = [",".join(f"{value:.6f}" for value in (*point, s)) for point, s in zip(points, t)]
    (out_dir / "trefoil.csv").write_text("x,y,z,t\n" + "\n".join(rows) + "\n", encoding="utf-8")
    for kind in ("circle", "square"):
        folder = out_dir / "shapes" / kind
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(IMAGES_PER_CLASS):
            Image.fromarray(shape_image(kind, rng), mode="L").save(folder / f"{index:02d}.png", optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "specs" / "data")
