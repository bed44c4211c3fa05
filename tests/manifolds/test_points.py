"""type: points: loading .npy / .npz / .csv, labels, paths relative to the spec, the data's hash, bad files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import geokeras
import geokeras.api
from geokeras.errors import SpecError, located_under
from geokeras.manifolds import make
from geokeras.spec import load_spec, spec_from_mapping
from tests.conftest import built_manifold, load_error, write

ROOT = Path(__file__).resolve().parents[2]

POINTS = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0]])

SPEC = """\
name: own-points
manifold:
  type: points
  path: {path}
  samples: {samples}{extra}
model: {{latent_dim: 2, encoder: {{type: mlp, widths: [4]}}}}
train: {{epochs: 2, batch_size: 32, verbose: 0}}
evaluate: [{{type: reconstruction, samples: 16}}]
report: {{figures: false}}
"""


def spec_file(directory: Path, path: str, samples: int = 4, extra: str = "", name: str = "spec.yaml") -> Path:
    return write(directory, name, SPEC.format(path=path, samples=samples, extra=extra))


def built_from(spec):
    with located_under("manifold"):
        return make(spec.manifold)


def build_error(spec_path: Path) -> SpecError:
    with pytest.raises(SpecError) as caught:
        built_manifold(spec_path)
    return caught.value


# ----------------------------------------------------------------------------- formats
def test_npy_rows_are_the_samples_drawn_without_replacement(tmp_path):
    np.save(tmp_path / "cloud.npy", POINTS)
    cloud = built_manifold(spec_file(tmp_path, "cloud.npy"))
    points, parameters = cloud.sample_with_parameters(4, seed=3)
    assert (cloud.natural_dim, cloud.intrinsic_dim, cloud.parameter_names) == (3, None, ("row",))
    assert sorted(parameters[:, 0].tolist()) == [0.0, 1.0, 2.0, 3.0]  # each row once
    np.testing.assert_array_equal(points, POINTS[parameters[:, 0].astype(int)])
    np.testing.assert_array_equal(cloud.sample(4, seed=3), points)  # seeded


def test_replace_draws_rows_with_repetition_and_allows_more_samples_than_rows(tmp_path):
    np.save(tmp_path / "cloud.npy", POINTS)
    cloud = built_manifold(spec_file(tmp_path, "cloud.npy", samples=40, extra="\n  replace: true"))
    rows = cloud.sample_with_parameters(40, seed=0)[1][:, 0]
    assert len(set(rows.tolist())) == 4


def test_a_test_fraction_holds_out_rows_for_the_evaluators(tmp_path):
    np.save(tmp_path / "cloud.npy", POINTS)
    train = built_manifold(spec_file(tmp_path, "cloud.npy", samples=3, extra="\n  test_fraction: 0.25"))
    test = train.with_split("test")
    rows = {
        split: set(m.sample_with_parameters(20, seed=0)[1][:, 0].tolist()) for split, m in [("a", train), ("b", test)]
    }
    assert (train.size, test.size, test.split) == (3, 1, "test")
    assert rows["a"] | rows["b"] == {0.0, 1.0, 2.0, 3.0} and not rows["a"] & rows["b"]
    whole = built_manifold(spec_file(tmp_path, "cloud.npy"))  # test_fraction 0: both splits are every row
    assert whole.with_split("test").size == whole.size == 4

    error = build_error(spec_file(tmp_path, "cloud.npy", samples=4, extra="\n  test_fraction: 0.25"))
    assert error.path == ("manifold", "samples") and "the file's 3 rows of the train split" in error.message
    error = build_error(spec_file(tmp_path, "cloud.npy", samples=1, extra="\n  test_fraction: 0.9"))
    assert (error.path, error.message) == (
        ("manifold", "test_fraction"),
        "expected a test fraction leaving at least one row in each split of the 4. Received: test_fraction=0.9, "
        "which holds out 4.",
    )


def test_npz_named_arrays_give_points_and_labels(tmp_path):
    np.savez(tmp_path / "cloud.npz", X=POINTS, y=np.array([5, 6, 7, 8]), other=np.zeros(2))
    cloud = built_manifold(spec_file(tmp_path, "cloud.npz", extra="\n  array: X\n  labels_array: y"))
    points, parameters = cloud.sample_with_parameters(4, seed=1)
    assert cloud.parameter_names == ("y", "row")  # figures name the colour after the labels' array
    np.testing.assert_array_equal(points, POINTS[parameters[:, 1].astype(int)])
    np.testing.assert_array_equal(parameters[:, 0], parameters[:, 1] + 5)


def test_csv_with_header_and_a_named_label_column(tmp_path):
    write(tmp_path, "cloud.csv", "x,label,y\n0,cat,1\n2,dog,3\n4,cat,5\n")
    cloud = built_manifold(spec_file(tmp_path, "cloud.csv", samples=3, extra="\n  label_column: label"))
    points, parameters = cloud.sample_with_parameters(3, seed=0)
    order = parameters[:, 1].astype(int)
    np.testing.assert_array_equal(points, np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])[order])
    np.testing.assert_array_equal(parameters[:, 0], np.array([0.0, 1.0, 0.0])[order])  # cat 0, dog 1


def test_csv_without_header_and_a_label_column_index(tmp_path):
    write(tmp_path, "cloud.csv", "0.5,1,9\n1.5,2,8\n")
    cloud = built_manifold(spec_file(tmp_path, "cloud.csv", samples=2, extra="\n  label_column: 2\n  intrinsic_dim: 1"))
    points, parameters = cloud.sample_with_parameters(2, seed=0)
    assert (cloud.natural_dim, cloud.intrinsic_dim) == (2, 1)
    np.testing.assert_array_equal(parameters[:, 0], 9.0 - parameters[:, 1])


def test_the_shipped_example_files_hold_the_same_points():
    npy = make({"type": "points", "path": str(ROOT / "specs/data/trefoil.npy"), "samples": 400})
    csv = make({"type": "points", "path": str(ROOT / "specs/data/trefoil.csv"), "samples": 400, "label_column": "t"})
    npz = make(
        {
            "type": "points",
            "path": str(ROOT / "specs/data/trefoil.npz"),
            "array": "points",
            "labels_array": "t",
            "samples": 400,
        }
    )
    rows = np.arange(400, dtype=np.float64)[:, None]
    np.testing.assert_array_equal(npy.points_at(rows), csv.points_at(np.hstack([rows, rows])))
    np.testing.assert_array_equal(npy.points_at(rows), npz.points_at(np.hstack([rows, rows])))


# ----------------------------------------------------------------------------- paths and the hash
def test_a_relative_path_is_resolved_against_the_spec_files_directory(tmp_path, monkeypatch):
    (tmp_path / "specs" / "data").mkdir(parents=True)
    np.save(tmp_path / "specs" / "data" / "cloud.npy", POINTS)
    spec_path = spec_file(tmp_path / "specs", "data/cloud.npy")
    monkeypatch.chdir(tmp_path)  # not the spec's directory
    assert built_manifold(Path("specs/spec.yaml")).natural_dim == 3
    mapping = load_spec(spec_path).to_dict()
    with pytest.raises(SpecError, match="not found at .*test_a_relative_path.*/data/cloud.npy"):
        spec_from_mapping(mapping)  # a mapping: relative to the current directory
    assert spec_from_mapping(mapping, base_dir=tmp_path / "specs").manifold.resolved_path == (
        tmp_path / "specs" / "data" / "cloud.npy"
    )
    overridden = geokeras.api.resolve(load_spec(spec_path), ["manifold.samples=2"])  # keeps the spec's directory
    assert overridden.manifold.samples == 2 and built_from(overridden).natural_dim == 3


def test_the_hash_covers_the_bytes_not_where_the_spec_and_its_data_lie(tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    np.save(first / "cloud.npy", POINTS)
    spec = load_spec(spec_file(first, "cloud.npy"))
    assert spec.manifold.sha256 == hashlib.sha256((first / "cloud.npy").read_bytes()).hexdigest()
    assert spec.to_dict()["manifold"]["sha256"] == spec.manifold.sha256  # in resolved.yaml and the hash

    moved = shutil.copytree(first, tmp_path / "elsewhere" / "second")
    assert load_spec(moved / "spec.yaml").content_hash == spec.content_hash

    np.save(moved / "cloud.npy", POINTS + 1.0)
    assert load_spec(moved / "spec.yaml").content_hash != spec.content_hash


def test_a_written_sha256_must_match(tmp_path):
    np.save(tmp_path / "cloud.npy", POINTS)
    digest = hashlib.sha256((tmp_path / "cloud.npy").read_bytes()).hexdigest()
    assert load_spec(spec_file(tmp_path, "cloud.npy", extra=f"\n  sha256: {digest.upper()}")).manifold.sha256 == digest

    wrong = "0" * 64
    error = load_error(spec_file(tmp_path, "cloud.npy", extra=f"\n  sha256: '{wrong}'"))
    assert error.path == ("manifold", "sha256")
    assert error.location == f"{tmp_path / 'spec.yaml'}:6:3"
    assert error.message == (
        f"the data at 'cloud.npy' does not match its sha256: expected {wrong} (as written). Received data of "
        f"sha256 {digest}. The data changed, or the spec names other data."
    )


# ----------------------------------------------------------------------------- bad files
def test_a_missing_file_is_refused_at_its_key_and_line(tmp_path):
    error = load_error(spec_file(tmp_path, "nowhere.npy"))
    assert (error.path, error.location) == (("manifold", "path"), f"{tmp_path / 'spec.yaml'}:4:3")
    assert error.message == (
        f"expected an existing file (.npy, .npz, .csv). Received: 'nowhere.npy', not found at "
        f"{str(tmp_path / 'nowhere.npy')!r}."
    )


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("cloud.txt", b"1 2\n", "expected a file ending in one of .npy, .npz, .csv. Received: 'cloud.txt' "),
        ("cloud.csv", b"", "expected a non-empty file. Received: 'cloud.csv', which is empty (0 bytes)."),
    ],
)
def test_unsupported_and_empty_files_are_refused_when_the_spec_is_loaded(tmp_path, name, content, message):
    write(tmp_path, name, content)
    error = load_error(spec_file(tmp_path, name))
    assert error.path == ("manifold", "path") and error.message.startswith(message)


def test_a_folder_is_not_a_point_file(tmp_path):
    (tmp_path / "cloud.npy").mkdir()
    assert "which is not a regular file" in load_error(spec_file(tmp_path, "cloud.npy")).message


@pytest.mark.parametrize(
    "name, make_file, extra, path, message",
    [
        (
            "cloud.csv",
            lambda p: p.write_text("1,2,3\n\n4,5\n"),
            "",
            ("manifold", "path"),
            "expected 3 fields in every row (as in the first). Received 2 fields on line 3 of 'cloud.csv'.",
        ),
        (
            "cloud.csv",
            lambda p: p.write_text("x,y\n1,2\n3,abc\n"),
            "",
            ("manifold", "path"),
            "expected numbers in every field. Received 'abc' on line 3, column 2 of 'cloud.csv' (1-based).",
        ),
        (
            "cloud.csv",
            lambda p: p.write_text("x,y\n"),
            "",
            ("manifold", "path"),
            "expected at least one row of numbers. Received 'cloud.csv', which holds none.",
        ),
        (
            "cloud.npy",
            lambda p: np.save(p, np.array([[1.0, np.nan], [2.0, 3.0]])),
            "",
            ("manifold", "path"),
            "expected finite numbers. Received 'cloud.npy' holding 1 NaN or infinite value(s), the first at row 0, "
            "column 1 (0-based): nan.",
        ),
        (
            "cloud.npy",
            lambda p: np.save(p, np.arange(5.0)),
            "",
            ("manifold", "path"),
            "expected a 2-D array [rows, coordinates] with at least one of each. Received 'cloud.npy' of shape [5].",
        ),
        (
            "cloud.npy",
            lambda p: p.write_bytes(b"not numpy"),
            "",
            ("manifold", "path"),
            "expected a readable .npy file of numbers. Received 'cloud.npy', which fails to load",
        ),
        (
            "cloud.npz",
            lambda p: np.savez(p, a=POINTS, b=POINTS),
            "\n  array: X",
            ("manifold", "array"),
            "expected the name of an array in 'cloud.npz': one of a, b. Received: array='X'.",
        ),
        (
            "cloud.npz",
            lambda p: np.savez(p, a=POINTS, b=POINTS),
            "",
            ("manifold", "array"),
            "expected the name of the array of points in 'cloud.npz', which holds 2 arrays: a, b. "
            "Received: array=null.",
        ),
        (
            "cloud.npz",
            lambda p: np.savez(p, X=POINTS, y=np.arange(3)),
            "\n  array: X\n  labels_array: y",
            ("manifold", "labels_array"),
            "expected one numeric label per row (4 in all). Received labels of shape [3]",
        ),
        (
            "cloud.csv",
            lambda p: p.write_text("x,y\n1,2\n"),
            "\n  label_column: z",
            ("manifold", "label_column"),
            "expected a column name of the header of 'cloud.csv': x, y. Received: label_column='z'.",
        ),
        (
            "cloud.npy",
            lambda p: np.save(p, POINTS),
            "SAMPLES=5",
            ("manifold", "samples"),
            "expected samples <= the file's 4 rows (drawn without replacement), or replace: true. Received: samples=5.",
        ),
    ],
)
def test_bad_contents_are_refused_at_their_key_and_line(tmp_path, name, make_file, extra, path, message):
    make_file(tmp_path / name)
    samples = int(extra[len("SAMPLES=") :]) if extra.startswith("SAMPLES=") else 1
    spec_path = spec_file(tmp_path, name, samples=samples, extra="" if extra.startswith("SAMPLES=") else extra)
    error = build_error(spec_path)
    assert error.path == path
    assert error.location is not None and error.location.startswith(f"{spec_path}:")
    assert error.message.startswith(message), error.message


def test_npz_keys_are_refused_for_another_format(tmp_path):
    np.save(tmp_path / "cloud.npy", POINTS)
    error = load_error(spec_file(tmp_path, "cloud.npy", extra="\n  array: X"))
    assert (error.path, error.message) == (
        ("manifold", "array"),
        "expected array only with a .npz file. Received: array='X' for 'cloud.npy'.",
    )


def test_the_cli_refuses_bad_data_with_exit_2_and_writes_nothing(tmp_path, capsys):
    from geokeras.cli import main

    np.save(tmp_path / "cloud.npy", np.arange(4.0))
    spec_path = spec_file(tmp_path, "cloud.npy", samples=2)
    runs = tmp_path / "runs"
    assert main(["run", str(spec_path), "-o", str(runs / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{spec_path}:4:3: manifold.path: expected a 2-D array" in err and "Traceback" not in err
    assert not runs.exists()


def test_validate_reports_a_missing_file_with_its_line_and_exit_2(tmp_path, capsys):
    from geokeras.cli import main

    spec_path = spec_file(tmp_path, "nowhere.csv")
    assert main(["validate", str(spec_path)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{spec_path}:4:3: manifold.path: expected an existing file (.npy, .npz, .csv). Received: 'nowhere.csv'" in err
    )


# ----------------------------------------------------------------------------- a run
def test_a_tiny_run_on_a_point_cloud(tmp_path):
    spec_path = spec_file(tmp_path, str(ROOT / "specs/data/trefoil.csv"), samples=64, extra="\n  label_column: t")
    result = geokeras.run(spec_path, out_dir=tmp_path / "run")
    assert result.metrics["reconstruction"]["samples"] == 16
    resolved = (tmp_path / "run" / "resolved.yaml").read_text()
    assert f"sha256: {hashlib.sha256((ROOT / 'specs/data/trefoil.csv').read_bytes()).hexdigest()}" in resolved
