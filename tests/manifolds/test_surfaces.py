"""Surfaces and higher: samples on the manifold, the volume measure, areas, meshes, errors.

Every expected value here is computed independently of geokeras.manifolds.surfaces: the
defining equations are written out below, areas come from closed forms or from quadrature of
a numerically differentiated parameterisation, and measures are checked against their
closed-form marginals (Archimedes, the torus' tube angle, r^2 on the disk).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, spatial, special, stats

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.meshes import mesh_topology, triangle_areas
from geokeras.manifolds.surfaces import (
    Disk,
    GraphSurface,
    Hemisphere,
    KleinBottle,
    Mobius,
    ProductWithInterval,
    SCurve,
    Sphere,
    SwissRoll,
    Torus,
)

TOLERANCE = 1e-6  # the acceptance bound on the residual of the defining equations (float64)


# ---------------------------------------------------------------- defining equations
def graph_height(function: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """f(x, y) of each graph_surface function, written out independently of the package."""
    kind = function["type"]
    if kind == "paraboloid":
        return function["curvature"] * (x * x + y * y)
    if kind == "saddle":
        return function["curvature"] * (x * x - y * y)
    if kind == "gaussian_bump":
        return function["height"] * np.exp(-(x * x + y * y) / (2.0 * function["width"] ** 2))
    return function["amplitude"] * np.sin(function["frequency"] * x) * np.sin(function["frequency"] * y)


def residual(keys: dict, x: np.ndarray) -> np.ndarray:
    """The largest violation of the defining (in)equations at each point x, shape=[n].

    Equalities contribute |lhs - rhs|, inequalities a <= b contribute max(a - b, 0).
    """
    kind = keys["type"]
    if kind == "sphere":
        return np.abs(np.linalg.norm(x, axis=1) - keys.get("radius", 1.0))
    if kind == "hemisphere":
        r = keys.get("radius", 1.0)
        return np.maximum(np.abs(np.linalg.norm(x, axis=1) - r), np.maximum(-x[:, 2], 0.0))
    if kind == "disk":
        return np.maximum(np.linalg.norm(x, axis=1) - keys.get("radius", 1.0), 0.0)
    if kind == "torus":
        big_r, r = keys.get("R", 2.0), keys.get("r", 1.0)
        return np.abs((np.hypot(x[:, 0], x[:, 1]) - big_r) ** 2 + x[:, 2] ** 2 - r * r)
    if kind == "klein_bottle":
        big_r, r = keys.get("R", 2.0), keys.get("r", 1.0)
        u = np.arctan2(x[:, 1], x[:, 0])  # u mod 2 pi: u / 2 is off by pi at worst, a sign flip
        tube = np.abs((np.hypot(x[:, 0], x[:, 1]) - big_r) ** 2 + x[:, 2] ** 2 + x[:, 3] ** 2 - r * r)
        plane = np.abs(x[:, 2] * np.sin(u / 2) - x[:, 3] * np.cos(u / 2))
        return np.maximum(tube, plane)
    if kind == "mobius":
        radius, width = keys.get("radius", 1.0), keys.get("width", 0.8)
        u = np.arctan2(x[:, 1], x[:, 0])
        offset = np.hypot(x[:, 0], x[:, 1]) - radius
        plane = np.abs(offset * np.sin(u / 2) - x[:, 2] * np.cos(u / 2))
        inside = np.maximum(offset**2 + x[:, 2] ** 2 - width * width / 4, 0.0)
        return np.maximum(plane, inside)
    if kind == "swiss_roll":
        turns, start, height = keys.get("turns", 1.5), keys.get("start_turns", 0.75), keys.get("height", 21.0)
        theta = np.hypot(x[:, 0], x[:, 2])  # theta >= 0 is the distance from the roll's axis
        low, high = 2 * np.pi * start, 2 * np.pi * (start + turns)
        on_spiral = np.hypot(x[:, 0] - theta * np.cos(theta), x[:, 2] - theta * np.sin(theta))
        in_range = np.maximum(np.maximum(low - theta, theta - high), 0.0)
        return np.max([on_spiral, in_range, np.maximum(-x[:, 1], 0.0), np.maximum(x[:, 1] - height, 0.0)], axis=0)
    if kind == "s_curve":
        height = keys.get("height", 2.0)
        arcs = np.abs(x[:, 0] ** 2 + (np.abs(x[:, 2]) - 1.0) ** 2 - 1.0)
        return np.max([arcs, np.maximum(-x[:, 1], 0.0), np.maximum(x[:, 1] - height, 0.0)], axis=0)
    if kind == "graph_surface":
        function, extent = keys["function"], keys.get("extent", 1.0)
        on_graph = np.abs(x[:, 2] - graph_height(function, x[:, 0], x[:, 1]))
        return np.maximum(on_graph, np.maximum(np.abs(x[:, :2]).max(axis=1) - extent, 0.0))
    if kind == "product_with_interval":
        length, k = keys.get("length", 1.0), keys.get("intervals", 1)
        base, interval = x[:, :-k], x[:, -k:]
        outside = np.maximum(np.maximum(-interval, interval - length), 0.0).max(axis=1)
        return np.maximum(residual(keys["base"], base), outside)
    raise AssertionError(f"no residual for {kind}")


SURFACES = [
    {"type": "sphere", "dim": 1, "radius": 0.5},
    {"type": "sphere", "dim": 2, "radius": 1.0},
    {"type": "sphere", "dim": 3, "radius": 2.5},
    {"type": "sphere", "dim": 6, "radius": 1.0},
    {"type": "hemisphere", "radius": 1.7},
    {"type": "disk", "radius": 3.0},
    {"type": "torus", "R": 2.0, "r": 1.0},
    {"type": "torus", "R": 1.0, "r": 0.9},
    {"type": "klein_bottle", "R": 2.0, "r": 1.0},
    {"type": "mobius", "radius": 1.0, "width": 0.8},
    {"type": "mobius", "radius": 2.0, "width": 3.5},
    {"type": "swiss_roll"},
    {"type": "swiss_roll", "start_turns": 0.0, "turns": 3.0, "height": 2.0},
    {"type": "s_curve", "height": 5.0},
    {"type": "graph_surface", "function": {"type": "paraboloid", "curvature": -0.7}, "extent": 1.5},
    {"type": "graph_surface", "function": {"type": "saddle", "curvature": 0.5}},
    {"type": "graph_surface", "function": {"type": "gaussian_bump", "height": 2.0, "width": 0.3}},
    {"type": "graph_surface", "function": {"type": "sine_ripple", "amplitude": 0.3, "frequency": 7.0}},
    {"type": "product_with_interval", "base": {"type": "sphere", "radius": 1.0}, "length": 1.0},
    {"type": "product_with_interval", "base": {"type": "disk", "radius": 2.0}, "length": 0.5, "intervals": 3},
    {"type": "product_with_interval", "base": {"type": "torus"}, "length": 2.0, "intervals": 2},
]
"""Parameters for residual tests: defaults, extreme shapes (r close to R), high dimensions."""

CIRCLE_PRODUCTS = [  # a curve times an interval: the only products with a triangle mesh
    {"type": "product_with_interval", "base": {"type": "circle", "radius": 1.5}, "length": 2.0},
]


def identifier(keys: dict) -> str:
    extra = ",".join(f"{k}={v}" for k, v in keys.items() if k != "type" and not isinstance(v, dict))
    nested = [v["type"] for v in keys.values() if isinstance(v, dict)]
    return f"{keys['type']}[{','.join(nested)}{';' if nested and extra else ''}{extra}]"


# ---------------------------------------------------------------- samples on the manifold
@pytest.mark.parametrize("measure", ["volume", "parameter"])
@pytest.mark.parametrize("keys", SURFACES, ids=identifier)
def test_samples_satisfy_the_defining_equations(keys, measure):
    manifold = make({**keys, "measure": measure})
    points, parameters = manifold.sample_with_parameters(2000, seed=4)
    assert points.shape == (2000, manifold.ambient_dim) and points.dtype == np.float64
    assert parameters.shape == (2000, manifold.intrinsic_dim)
    assert residual(keys, points).max() < TOLERANCE
    np.testing.assert_allclose(manifold.points_at(parameters), points, rtol=0, atol=1e-12)


@pytest.mark.parametrize("keys", [{"type": "circle", "radius": 1.5}], ids=["circle"])
def test_curve_times_interval_samples_lie_on_the_cylinder(keys):
    product = make({"type": "product_with_interval", "base": keys, "length": 2.0})
    x = product.sample(2000, seed=1)
    assert np.abs(np.hypot(x[:, 0], x[:, 1]) - 1.5).max() < TOLERANCE
    assert x[:, 2].min() >= 0.0 and x[:, 2].max() <= 2.0


@pytest.mark.parametrize(
    "keys", [{"type": "torus"}, {"type": "klein_bottle"}, {"type": "sphere", "dim": 3}], ids=identifier
)
def test_isometric_embedding_keeps_samples_on_the_manifold(keys):
    lifted = make({**keys, "embed": {"ambient_dim": 9}})
    points = lifted.sample(1000, seed=2)
    assert points.shape == (1000, 9)
    natural = lifted.natural_coordinates(points)
    assert residual(keys, natural).max() < TOLERANCE
    # The lift is isometric: the points lie in a natural_dim-dimensional subspace, distances kept.
    np.testing.assert_allclose(natural @ lifted.embedding_frame, points, atol=1e-12)
    same = make(keys).sample(1000, seed=2)
    np.testing.assert_allclose(spatial.distance.pdist(natural[:200]), spatial.distance.pdist(same[:200]), atol=1e-12)


def test_samples_are_reproducible_and_seeded():
    torus = make({"type": "torus"})
    np.testing.assert_array_equal(torus.sample(100, seed=5), torus.sample(100, seed=5))
    assert not np.allclose(torus.sample(100, seed=5), torus.sample(100, seed=6))


def test_normal_noise_on_the_sphere_is_radial():
    sphere = make({"type": "sphere", "noise": {"type": "gaussian", "std": 0.05, "direction": "normal"}})
    drawn = sphere.draw(2000, seed=3)
    offset = drawn.points - drawn.clean
    radial = np.einsum("ij,ij->i", offset, drawn.clean)[:, None] * drawn.clean  # |clean| = 1
    np.testing.assert_allclose(offset, radial, atol=1e-12)
    assert np.std(np.linalg.norm(drawn.points, axis=1) - 1.0) == pytest.approx(0.05, rel=0.1)


# ---------------------------------------------------------------- the volume measure
KS_LEVEL = 0.01
"""At a fixed seed, a correct measure must not be rejected at this level ..."""
REJECT_LEVEL = 1e-6
"""... and a measure that differs where it should is rejected far beyond it."""


def test_sphere_height_is_uniform_archimedes():
    for measure, uniform in (("volume", True), ("parameter", False)):
        z = make({"type": "sphere", "radius": 2.0, "measure": measure}).sample(5000, seed=11)[:, 2]
        pvalue = stats.kstest(z, stats.uniform(loc=-2.0, scale=4.0).cdf).pvalue
        assert pvalue > KS_LEVEL if uniform else pvalue < REJECT_LEVEL


@pytest.mark.parametrize("dim", [1, 3, 5])
def test_sphere_coordinate_squared_is_beta(dim):
    """For x uniform on S^m, x_k^2 ~ Beta(1/2, m/2) for every coordinate k."""
    x = make({"type": "sphere", "dim": dim}).sample(5000, seed=dim)
    for k in (0, dim):
        assert stats.kstest(x[:, k] ** 2, stats.beta(0.5, dim / 2.0).cdf).pvalue > KS_LEVEL


def test_von_mises_fisher_on_the_sphere_has_the_exponential_height():
    """vMF(mu = e_3, kappa) on S^2: the height z has density ∝ exp(kappa z) on [-1, 1]."""
    kappa = 3.0
    x = make(
        {"type": "sphere", "measure": {"type": "von_mises_fisher", "mean_direction": [0, 0, 1], "concentration": kappa}}
    ).sample(5000, seed=5)
    assert np.abs(np.linalg.norm(x, axis=1) - 1.0).max() < TOLERANCE

    def height_cdf(z):
        return (np.exp(kappa * z) - np.exp(-kappa)) / (np.exp(kappa) - np.exp(-kappa))

    assert stats.kstest(x[:, 2], height_cdf).pvalue > KS_LEVEL
    assert stats.kstest(np.arctan2(x[:, 1], x[:, 0]), stats.uniform(loc=-np.pi, scale=2 * np.pi).cdf).pvalue > KS_LEVEL


def test_hemisphere_height_is_uniform():
    for measure, uniform in (("volume", True), ("parameter", False)):
        z = make({"type": "hemisphere", "radius": 1.5, "measure": measure}).sample(5000, seed=2)[:, 2]
        pvalue = stats.kstest(z, stats.uniform(loc=0.0, scale=1.5).cdf).pvalue
        assert pvalue > KS_LEVEL if uniform else pvalue < REJECT_LEVEL


def test_disk_radius_squared_is_uniform():
    for measure, uniform in (("volume", True), ("parameter", False)):
        x = make({"type": "disk", "radius": 2.0, "measure": measure}).sample(5000, seed=3)
        pvalue = stats.kstest(np.sum(x * x, axis=1), stats.uniform(loc=0.0, scale=4.0).cdf).pvalue
        assert pvalue > KS_LEVEL if uniform else pvalue < REJECT_LEVEL
        angle = np.arctan2(x[:, 1], x[:, 0])
        assert stats.kstest(angle, stats.uniform(loc=-np.pi, scale=2 * np.pi).cdf).pvalue > KS_LEVEL


def test_torus_tube_angle_has_the_area_density():
    """Read v off the points: density (R + r cos v) / (2 pi R), CDF (R v + r sin v) / (2 pi R)."""
    big_r, r = 2.0, 1.5

    def tube_cdf(v):
        return (big_r * v + r * np.sin(v)) / (2 * np.pi * big_r)

    for measure, area in (("volume", True), ("parameter", False)):
        x = make({"type": "torus", "R": big_r, "r": r, "measure": measure}).sample(8000, seed=7)
        v = np.mod(np.arctan2(x[:, 2], np.hypot(x[:, 0], x[:, 1]) - big_r), 2 * np.pi)
        pvalue = stats.kstest(v, tube_cdf).pvalue
        assert pvalue > KS_LEVEL if area else pvalue < REJECT_LEVEL
        u = np.arctan2(x[:, 1], x[:, 0])
        assert stats.kstest(u, stats.uniform(loc=-np.pi, scale=2 * np.pi).cdf).pvalue > KS_LEVEL


def test_swiss_roll_arc_length_position_is_uniform():
    """Uniform in area: the arc length along the spiral (written out here) is uniform."""

    def spiral_length(theta):  # ∫_0^θ sqrt(1 + t^2) dt
        return 0.5 * (theta * np.sqrt(1.0 + theta**2) + np.log(theta + np.sqrt(1.0 + theta**2)))

    low, high = 1.5 * np.pi, 4.5 * np.pi
    total = spiral_length(high) - spiral_length(low)
    for measure, area in (("volume", True), ("parameter", False)):
        x = make({"type": "swiss_roll", "measure": measure}).sample(5000, seed=8)
        s = spiral_length(np.hypot(x[:, 0], x[:, 2])) - spiral_length(low)
        pvalue = stats.kstest(s, stats.uniform(loc=0.0, scale=total).cdf).pvalue
        assert pvalue > KS_LEVEL if area else pvalue < REJECT_LEVEL
        assert stats.kstest(x[:, 1], stats.uniform(loc=0.0, scale=21.0).cdf).pvalue > KS_LEVEL


def numerical_area_element(manifold, parameters: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """sqrt(det(J^T J)) with J by central differences of ``points_at`` (independent of the code)."""
    columns = []
    for j in range(parameters.shape[1]):
        offset = np.zeros_like(parameters)
        offset[:, j] = step
        columns.append((manifold.points_at(parameters + offset) - manifold.points_at(parameters - offset)) / (2 * step))
    jacobian = np.stack(columns, axis=2)  # shape=[n, D, m]
    return np.sqrt(np.linalg.det(np.einsum("ndi,ndj->nij", jacobian, jacobian)))


def cell_masses(manifold, cells: int, order: int = 10) -> np.ndarray:
    """∫ over each of cells x cells parameter boxes of the numerical area element (Gauss-Legendre)."""
    box = manifold.parameter_box
    nodes, weights = np.polynomial.legendre.leggauss(order)
    masses = np.empty((cells, cells))
    edges = [np.linspace(low, high, cells + 1) for low, high in box]
    for i in range(cells):
        for j in range(cells):
            (a0, a1), (b0, b1) = edges[0][i : i + 2], edges[1][j : j + 2]
            s = 0.5 * (a0 + a1) + 0.5 * (a1 - a0) * nodes
            t = 0.5 * (b0 + b1) + 0.5 * (b1 - b0) * nodes
            grid = np.stack(np.meshgrid(s, t, indexing="ij"), axis=-1).reshape(-1, 2)
            w = np.outer(weights, weights).ravel() * 0.25 * (a1 - a0) * (b1 - b0)
            masses[i, j] = np.dot(numerical_area_element(manifold, grid), w)
    return masses


REJECTION_SAMPLED = [
    {"type": "torus", "R": 1.0, "r": 0.8},
    {"type": "klein_bottle", "R": 1.5, "r": 1.0},
    {"type": "mobius", "radius": 1.0, "width": 1.8},
    {"type": "swiss_roll", "start_turns": 0.0, "turns": 2.0},
    {"type": "graph_surface", "function": {"type": "paraboloid", "curvature": 1.0}},
    {"type": "graph_surface", "function": {"type": "sine_ripple", "amplitude": 0.5, "frequency": 4.0}},
]


@pytest.mark.parametrize("keys", REJECTION_SAMPLED, ids=identifier)
def test_volume_measure_puts_area_mass_in_every_cell(keys):
    """Chi-square: counts in a 6 x 6 grid of parameter cells against each cell's share of the area.

    The expected shares come from quadrature of sqrt(det(J^T J)) of the numerically
    differentiated parameterisation; ``measure: parameter`` (cell shares equal) is rejected.
    """
    cells, n = 6, 12000
    volume_sampled = make({**keys, "measure": "volume"})
    masses = cell_masses(volume_sampled, cells)
    assert masses.sum() == pytest.approx(volume_sampled.volume, rel=1e-8)
    box = volume_sampled.parameter_box
    for measure, area in (("volume", True), ("parameter", False)):
        _, t = make({**keys, "measure": measure}).sample_with_parameters(n, seed=9)
        counts, _, _ = np.histogram2d(t[:, 0], t[:, 1], bins=cells, range=box)
        expected = n * masses.ravel() / masses.sum()
        pvalue = stats.chisquare(counts.ravel(), expected).pvalue
        assert pvalue > KS_LEVEL if area else pvalue < REJECT_LEVEL


@pytest.mark.parametrize(
    "keys",
    [*REJECTION_SAMPLED, {"type": "hemisphere", "radius": 2.0}, {"type": "disk"}, {"type": "s_curve"}],
    ids=identifier,
)
def test_area_element_matches_the_jacobian(keys):
    manifold = make(keys)
    rng = np.random.default_rng(0)
    box = manifold.parameter_box
    t = box[:, 0] + (box[:, 1] - box[:, 0]) * (0.01 + 0.98 * rng.random((200, 2)))  # off the seams
    s_curve_kink = keys["type"] == "s_curve"
    if s_curve_kink:
        t = t[np.abs(t[:, 0]) > 1e-3]
    np.testing.assert_allclose(manifold.area_element(t), numerical_area_element(manifold, t), rtol=1e-7)
    assert manifold.area_element(t).max() <= manifold.area_element_bound


# ---------------------------------------------------------------- areas and topology
def test_closed_form_volumes():
    for m, radius in ((1, 2.0), (2, 1.5), (3, 1.0), (7, 0.5)):
        expected = 2 * np.pi ** ((m + 1) / 2) / special.gamma((m + 1) / 2) * radius**m
        assert make({"type": "sphere", "dim": m, "radius": radius}).volume == pytest.approx(expected, rel=1e-12)
    assert make({"type": "sphere", "radius": 1.5}).area == pytest.approx(4 * np.pi * 1.5**2, rel=1e-12)
    assert make({"type": "hemisphere", "radius": 2.0}).area == pytest.approx(8 * np.pi, rel=1e-12)
    assert make({"type": "disk", "radius": 2.0}).area == pytest.approx(4 * np.pi, rel=1e-12)
    assert make({"type": "torus", "R": 3.0, "r": 0.5}).area == pytest.approx(4 * np.pi**2 * 1.5, rel=1e-12)
    assert make({"type": "s_curve", "height": 2.0}).area == pytest.approx(6 * np.pi, rel=1e-12)


@pytest.mark.parametrize("keys", REJECTION_SAMPLED[:5], ids=identifier)
def test_area_agrees_with_scipy_quadrature(keys):
    manifold = make(keys)
    box = manifold.parameter_box
    value, _ = integrate.dblquad(
        lambda t1, t0: float(numerical_area_element(manifold, np.array([[t0, t1]]))[0]),
        box[0, 0],
        box[0, 1],
        box[1, 0],
        box[1, 1],
        epsabs=1e-9,
        epsrel=1e-9,
    )
    assert manifold.area == pytest.approx(value, rel=1e-6)


def test_area_of_a_narrow_bump_agrees_with_fine_quadrature():
    """The package's panels must resolve a bump much narrower than the domain."""
    bump = make(
        {"type": "graph_surface", "function": {"type": "gaussian_bump", "height": 2.0, "width": 0.1}, "extent": 2.0}
    )
    assert bump.area == pytest.approx(cell_masses(bump, 40, order=16).sum(), rel=1e-8)
    assert bump.area > 16.0  # the flat square alone has area 16


