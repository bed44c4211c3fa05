"""Figures: each function writes a PNG matplotlib reads back, for 1-D to 5-D inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geokeras.report import figures
from geokeras.report.figures import plot_latent_codes, plot_manifold, plot_reconstruction, plot_training_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI = 40


def read_png(path: Path) -> np.ndarray:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return matplotlib.image.imread(path)


def assert_size(image: np.ndarray, inches: tuple[float, float]) -> None:
    height, width = image.shape[:2]
    assert abs(width - inches[0] * DPI) <= 2 and abs(height - inches[1] * DPI) <= 2, image.shape


def curve(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points of a helix-like curve in R^dim and their parameter, shape=[n, dim], [n, 1]."""
    t = np.sort(np.random.default_rng(seed).random(n)) * 4 * np.pi
    columns = [np.cos(t), np.sin(t), 0.1 * t, np.cos(2 * t), np.sin(3 * t)]
    return np.stack(columns[:dim], axis=1) * (1 + 0.1 * t[:, None]), t[:, None]


def test_training_curves(tmp_path):
    history = {
        "loss": list(np.exp(-np.arange(20) / 5.0)),
        "val_loss": list(1.2 * np.exp(-np.arange(20) / 5.0)),
        "mae": [1.0] * 20,
    }
    path = plot_training_curves(history, tmp_path / "loss.png", dpi=DPI)
    assert path == tmp_path / "loss.png"
    assert_size(read_png(path), figures.SINGLE_FIGSIZE)
    # A zero loss cannot go on a log axis: drawn linear instead, still a PNG.
    read_png(plot_training_curves({"loss": [1.0, 0.0]}, tmp_path / "linear.png", dpi=DPI))
    with pytest.raises(ValueError, match="'loss' series"):
        plot_training_curves({"val_loss": [1.0]}, tmp_path / "x.png", dpi=DPI)


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_reconstruction(tmp_path, dim):
    x, t = curve(500, dim)
    x_hat = 0.9 * x
    path = plot_reconstruction(x, x_hat, t, tmp_path / "nested" / f"rec{dim}.png", DPI, 200, parameter_label="theta")
    assert_size(read_png(path), figures.SINGLE_FIGSIZE if dim == 1 else figures.DOUBLE_FIGSIZE)


def test_reconstruction_without_parameters_and_with_nan(tmp_path):
    x, _ = curve(100, 2)
    x_hat = x.copy()
    x_hat[:10] = np.nan
    read_png(plot_reconstruction(x, x_hat, None, tmp_path / "rec.png", dpi=DPI))
    with pytest.raises(ValueError, match="same shape"):
        plot_reconstruction(x, x[:, :1], None, tmp_path / "bad.png", dpi=DPI)


@pytest.mark.parametrize("latent_dim", [1, 2, 4])
@pytest.mark.parametrize("with_parameters", [True, False])
def test_latent_codes(tmp_path, latent_dim, with_parameters):
    codes, t = curve(300, latent_dim, seed=1)
    path = plot_latent_codes(codes, t if with_parameters else None, tmp_path / "latent.png", DPI, 100)
    assert_size(read_png(path), figures.SINGLE_FIGSIZE)


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_manifold(tmp_path, dim):
    points, t = curve(400, dim, seed=2)
    two_parameters = np.c_[t, t**2]  # a surface would have two: coloured by the first
    path = plot_manifold(points, two_parameters, tmp_path / "manifold.png", DPI, 150)
    assert_size(read_png(path), figures.SINGLE_FIGSIZE)


def test_subsample_is_seeded_and_bounded():
    first = figures.subsample_indices(1000, 50, seed=3)
    np.testing.assert_array_equal(first, figures.subsample_indices(1000, 50, seed=3))
    assert len(first) == 50 and len(np.unique(first)) == 50 and np.all(np.diff(first) > 0)
    assert not np.array_equal(first, figures.subsample_indices(1000, 50, seed=4))
    np.testing.assert_array_equal(figures.subsample_indices(20, 50, seed=3), np.arange(20))


def test_validation_messages(tmp_path):
    points, t = curve(10, 2)
    with pytest.raises(ValueError, match="one row of `parameters` per point"):
        plot_manifold(points, t[:5], tmp_path / "m.png")
    with pytest.raises(ValueError, match=r"\.png"):
        plot_manifold(points, t, tmp_path / "m.jpg")
    with pytest.raises(ValueError, match="max_points=0"):
        plot_manifold(points, t, tmp_path / "m.png", max_points=0)


def test_importing_report_figures_does_not_import_matplotlib():
    code = "import sys, geokeras.report.figures, geokeras.report.markdown; assert 'matplotlib' not in sys.modules"
    import geokeras

    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(geokeras.__file__).resolve().parents[1])


# ----------------------------------------------------------------------------- the manifold figure
@pytest.fixture
def drawn(monkeypatch):
    """Figures passed to ``save_figure``, kept for inspection (each is still written as a PNG)."""
    saved = []
    original = figures.save_figure

    def keep(figure, path, dpi):
        saved.append(figure)
        return original(figure, path, dpi)

    monkeypatch.setattr(figures, "save_figure", keep)
    return saved


