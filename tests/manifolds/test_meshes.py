"""Triangle meshes: OBJ / PLY / OFF loading, scale normalisation, area sampling, topology, errors."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.meshes import (
    MeshSurface,
    load_triangle_mesh,
    mesh_edges,
    mesh_topology,
    triangle_areas,
)

ROOT = Path(__file__).resolve().parents[2]
CUP = ROOT / "specs" / "data" / "bumpy_cup.obj"

# The regular octahedron {|x|_1 = 1}: 6 vertices ±e_i, 8 faces wound outwards.
OCTAHEDRON_VERTICES = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
OCTAHEDRON_FACES = np.array(
    [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]], dtype=np.int64
)
OCTAHEDRON_AREA = 8 * np.sqrt(3) / 2  # 8 equilateral triangles of side sqrt(2)

# A tetrahedron with faces of very different areas (for the area-proportional sampling test).
TETRAHEDRON_VERTICES = np.array([[0, 0, 0], [4, 0, 0], [0, 1, 0], [0, 0, 0.5]], dtype=float)
TETRAHEDRON_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], dtype=np.int64)


# ---------------------------------------------------------------- writers (independent of trimesh)
def write_obj(path: Path, vertices, faces, *, quads=None) -> Path:
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in np.asarray(vertices).tolist()]
    lines += ["vt 0 0", "vn 0 0 1"]
    lines += [f"f {a + 1}/1/1 {b + 1}/1/1 {c + 1}/1/1" for a, b, c in np.asarray(faces).tolist()]
    lines += [f"f {' '.join(str(i + 1) for i in quad)}" for quad in (quads or [])]
    path.write_text("# test mesh\n" + "\n".join(lines) + "\n")
    return path


def write_off(path: Path, vertices, faces) -> Path:
    vertices, faces = np.asarray(vertices), np.asarray(faces)
    lines = ["OFF", f"{len(vertices)} {len(faces)} 0"]
    lines += [" ".join(repr(float(c)) for c in v) for v in vertices]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ply(path: Path, vertices, faces, *, binary: bool = False) -> Path:
    vertices, faces = np.asarray(vertices, dtype=float), np.asarray(faces)
    header = [
        "ply",
        "format binary_little_endian 1.0" if binary else "format ascii 1.0",
        f"element vertex {len(vertices)}",
        "property float x",
        "property float y",
        "property float z",
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    head = ("\n".join(header) + "\n").encode("ascii")
    if binary:
        body = b"".join(struct.pack("<3f", *v) for v in vertices)
        body += b"".join(struct.pack("<B3i", 3, *f) for f in faces.tolist())
    else:
        body = "".join(" ".join(repr(float(c)) for c in v) + "\n" for v in vertices).encode("ascii")
        body += "".join(f"3 {a} {b} {c}\n" for a, b, c in faces.tolist()).encode("ascii")
    path.write_bytes(head + body)
    return path


def face_set(vertices: np.ndarray, faces: np.ndarray) -> set:
    """Faces as sets of rounded corner coordinates: comparable across any vertex numbering."""
    return {frozenset(tuple(np.round(vertices[i], 6)) for i in face) for face in faces}


WRITERS = {
    "obj": lambda p, v, f: write_obj(p / "m.obj", v, f),
    "off": lambda p, v, f: write_off(p / "m.off", v, f),
    "ply": lambda p, v, f: write_ply(p / "m.ply", v, f),
    "ply_binary": lambda p, v, f: write_ply(p / "m.ply", v, f, binary=True),
}


# ---------------------------------------------------------------- loading
@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_each_format_loads_the_octahedron(tmp_path, fmt):
    path = WRITERS[fmt](tmp_path, OCTAHEDRON_VERTICES, OCTAHEDRON_FACES)
    vertices, faces = load_triangle_mesh(path)
    assert vertices.shape == (6, 3) and faces.shape == (8, 3) and faces.dtype == np.int64
    assert face_set(vertices, faces) == face_set(OCTAHEDRON_VERTICES, OCTAHEDRON_FACES)
    assert triangle_areas(vertices, faces).sum() == pytest.approx(OCTAHEDRON_AREA, rel=1e-6)
    topology = mesh_topology(faces)
    assert topology.closed and topology.euler_characteristic == 2 and topology.genus == 0
    assert topology.orientable and topology.consistently_wound


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_normalised_octahedron_in_every_format(tmp_path, fmt):
    """Shifted and scaled by 5: after normalisation centred, box diagonal 1, area A / d^2."""
    path = WRITERS[fmt](tmp_path, 5.0 * OCTAHEDRON_VERTICES + [1.0, -2.0, 3.0], OCTAHEDRON_FACES)
    octahedron = make({"type": "mesh", "path": str(path)})
    vertices, faces = octahedron.mesh()
    diagonal = 10.0 * np.sqrt(3.0)  # the file's box is [-5, 5]^3 shifted
    np.testing.assert_allclose(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(octahedron.centre, [1.0, -2.0, 3.0], atol=1e-6)
    assert octahedron.scale == pytest.approx(1.0 / diagonal, rel=1e-12)
    expected_area = 25.0 * OCTAHEDRON_AREA / diagonal**2
    assert octahedron.area == pytest.approx(expected_area, rel=1e-6)
    assert triangle_areas(vertices, faces).sum() == pytest.approx(expected_area, rel=1e-6)
    # Samples of the normalised octahedron lie on {|x|_1 = 5 / diagonal}.
    x = octahedron.sample(2000, seed=0)
    np.testing.assert_allclose(np.abs(x).sum(axis=1), 5.0 / diagonal, atol=1e-6)


def test_without_normalisation_the_file_coordinates_are_kept(tmp_path):
    path = write_off(tmp_path / "o.off", 2.0 * OCTAHEDRON_VERTICES, OCTAHEDRON_FACES)
    octahedron = make({"type": "mesh", "path": str(path), "normalise": False})
    assert octahedron.scale == 1.0 and np.all(octahedron.centre == 0.0)
    assert octahedron.area == pytest.approx(4.0 * OCTAHEDRON_AREA, rel=1e-12)
    x = octahedron.sample(5000, seed=1)
    assert np.abs(np.abs(x).sum(axis=1) - 2.0).max() < 1e-12  # the defining equation |x|_1 = 2
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)  # centred by symmetry


def test_normalised_samples_have_mean_near_zero():
    """The centre is the mean of the area measure: sample means vanish up to Monte-Carlo error."""
    cup = make({"type": "mesh", "path": str(CUP)})
    x = cup.sample(20000, seed=2)
    assert np.all(np.abs(x.mean(axis=0)) < 4.0 * x.std(axis=0) / np.sqrt(20000))


def test_quads_are_split_and_duplicate_vertices_merged(tmp_path):
    """A cube of side 2 with quad faces, plus a triangle soup of the octahedron (24 vertices)."""
    cube = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    path = tmp_path / "cube.obj"
    path.write_text(
        "\n".join(f"v {x} {y} {z}" for x, y, z in cube)
        + "\n"
        + "\n".join(f"f {' '.join(str(i + 1) for i in q)}" for q in quads)
        + "\n"
    )
    vertices, faces = load_triangle_mesh(path)
    assert vertices.shape == (8, 3) and faces.shape == (12, 3)
    assert triangle_areas(vertices, faces).sum() == pytest.approx(24.0, rel=1e-12)
    assert mesh_topology(faces).euler_characteristic == 2 and mesh_topology(faces).closed

    soup = OCTAHEDRON_VERTICES[OCTAHEDRON_FACES].reshape(-1, 3)
    vertices, faces = load_triangle_mesh(write_obj(tmp_path / "soup.obj", soup, np.arange(24).reshape(8, 3)))
    assert vertices.shape == (6, 3) and mesh_topology(faces).closed


def test_relative_paths_are_resolved_against_the_current_directory(tmp_path, monkeypatch):
    write_off(tmp_path / "o.off", OCTAHEDRON_VERTICES, OCTAHEDRON_FACES)
    monkeypatch.chdir(tmp_path)
    assert make({"type": "mesh", "path": "o.off"}).topology.faces == 8


# ---------------------------------------------------------------- sampling
def test_samples_lie_on_their_triangles():
    cup = make({"type": "mesh", "path": str(CUP)})
    x, t = cup.sample_with_parameters(3000, seed=3)
    vertices, faces = cup.mesh()
    corners = vertices[faces[np.floor(t[:, 0]).astype(int)]]  # shape=[n, 3, 3]
    # Barycentric coordinates by least squares (normal equations): x = A + c_1 (B - A) + c_2 (C - A).
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=2)  # [n, 3, 2]
    gram = np.einsum("nki,nkj->nij", edges, edges)
    coefficients = np.linalg.solve(gram, np.einsum("nki,nk->ni", edges, x - corners[:, 0])[..., None])[..., 0]
    off_plane = np.linalg.norm(np.einsum("nij,nj->ni", edges, coefficients) - (x - corners[:, 0]), axis=1)
    assert off_plane.max() < 1e-12
    assert coefficients.min() > -1e-12 and coefficients.sum(axis=1).max() < 1.0 + 1e-12
    np.testing.assert_allclose(cup.points_at(t), x, atol=0)


def test_volume_measure_is_proportional_to_face_area(tmp_path):
    path = write_off(tmp_path / "t.off", TETRAHEDRON_VERTICES, TETRAHEDRON_FACES)
    n = 20000
    for measure in ("volume", "parameter"):
        tetrahedron = make({"type": "mesh", "path": str(path), "measure": measure})
        vertices, faces = tetrahedron.mesh()
        areas = triangle_areas(vertices, faces)
        assert areas.max() / areas.min() > 4.0  # the test needs unequal faces
        _, t = tetrahedron.sample_with_parameters(n, seed=5)
        counts = np.bincount(np.floor(t[:, 0]).astype(int), minlength=4)
        by_area = stats.chisquare(counts, n * areas / areas.sum()).pvalue
        by_face = stats.chisquare(counts, np.full(4, n / 4)).pvalue
        if measure == "volume":
            assert by_area > 0.01 and by_face < 1e-6
        else:
            assert by_face > 0.01 and by_area < 1e-6


def test_volume_measure_on_the_cup_by_groups_of_faces():
    cup = make({"type": "mesh", "path": str(CUP)})
    vertices, faces = cup.mesh()
    areas = triangle_areas(vertices, faces)
    groups = np.arange(faces.shape[0]) * 24 // faces.shape[0]  # 24 groups of consecutive faces
    expected_share = np.bincount(groups, weights=areas) / areas.sum()
    _, t = cup.sample_with_parameters(24000, seed=6)
    counts = np.bincount(groups[np.floor(t[:, 0]).astype(int)], minlength=24)
    assert stats.chisquare(counts, 24000 * expected_share).pvalue > 0.01


def test_points_are_uniform_inside_a_triangle(tmp_path):
    """For a uniform point of a triangle each barycentric coordinate has density 2(1 - l): Beta(1, 2)."""
    path = write_off(tmp_path / "t.off", TETRAHEDRON_VERTICES, TETRAHEDRON_FACES)
    tetrahedron = make({"type": "mesh", "path": str(path), "normalise": False})
    x, t = tetrahedron.sample_with_parameters(20000, seed=7)
    face = np.floor(t[:, 0]).astype(int)
    vertices, faces = tetrahedron.mesh()
    base = np.all(np.isclose(vertices[faces][:, :, 2], 0.0), axis=1)  # the face in z = 0
    selected = base[face]
    points = x[selected]
    # Barycentric coordinate of the corner (0, 0, 0) of the triangle (0,0,0), (4,0,0), (0,1,0).
    weight_at_origin = 1.0 - points[:, 0] / 4.0 - points[:, 1]
    assert selected.sum() > 1000
    assert stats.kstest(weight_at_origin, stats.beta(1, 2).cdf).pvalue > 0.01
    assert stats.kstest(points[:, 1], stats.beta(1, 2).cdf).pvalue > 0.01


def test_embedding_preserves_the_mesh_area():
    cup = make({"type": "mesh", "path": str(CUP)})
    lifted = make({"type": "mesh", "path": str(CUP), "embed": {"ambient_dim": 7}})
    vertices, faces = lifted.mesh(32)
    assert vertices.shape == (2305, 7) and lifted.sample(10, seed=0).shape == (10, 7)
    assert triangle_areas(vertices, faces).sum() == pytest.approx(cup.area, rel=1e-12)


# ---------------------------------------------------------------- the shipped mesh
def test_shipped_cup_is_small_and_reproducible():
    spec = importlib.util.spec_from_file_location("make_mesh", ROOT / "scripts" / "make_mesh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vertices, faces = module.bumpy_cup()
    assert CUP.stat().st_size < 200_000
    assert CUP.read_bytes() == module.obj_text(vertices, faces).encode("ascii")


def test_shipped_cup_is_a_disk():
    cup = make({"type": "mesh", "path": str(CUP)})
    topology = cup.topology
    assert (topology.vertices, topology.faces) == (2305, 4536)
    assert topology.euler_characteristic == 1 and topology.boundary_loops == 1 and topology.components == 1
    assert topology.orientable and topology.genus == 0 and topology.non_manifold_edges == 0
    assert (cup.euler_characteristic, cup.boundary_components, cup.orientable, cup.genus) == (1, 1, True, 0)
    assert cup.intrinsic_dim == 2 and cup.ambient_dim == 3 and isinstance(cup, MeshSurface)


# ---------------------------------------------------------------- topology helpers
def test_topology_of_hand_made_meshes():
    edges, counts = mesh_edges(np.array([[0, 1, 2], [0, 2, 3]]))
    assert edges.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]] and counts.tolist() == [1, 2, 1, 1, 1]
    # A Möbius band of 5 triangles on 5 vertices (the minimal triangulation's strip).
    strip = np.array([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1]])
    band = mesh_topology(strip)
    assert (band.vertices, band.edges, band.faces, band.euler_characteristic) == (5, 10, 5, 0)
    assert band.boundary_loops == 1 and band.orientable is False and band.genus == 1
    two = mesh_topology(np.array([[0, 1, 2], [3, 4, 5]]))
    assert two.components == 2 and two.genus is None and two.boundary_loops == 2
    flipped = mesh_topology(np.array([[0, 1, 2], [0, 1, 3]]))  # orientable, stored inconsistently
    assert flipped.orientable and not flipped.consistently_wound


# ---------------------------------------------------------------- bad input
def text_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def non_manifold_obj(path: Path) -> Path:
    return write_obj(path, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, -1, 0]], [[0, 1, 2], [0, 1, 3], [0, 1, 4]])


BAD_FILES = {
    "missing": (lambda p: p / "absent.obj", "expected an existing mesh file. Received: path="),
    "extension": (lambda p: text_file(p / "m.stl", "solid s\nendsolid s\n"), "unsupported mesh format '.stl'"),
    "no_extension": (lambda p: text_file(p / "mesh", "OFF\n"), "unsupported mesh format '\\(no extension\\)'"),
    "malformed_off": (
        lambda p: text_file(p / "m.off", "OFF\n3 1 0\n0 0\n"),
        "could not read .* as a OFF mesh|expected a triangle mesh",
    ),
    "malformed_ply": (
        lambda p: text_file(p / "m.ply", "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n0\n"),
        "could not read .* as a PLY mesh|expected a triangle mesh",
    ),
    "text_as_obj": (lambda p: text_file(p / "m.obj", "hello, I am not a mesh\n"), "expected a triangle mesh"),
    "points_only": (lambda p: text_file(p / "m.obj", "v 0 0 0\nv 1 0 0\n"), "no triangles"),
    "non_manifold": (
        lambda p: non_manifold_obj(p / "m.obj"),
        "expected a manifold mesh .* 1 non-manifold edges .* lies in 3 triangles",
    ),
    "degenerate": (lambda p: write_off(p / "m.off", [[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]]), "positive area"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_mesh_files_are_spec_errors_at_manifold_path(tmp_path, case):
    make_file, message = BAD_FILES[case]
    path = make_file(tmp_path)
    with pytest.raises(SpecError, match=message) as info:
        make({"type": "mesh", "path": str(path)})
    assert info.value.path == ("path",)
    assert str(info.value).startswith("path: ")


def test_missing_or_empty_path_key():
    with pytest.raises(SpecError, match="missing required key 'path'") as info:
        make({"type": "mesh"})
    assert info.value.path == ("path",)
    with pytest.raises(SpecError) as info:
        make({"type": "mesh", "path": ""})
    assert info.value.path == ("path",)


def test_missing_relative_path_names_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="resolved against the current directory") as info:
        make({"type": "mesh", "path": "scans/buddha.ply"})
    assert "scans/buddha.ply" in str(info.value)


def test_bad_mesh_parameters(tmp_path):
    with pytest.raises(SpecError, match="at least 3") as info:
        make({"type": "mesh", "path": str(CUP), "embed": {"ambient_dim": 2}})
    assert info.value.path == ("embed", "ambient_dim")
    with pytest.raises(ValueError, match="resolution"):
        make({"type": "mesh", "path": str(CUP)}).mesh(0)


def test_normal_noise_moves_points_along_the_face_normal():
    noisy = make({"type": "mesh", "path": str(CUP), "noise": {"type": "gaussian", "std": 0.01, "direction": "normal"}})
    drawn = noisy.draw(3000, seed=8)
    vertices, faces = noisy.mesh()
    corners = vertices[faces[np.floor(drawn.parameters[:, 0]).astype(int)]]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    offset = drawn.points - drawn.clean
    along = np.einsum("ij,ij->i", offset, normals)
    np.testing.assert_allclose(offset, along[:, None] * normals, atol=1e-12)
    assert np.std(along) == pytest.approx(0.01, rel=0.05)


def test_parameters_outside_the_faces_are_rejected():
    cup = make({"type": "mesh", "path": str(CUP)})
    for bad in ([[-0.5, 0.5]], [[4536.5, 0.5]], [[3.0, 1.5]]):
        with pytest.raises(ValueError, match=r"Expected mesh parameters in \[0, 4536\] x \[0, 1\]"):
            cup.points_at(np.array(bad))
        with pytest.raises(ValueError, match="Expected mesh parameters"):
            cup.tangent_vectors(np.array(bad))
    np.testing.assert_allclose(cup.points_at(np.array([[4536.0, 0.0]])), cup.mesh()[0][[cup.mesh()[1][-1, 1]]])
