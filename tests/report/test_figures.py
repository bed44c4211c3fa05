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
    history = {"loss": list(np.exp(-np.arange(20) / 5.0)), "val_loss": list(1.2 * np.exp(-np.arange(20) / 5.0)), "mae": [1.0] * 20}
    path = plot_training_curves(history, tmp_path / "loss.png", dpi=DPI)
    assert path == tmp_path / "loss.png"
    assert_size(read_png(path), figures._SINGLE)
    # A zero loss cannot go on a log axis: drawn linear instead, still a PNG.
    read_png(plot_training_curves({"loss": [1.0, 0.0]}, tmp_path / "linear.png", dpi=DPI))
    with pytest.raises(ValueError, match="'loss' series"):
        plot_training_curves({"val_loss": [1.0]}, tmp_path / "x.png", dpi=DPI)


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_reconstruction(tmp_path, dim):
    x, t = curve(500, dim)
    x_hat = 0.9 * x
    path = plot_reconstruction(x, x_hat, t, tmp_path / "nested" / f"rec{dim}.png", DPI, 200, parameter_label="theta")
    assert_size(read_png(path), figures._SINGLE if dim == 1 else figures._DOUBLE)


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
    assert_size(read_png(path), figures._SINGLE)


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_manifold(tmp_path, dim):
    points, t = curve(400, dim, seed=2)
    two_parameters = np.c_[t, t**2]  # a surface would have two: coloured by the first
    path = plot_manifold(points, two_parameters, tmp_path / "manifold.png", DPI, 150)
    assert_size(read_png(path), figures._SINGLE)


def test_subsample_is_seeded_and_bounded():
    first = figures._subsample(1000, 50, seed=3)
    np.testing.assert_array_equal(first, figures._subsample(1000, 50, seed=3))
    assert len(first) == 50 and len(np.unique(first)) == 50 and np.all(np.diff(first) > 0)
    assert not np.array_equal(first, figures._subsample(1000, 50, seed=4))
    np.testing.assert_array_equal(figures._subsample(20, 50, seed=3), np.arange(20))


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