TOPOLOGY = [
    # keys, Euler characteristic, boundary circles, orientable, genus (handles or cross-caps)
    ({"type": "sphere"}, 2, 0, True, 0),
    ({"type": "hemisphere"}, 1, 1, True, 0),
    ({"type": "disk"}, 1, 1, True, 0),
    ({"type": "torus"}, 0, 0, True, 1),
    ({"type": "klein_bottle"}, 0, 0, False, 2),
    ({"type": "mobius"}, 0, 1, False, 1),
    ({"type": "swiss_roll"}, 1, 1, True, 0),
    ({"type": "s_curve"}, 1, 1, True, 0),
    ({"type": "graph_surface", "function": {"type": "saddle", "curvature": 0.5}}, 1, 1, True, 0),
    ({"type": "product_with_interval", "base": {"type": "circle"}}, 0, 2, True, 0),
    ({"type": "product_with_interval", "base": {"type": "archimedean_spiral"}}, 1, 1, True, 0),
]


@pytest.mark.parametrize(
    "keys, chi, boundary, orientable, genus", TOPOLOGY, ids=[identifier(row[0]) for row in TOPOLOGY]
)
def test_mesh_has_the_surface_topology(keys, chi, boundary, orientable, genus):
    manifold = make(keys)
    assert (manifold.euler_characteristic, manifold.boundary_components) == (chi, boundary)
    assert (manifold.orientable, manifold.genus) == (orientable, genus)
    assert manifold.intrinsic_dim == 2
    for resolution in (3, 8, 21):
        vertices, faces = manifold.mesh(resolution)
        topology = mesh_topology(faces)
        assert topology.non_manifold_edges == 0 and topology.components == 1
        assert topology.euler_characteristic == chi
        assert topology.boundary_loops == boundary
        assert topology.closed == (boundary == 0)  # watertight exactly when closed
        assert topology.orientable == orientable and topology.genus == genus
        if orientable:
            assert topology.consistently_wound
        assert topology.vertices == vertices.shape[0]  # every vertex is used
        assert triangle_areas(vertices, faces).min() > 0.0


