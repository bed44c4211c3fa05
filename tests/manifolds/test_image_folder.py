"""type: image_folder: class folders as labels, resizing, pixels in [0, 1], the folder's hash, bad folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import geokeras
from geokeras.errors import SpecError
from geokeras.manifolds.params.data_files import data_sha256
from geokeras.spec import load_spec
from tests.conftest import built_manifold, load_error, write

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
name: own-images
manifold:
  type: image_folder
  path: {path}
  size: [4, 6]
  samples: {samples}{extra}
model: {{latent_dim: 2, encoder: {{type: mlp, widths: [4]}}}}
train: {{epochs: 2, batch_size: 8, verbose: 0}}
evaluate: [{{type: reconstruction, samples: 8}}]
report: {{figures: false}}
"""


def spec_file(directory: Path, path: str, samples: int = 3, extra: str = "") -> Path:
    return write(directory, "spec.yaml", SPEC.format(path=path, samples=samples, extra=extra))


def save(path: Path, value: int, size: tuple[int, int] = (6, 4), mode: str = "L") -> None:
    """A uniform image of ``value`` (per channel), ``size`` = (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255)).save(path)


def test_class_folders_are_the_labels_and_pixels_lie_in_the_unit_interval(tmp_path):
    save(tmp_path / "images" / "b_squares" / "one.png", 255)
    save(tmp_path / "images" / "a_circles" / "one.png", 0, size=(12, 8))  # another size: resized
    save(tmp_path / "images" / "a_circles" / "two.png", 51)
    folder = built_manifold(spec_file(tmp_path, "images"))
    points, parameters = folder.sample_with_parameters(3, seed=0)
    assert (folder.size, folder.natural_dim, folder.image_shape, folder.class_names) == (
        3,
        24,
        (4, 6, 1),
        ("a_circles", "b_squares"),
    )
    by_index = {int(index): (int(label), float(row[0])) for (label, index), row in zip(parameters, points)}
    assert by_index == {0: (0, 0.0), 1: (0, 0.2), 2: (1, 1.0)}  # sorted paths; value / 255
    assert points.shape == (3, 24) and np.all(points == points[:, :1])  # uniform images stay uniform


def test_rgb_images_kept_as_images(tmp_path):
    save(tmp_path / "images" / "x.png", 0, mode="RGB")
    save(tmp_path / "images" / "y.jpg", 0, mode="RGB")
    folder = built_manifold(spec_file(tmp_path, "images", samples=2, extra="\n  color_mode: rgb\n  shape: image"))
    points, parameters = folder.sample_with_parameters(2, seed=0)
    assert points.shape == (2, 4, 6, 3) and parameters[:, 0].tolist() == [0.0, 0.0]  # no class folders: label 0
    np.testing.assert_allclose(points[0, 0, 0], [0.0, 0.0, 1.0], atol=0.02)  # the jpg is lossy


def test_the_folders_hash_covers_names_and_bytes_not_its_location(tmp_path):
    save(tmp_path / "first" / "images" / "a" / "1.png", 10)
    save(tmp_path / "first" / "images" / "b" / "2.png", 20)
    spec_file(tmp_path / "first", "images")
    original = load_spec(tmp_path / "first" / "spec.yaml")
    assert original.manifold.sha256 == data_sha256(tmp_path / "first" / "images")

    moved = shutil.copytree(tmp_path / "first", tmp_path / "x" / "second")
    assert load_spec(moved / "spec.yaml").content_hash == original.content_hash
    (moved / "images" / "b" / "2.png").rename(moved / "images" / "b" / "3.png")
    renamed = load_spec(moved / "spec.yaml")
    save(moved / "images" / "b" / "3.png", 21)
    changed = load_spec(moved / "spec.yaml")
    assert len({original.content_hash, renamed.content_hash, changed.content_hash}) == 3


@pytest.mark.parametrize(
    "make_folder, message",
    [
        (
            lambda root: (root / "images" / "a").mkdir(parents=True),
            "expected a folder holding images (.bmp, .gif, .jpeg, .jpg, .png), directly or in class subfolders. "
            "Received: 'images', which holds none.",
        ),
        (
            lambda root: (save(root / "images" / "top.png", 0), save(root / "images" / "a" / "1.png", 0)),
            "expected images either all directly in the folder (no labels) or all in class subfolders. Received "
            "both, e.g. 'top.png' and 'a/1.png'. In: 'images'.",
        ),
        (
            lambda root: write(root, "images", "a file"),
            "expected a folder of images. Received: 'images', which is not a folder.",
        ),
    ],
)
def test_bad_folders_are_refused_when_the_spec_is_loaded(tmp_path, make_folder, message):
    make_folder(tmp_path)
    error = load_error(spec_file(tmp_path, "images"))
    assert (error.path, error.location, error.message) == (
        ("manifold", "path"),
        f"{tmp_path / 'spec.yaml'}:4:3",
        message,
    )


def test_a_file_that_is_no_image_is_refused_at_the_path_and_too_few_images_at_samples(tmp_path):
    save(tmp_path / "images" / "good.png", 0)
    write(tmp_path / "images", "broken.png", b"not a png")
    with pytest.raises(SpecError) as caught:
        built_manifold(spec_file(tmp_path, "images", samples=1))
    assert caught.value.path == ("manifold", "path")
    assert caught.value.message.startswith("expected readable images. Received 'broken.png' in 'images'")

    (tmp_path / "images" / "broken.png").unlink()
    with pytest.raises(SpecError) as caught:
        built_manifold(spec_file(tmp_path, "images", samples=2))
    assert (caught.value.path, caught.value.location) == (("manifold", "samples"), f"{tmp_path / 'spec.yaml'}:6:3")


def test_a_tiny_run_on_the_shipped_image_folder(tmp_path):
    spec_path = spec_file(tmp_path, str(ROOT / "specs" / "data" / "shapes"), samples=40, extra="\n  replace: true")
    result = geokeras.run(spec_path, out_dir=tmp_path / "run", overrides=["manifold.samples=64"])
    assert result.metrics["reconstruction"]["samples"] == 8
    assert result.spec.manifold.sha256 == data_sha256(ROOT / "specs" / "data" / "shapes")


def test_image_grid_tiles_are_labelled_by_class_folder_names():
    from types import SimpleNamespace

    from geokeras.report_stage import _class_labels

    assert _class_labels(SimpleNamespace(class_names=("circle", "square")), [1.0, 0.0, 1.0]) == [
        "square",
        "circle",
        "square",
    ]
    assert _class_labels(SimpleNamespace(), [3.0]) == [3.0]