def scatter_of(figure):
    (axes,) = [axes for axes in figure.axes if axes.collections and axes.get_label() != "<colorbar>"]
    return axes, axes.collections[0]


@pytest.mark.parametrize("dim", [2, 3])
def test_manifold_is_coloured_by_the_first_parameter(tmp_path, drawn, dim):
    points, t = curve(300, dim, seed=5)
    parameters = np.c_[t, -t]  # the second column must not be the colour
    path = plot_manifold(points, parameters, tmp_path / "m.png", DPI, max_points=120, seed=2, parameter_label="theta")
    assert path.stat().st_size > 0 and read_png(path).size > 0
    axes, scatter = scatter_of(drawn[-1])
    keep = figures.subsample_indices(300, 120, seed=2)
    np.testing.assert_array_equal(scatter.get_array(), t[keep, 0])
    assert scatter.get_cmap().name == figures.CONTINUOUS_COLORMAP
    assert drawn[-1].axes[-1].get_ylabel() == "theta"  # the colour bar names the parameter
    if dim == 2:
        assert axes.name == "rectilinear"
        np.testing.assert_array_equal(scatter.get_offsets(), points[keep])
    else:
        assert axes.name == "3d"
        np.testing.assert_allclose(np.column_stack(scatter._offsets3d), points[keep])


def test_manifold_above_three_dimensions_is_its_pca_projection(tmp_path, drawn):
    from sklearn.decomposition import PCA

    points, t = curve(200, 5, seed=6)
    plot_manifold(points, t, tmp_path / "m.png", DPI, title="Data")
    axes, scatter = scatter_of(drawn[-1])
    assert axes.name == "3d" and "first 3 principal components" in axes.get_title()
    expected = PCA(n_components=3, svd_solver="full").fit_transform(points)
    np.testing.assert_allclose(np.column_stack(scatter._offsets3d), expected, atol=1e-9)
    assert (axes.get_xlabel(), axes.get_ylabel(), axes.get_zlabel()) == ("PC1", "PC2", "PC3")


def test_manifold_refuses_images_and_bad_shapes(tmp_path):
    with pytest.raises(
        ValueError, match=r"Received: shape=\[4, 8, 8, 1\], which looks like images: draw them with plot_image_grid"
    ):
        plot_manifold(np.zeros((4, 8, 8, 1)), None, tmp_path / "m.png")
    with pytest.raises(ValueError, match=r"n >= 1 .* Received: shape=\[0, 3\]"):
        plot_manifold(np.zeros((0, 3)), None, tmp_path / "m.png")


# ----------------------------------------------------------------------------- image grids
def test_mosaic_places_tiles_row_by_row():
    images = np.arange(3, dtype=np.float64).reshape(3, 1, 1, 1) + np.zeros((3, 2, 2, 1))  # tile i is all i
    mosaic = figures.image_mosaic(images, rows=2, columns=2, fill=-1.0)[..., 0]
    expected = np.array(
        [
            [0, 0, -1, 1, 1],
            [0, 0, -1, 1, 1],
            [-1, -1, -1, -1, -1],
            [2, 2, -1, -1, -1],
            [2, 2, -1, -1, -1],
        ],
        dtype=np.float64,
    )
    np.testing.assert_array_equal(mosaic, expected)


def test_mosaic_without_gap_puts_tiles_edge_to_edge():
    images = np.arange(3, dtype=np.float64).reshape(3, 1, 1, 1) + np.zeros((3, 2, 2, 1))
    mosaic = figures.image_mosaic(images, rows=2, columns=2, fill=-1.0, gap=0)[..., 0]
    expected = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, -1, -1], [2, 2, -1, -1]], dtype=np.float64)
    np.testing.assert_array_equal(mosaic, expected)


def test_image_grid_writes_data_and_reconstruction_panels(tmp_path, drawn):
    images = np.random.default_rng(0).random((10, 8, 8, 1))
    path = figures.plot_image_grid(
        images.reshape(10, 64),
        tmp_path / "grid.png",
        DPI,
        reconstructions=0.5 * images.reshape(10, 64),
        labels=np.arange(10) % 3,
        image_shape=(8, 8, 1),
        max_images=9,
    )
    assert path.stat().st_size > 0 and read_png(path).ndim == 3
    panels = [axes for axes in drawn[-1].axes if axes.images]
    assert [axes.get_title() for axes in panels] == ["Data (9 images, 8x8x1)", "Reconstruction (9 images, 8x8x1)"]
    shown = panels[0].images[0].get_array()
    assert shown.shape == (3 * 8, 3 * 8)  # tiles edge to edge, thin lines between them
    np.testing.assert_array_equal(shown[:8, :8], images[0, :, :, 0])
    np.testing.assert_array_equal(shown[8:16, 16:24], images[5, :, :, 0])  # tile 5: row 1, column 2
    assert sorted(line.get_xdata()[0] for line in panels[0].lines if line.get_xdata()[0] == line.get_xdata()[1]) == [
        7.5,
        15.5,
    ]
    assert not panels[0].axison and not panels[1].axison  # no frames, no ticks
    assert [text.get_text() for text in panels[0].texts] == [str(i % 3) for i in range(9)]