MESHED = [keys for keys, *_ in TOPOLOGY]


@pytest.mark.parametrize("keys", MESHED, ids=identifier)
def test_mesh_converges_to_the_surface(keys):
    """Vertices on the surface, area error O(resolution^-2), Hausdorff distance falling."""
    manifold = make(keys)
    dense = manifold.sample(4000, seed=1)
    errors, distances = [], []
    for resolution in (8, 16, 32, 64):
        vertices, faces = manifold.mesh(resolution)
        if keys["type"] != "product_with_interval" or keys["base"]["type"] == "circle":
            check = keys if keys["type"] != "product_with_interval" else {**keys, "base": {"type": "sphere", "dim": 1}}
            assert residual(check, vertices).max() < TOLERANCE
        errors.append(abs(triangle_areas(vertices, faces).sum() - manifold.area))
        distances.append(spatial.cKDTree(vertices).query(dense)[0].max())
    assert errors[-1] < 2e-3 * manifold.area
    for coarse, fine in itertools.pairwise(errors):
        assert fine < coarse / 3.0  # doubling the resolution divides the error by about 4
    assert all(fine < coarse for coarse, fine in itertools.pairwise(distances))


def test_mesh_vertices_are_embedded_like_the_samples():
    lifted = make({"type": "klein_bottle", "embed": {"ambient_dim": 6}})
    vertices, faces = lifted.mesh(16)
    assert vertices.shape[1] == 6
    assert residual({"type": "klein_bottle"}, lifted.natural_coordinates(vertices)).max() < TOLERANCE
    natural_vertices, natural_faces = make({"type": "klein_bottle"}).mesh(16)
    np.testing.assert_array_equal(faces, natural_faces)
    np.testing.assert_allclose(triangle_areas(vertices, faces), triangle_areas(natural_vertices, faces), rtol=1e-10)


