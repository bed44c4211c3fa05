"""Each registered manifold type declares exactly the capabilities it has, and they work."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.manifolds import make
from geokeras.manifolds.capabilities import (
    ExactCurve,
    ExactPolygon,
    ExactSurface,
    KnownModes,
    KnownTopology,
    LabelledData,
    NonRectifiableUnits,
    RoundSphere,
    SplitData,
    is_closed_manifold,
    types_with,
)
from geokeras.manifolds.geometry import (
    DEFAULT_CURVE_RESOLUTION,
    DEFAULT_MESH_RESOLUTION,
    exact_geometry,
    geometry_key,
    geometry_kind,
    no_geometry_reason,
)
from geokeras.registry import MANIFOLDS

CAPABILITIES = (
    ExactCurve,
    ExactPolygon,
    NonRectifiableUnits,
    ExactSurface,
    KnownTopology,
    RoundSphere,
    LabelledData,
    SplitData,
    KnownModes,
)
CURVE_TOPOLOGY = {ExactCurve, KnownTopology}
SURFACE_TOPOLOGY = {ExactSurface, KnownTopology}
SPACE_FILLING = CURVE_TOPOLOGY | {ExactPolygon, NonRectifiableUnits}
DECLARED = {
    "circle": CURVE_TOPOLOGY | {RoundSphere},
    "ellipse": CURVE_TOPOLOGY,
    "archimedean_spiral": CURVE_TOPOLOGY,
    "helix": CURVE_TOPOLOGY,
    "torus_knot": CURVE_TOPOLOGY,
    "trefoil": CURVE_TOPOLOGY,
    "hilbert": SPACE_FILLING,
    "peano": SPACE_FILLING,
    "koch": CURVE_TOPOLOGY | {ExactPolygon},
    "sphere": SURFACE_TOPOLOGY | {RoundSphere},
    "hemisphere": SURFACE_TOPOLOGY,
    "disk": SURFACE_TOPOLOGY,
    "torus": SURFACE_TOPOLOGY,
    "klein_bottle": SURFACE_TOPOLOGY,
    "mobius": SURFACE_TOPOLOGY,
    "swiss_roll": SURFACE_TOPOLOGY,
    "s_curve": SURFACE_TOPOLOGY,
    "graph_surface": SURFACE_TOPOLOGY,
    "product_with_interval": SURFACE_TOPOLOGY,
    "mesh": SURFACE_TOPOLOGY,
    "digits": {LabelledData, SplitData},
    "mnist": {LabelledData, SplitData},
    "fashion_mnist": {LabelledData, SplitData},
    "gaussian_mixture": {KnownModes},
    "points": {SplitData},  # labels may be values (a colour), not classes
    "image_folder": {LabelledData, SplitData},
}


def test_every_registered_type_is_listed():
    assert set(MANIFOLDS.names()) == set(DECLARED)


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_each_type_declares_exactly_its_capabilities(name):
    manifold_class = MANIFOLDS[name].load()
    declared = {capability for capability in CAPABILITIES if issubclass(manifold_class, capability)}
    assert declared == DECLARED[name]


def test_types_with_a_capability_come_from_the_registry():
    assert sorted(types_with(RoundSphere)) == ["circle", "sphere"]
    assert sorted(types_with(NonRectifiableUnits)) == ["hilbert", "peano"]


@pytest.mark.parametrize(
    "mapping, closed",
    [
        ({"type": "circle"}, True),
        ({"type": "archimedean_spiral"}, False),
        ({"type": "hilbert", "order": 2}, False),
        ({"type": "sphere", "dim": 2}, True),
        ({"type": "torus"}, True),
        ({"type": "disk"}, False),
        ({"type": "product_with_interval"}, False),
        ({"type": "gaussian_mixture"}, False),  # no known topology: not known to be closed
    ],
)
def test_closed_manifolds_are_the_compact_ones_without_boundary(mapping, closed):
    assert is_closed_manifold(make(mapping)) is closed


def test_a_sphere_has_a_mesh_only_in_dimension_two():
    assert make({"type": "sphere", "dim": 2}).has_mesh
    three_sphere = make({"type": "sphere", "dim": 3})
    assert isinstance(three_sphere, ExactSurface) and not three_sphere.has_mesh
    assert geometry_kind(three_sphere) is None and exact_geometry(three_sphere) is None


def test_a_product_has_a_mesh_only_over_a_curve_times_one_interval():
    assert make({"type": "product_with_interval"}).has_mesh
    over_a_circle_as_a_sphere = make({"type": "product_with_interval", "base": {"type": "sphere", "dim": 1}})
    assert over_a_circle_as_a_sphere.intrinsic_dim == 2 and not over_a_circle_as_a_sphere.has_mesh
    assert exact_geometry(over_a_circle_as_a_sphere) is None


def test_exact_geometry_of_a_circle_a_polygon_and_a_surface():
    circle = make({"type": "circle", "radius": 2.0})
    polyline = exact_geometry(circle, 8)
    assert (polyline.kind, polyline.closed, polyline.resolution, polyline.vertices.shape) == ("curve", True, 8, (8, 2))
    np.testing.assert_allclose(np.linalg.norm(polyline.vertices, axis=1), 2.0)
    assert not polyline.vertices.flags.writeable
    assert geometry_key(circle) == ("curve", DEFAULT_CURVE_RESOLUTION)

    hilbert = make({"type": "hilbert", "order": 2})  # 16 cells, 15 segments: its own vertices
    own = exact_geometry(hilbert)
    assert (own.closed, own.resolution, own.vertices.shape) == (False, None, (16, 2))
    assert geometry_key(hilbert) == ("curve", None)

    disk = make({"type": "disk"})
    mesh = exact_geometry(disk, 999, 4)  # a surface ignores the curve resolution
    assert (mesh.kind, mesh.resolution, mesh.faces.shape[1]) == ("surface", 4, 3)
    assert geometry_key(disk) == ("surface", DEFAULT_MESH_RESOLUTION)


def test_no_geometry_reason_names_the_type():
    reason = no_geometry_reason(make({"type": "gaussian_mixture"}))
    assert reason == (
        "needs a manifold with exact geometry (a curve, surface or mesh); manifold type 'gaussian_mixture' "
        "(intrinsic_dim=2) has none: neither a polyline nor a mesh"
    )