def test_image_grid_rejects_bad_shapes(tmp_path):
    path = tmp_path / "grid.png"
    with pytest.raises(ValueError, match=r"shape \[n, H, W, C\] or \[n, H, W\] .* Received: shape=\[5, 64\]"):
        figures.plot_image_grid(np.zeros((5, 64)), path)
    with pytest.raises(ValueError, match=r"63 values per image \(image_shape=\[7, 9\]\). Received: shape=\[5, 64\]"):
        figures.plot_image_grid(np.zeros((5, 64)), path, image_shape=(7, 9))
    with pytest.raises(ValueError, match="reconstructions of the same shape"):
        figures.plot_image_grid(np.zeros((5, 8, 8)), path, reconstructions=np.zeros((5, 4, 4)))
    with pytest.raises(ValueError, match=r"one label per image \(5\). Received: 2 labels"):
        figures.plot_image_grid(np.zeros((5, 8, 8)), path, labels=[1, 2])
    with pytest.raises(ValueError, match="max_images=0"):
        figures.plot_image_grid(np.zeros((5, 8, 8)), path, max_images=0)


# ----------------------------------------------------------------------------- formats and layout
@pytest.mark.parametrize(
    "suffix, magic", [(".svg", (b"<?xml", b"<svg")), (".pdf", (b"%PDF",)), (".png", (PNG_SIGNATURE,))]
)
def test_the_suffix_chooses_the_format(tmp_path, suffix, magic):
    path = plot_training_curves({"loss": [1.0, 0.5, 0.25]}, tmp_path / f"loss{suffix}", dpi=DPI)
    assert path.read_bytes().startswith(magic)
    again = plot_training_curves({"loss": [1.0, 0.5, 0.25]}, tmp_path / f"again{suffix}", dpi=DPI)
    assert again.read_bytes() == path.read_bytes()  # no date, fixed SVG ids: the same bytes


def test_figure_path_is_the_one_place_of_the_suffix(tmp_path):
    assert figures.figure_path(tmp_path, "manifold", "svg") == tmp_path / "manifold.svg"
    assert figures.figure_path(tmp_path, "manifold") == tmp_path / "manifold.png"
    with pytest.raises(ValueError, match=r"format in \['png', 'svg', 'pdf'\]. Received: 'jpg'"):
        figures.figure_path(tmp_path, "manifold", "jpg")
    with pytest.raises(ValueError, match="plain file name"):
        figures.figure_path(tmp_path, "../manifold", "png")
    with pytest.raises(ValueError, match=r"ending in .png, .svg, .pdf. Received: path='.*loss.jpg'"):
        plot_training_curves({"loss": [1.0]}, tmp_path / "loss.jpg")


def test_a_title_wider_than_the_figure_grows_the_saved_area_instead_of_being_clipped(tmp_path):
    figure = figures.new_figure((3.0, 2.0))
    figure.add_subplot().set_title("a title that cannot fit into three inches at twelve points " * 2)
    image = read_png(figures.save_figure(figure, tmp_path / "wide.png", DPI))
    assert image.shape[1] > 3.0 * DPI + 10  # the whole title is in the file
    wrapped = figures.wrap_title("a title that cannot fit into three inches at twelve points " * 2, 3.0)
    assert all(len(line) <= 3.0 * 72 / (0.55 * 12) for line in wrapped.split("\n")) and "\n" in wrapped


def test_class_labels_get_a_qualitative_palette_and_a_legend(tmp_path, drawn):
    from geokeras.report.colours import qualitative_palette

    points, _ = curve(300, 2, seed=3)
    digits = (np.arange(300) % 3).astype(np.float64)[:, None]
    plot_manifold(points, digits, tmp_path / "m.png", DPI, parameter_label="digit")
    figure = drawn[-1]
    assert not [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]  # no continuous colour bar
    (axes,) = figure.axes
    (legend,) = figure.legends
    assert legend.get_title().get_text() == "digit"
    assert [text.get_text() for text in legend.get_texts()] == ["0", "1", "2"]
    from matplotlib.colors import to_hex

    assert [to_hex(collection.get_facecolor()[0]) for collection in axes.collections] == [
        colour.lower() for colour in qualitative_palette(3)
    ]
    assert [len(collection.get_offsets()) for collection in axes.collections] == [100, 100, 100]
    # The same labels on the reconstruction: one legend for both panels, outside them.
    plot_reconstruction(points, points, digits, tmp_path / "r.png", DPI)
    assert [text.get_text() for text in drawn[-1].legends[0].get_texts()] == ["0", "1", "2"]