def test_mesh_counts_of_a_uv_sphere():
    vertices, faces = make({"type": "sphere"}).mesh(10)
    # 9 inner rings of 10 vertices plus 2 poles; 10 cells per ring band, 2 triangles each, minus the pole fans' halves.
    assert vertices.shape == (9 * 10 + 2, 3)
    assert faces.shape == (2 * 10 * 10 - 2 * 10, 3)


def test_product_ground_truth():
    cylinder = make({"type": "product_with_interval", "base": {"type": "circle", "radius": 2.0}, "length": 3.0})
    assert cylinder.intrinsic_dim == 2 and cylinder.ambient_dim == 3
    assert cylinder.area == pytest.approx(2 * np.pi * 2.0 * 3.0, rel=1e-12)
    thick_sphere = make(
        {"type": "product_with_interval", "base": {"type": "sphere", "dim": 3}, "intervals": 2, "length": 0.5}
    )
    assert thick_sphere.intrinsic_dim == 5 and thick_sphere.ambient_dim == 6
    assert thick_sphere.volume == pytest.approx(2 * np.pi**2 * 0.25, rel=1e-12)
    assert thick_sphere.euler_characteristic == 0 and thick_sphere.boundary_components == 1
    assert isinstance(cylinder, ProductWithInterval)


