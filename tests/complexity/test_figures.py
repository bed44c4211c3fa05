"""Figures of geokeras.complexity: the latent-domain picture maps every polygon exactly."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.complexity.figures import latent_polygons, plot_cells_in_latent
from geokeras.complexity.mesh import count_regions_on_mesh
from geokeras.manifolds import make
from tests.complexity.test_mesh import random_network


def test_latent_polygons_are_the_network_outputs_at_the_polygon_corners(tmp_path):
    hemisphere = make({"type": "hemisphere"})
    vertices, faces = hemisphere.mesh(8)
    network = random_network([3, 6, 5, 2], seed=3)
    regions = count_regions_on_mesh(network, vertices, faces)
    images = latent_polygons(regions)
    assert len(images) == len(regions.polygons) and regions.cells > 1
    for polygon, image in zip(regions.polygons, images):
        # Each corner lies in the closure of its cell, where the cell's affine map is the network.
        np.testing.assert_allclose(image, network(np.asarray(polygon)), atol=1e-9)
    path = plot_cells_in_latent(regions, tmp_path / "latent.png", dpi=40)
    assert path.stat().st_size > 0


def test_the_latent_picture_needs_two_outputs(tmp_path):
    vertices, faces = make({"type": "hemisphere"}).mesh(4)
    regions = count_regions_on_mesh(random_network([3, 4, 1], seed=0), vertices, faces)
    with pytest.raises(ValueError, match="2 outputs. Received: 1 outputs"):
        plot_cells_in_latent(regions, tmp_path / "latent.png")