def test_product_volume_measure_is_the_product_measure():
    """Spiral x interval: arc-length position along the base and the interval coordinate uniform."""
    product = make({"type": "product_with_interval", "base": {"type": "archimedean_spiral", "turns": 3}, "length": 2.0})
    _, t = product.sample_with_parameters(5000, seed=4)
    base = product.base
    s = base.arc_length(t[:, 0])
    assert stats.kstest(s, stats.uniform(loc=0.0, scale=base.length).cdf).pvalue > KS_LEVEL
    assert stats.kstest(t[:, 1], stats.uniform(loc=0.0, scale=2.0).cdf).pvalue > KS_LEVEL
    by_parameter = make(
        {"type": "product_with_interval", "base": {"type": "archimedean_spiral", "turns": 3}, "measure": "parameter"}
    )
    _, t = by_parameter.sample_with_parameters(5000, seed=4)
    assert stats.kstest(base.arc_length(t[:, 0]), stats.uniform(loc=0.0, scale=base.length).cdf).pvalue < REJECT_LEVEL


def test_every_surface_type_is_built_by_make():
    expected = {
        "sphere": Sphere,
        "hemisphere": Hemisphere,
        "disk": Disk,
        "torus": Torus,
        "klein_bottle": KleinBottle,
        "mobius": Mobius,
        "swiss_roll": SwissRoll,
        "s_curve": SCurve,
        "graph_surface": GraphSurface,
        "product_with_interval": ProductWithInterval,
    }
    for name, cls in expected.items():
        manifold = make({"type": name})
        assert type(manifold) is cls
        assert manifold.intrinsic_dim == 2 and manifold.sample(3, seed=0).shape == (3, manifold.ambient_dim)
        assert len(manifold.parameter_names) == 2


# ---------------------------------------------------------------- bad parameters
@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "sphere", "radius": -1.0}, ("radius",), "greater than 0. Received: -1"),
        ({"type": "hemisphere", "radius": 0}, ("radius",), "greater than 0. Received: 0"),
        ({"type": "disk", "radius": -2}, ("radius",), "Received: -2"),
        ({"type": "sphere", "dim": 0}, ("dim",), "Received: 0"),
        ({"type": "torus", "R": 1.0, "r": 1.0}, ("r",), r"expected r < R = 1.0 .* Received: r=1.0, R=1.0"),
        ({"type": "torus", "R": 1.0, "r": 3.0}, ("r",), "Received: r=3.0"),
        ({"type": "klein_bottle", "R": 0.5}, ("r",), "expected r < R"),
        ({"type": "mobius", "radius": 1.0, "width": 2.0}, ("width",), r"expected width < 2 \* radius"),
        ({"type": "swiss_roll", "turns": 0}, ("turns",), "Received: 0"),
        ({"type": "swiss_roll", "start_turns": -1}, ("start_turns",), "Received: -1"),
        ({"type": "graph_surface", "extent": 0}, ("extent",), "Received: 0"),
        ({"type": "graph_surface", "function": {"type": "cubic"}}, ("function", "type"), "paraboloid"),
        (
            {"type": "graph_surface", "function": {"type": "saddle", "curvatur": 1}},
            ("function", "curvatur"),
            "curvature",
        ),
        ({"type": "product_with_interval", "intervals": 0}, ("intervals",), "Received: 0"),
        ({"type": "product_with_interval", "length": -1}, ("length",), "Received: -1"),
        ({"type": "sphere", "embed": {"ambient_dim": 2}}, ("embed", "ambient_dim"), "at least 3"),
        ({"type": "sphere", "dim": 4, "embed": {"ambient_dim": 4}}, ("embed", "ambient_dim"), "at least 5"),
        ({"type": "klein_bottle", "embed": {"ambient_dim": 3}}, ("embed", "ambient_dim"), "at least 4"),
        ({"type": "disk", "embed": {"ambient_dim": 1}}, ("embed", "ambient_dim"), "at least 2"),
    ],
)
def test_bad_parameters_name_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path


@pytest.mark.parametrize(
    "base, path, message",
    [
        ({"type": "circle", "radius": -1}, ("base", "radius"), "Received: -1"),
        ({"type": "torus", "r": 5}, ("base", "r"), "expected r < R"),
        ({"type": "circle", "noise": {"std": 0.1}}, ("base", "noise"), "expected no noise on the base"),
        ({"type": "circle", "measure": "parameter"}, ("base", "measure"), "left at 'volume'"),
        ({"type": "sphere", "embed": {"ambient_dim": 2}}, ("base", "embed", "ambient_dim"), "at least 3"),
    ],
)
def test_bad_product_base_names_the_key_under_base(base, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make({"type": "product_with_interval", "base": base})
    assert info.value.path == path


def test_mesh_of_a_manifold_that_is_not_a_surface_is_an_error():
    with pytest.raises(SpecError, match="dim=3") as info:
        make({"type": "sphere", "dim": 3}).mesh(8)
    assert info.value.path == ("dim",)
    with pytest.raises(SpecError, match="curve times one interval") as info:
        make({"type": "product_with_interval", "base": {"type": "disk"}}).mesh(8)
    assert info.value.path == ("base", "type")
    with pytest.raises(ValueError, match="Received: resolution=2"):
        make({"type": "torus"}).mesh(2)


# ---------------------------------------------------------------- shipped example specs
SHIPPED = [
    "sphere",
    "hemisphere",
    "disk",
    "torus",
    "klein_bottle",
    "mobius",
    "swiss_roll",
    "s_curve",
    "graph_surface",
    "product_with_interval",
    "mesh",
]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_spec_validates_and_builds_its_manifold(name, monkeypatch):
    from pathlib import Path

    from geokeras import load_spec

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)  # the mesh spec's path is relative to the repository root
    spec = load_spec(root / "specs" / "manifolds" / f"{name}.yaml")
    assert spec.manifold.type == name
    manifold = make(spec.manifold)
    assert manifold.intrinsic_dim == 2 and manifold.sample(5, seed=0).shape == (5, manifold.ambient_dim)
    assert {evaluator.type for evaluator in spec.evaluate} == {"reconstruction", "manifold_stats"}
    assert spec.model.latent_dim == 2
