"""The complexity evaluators end to end (geokeras.complexity.evaluators, params, figures)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from geokeras.complexity.bounds import lei2018_bound
from geokeras.complexity.manifold_rlc import curve_rlc
from geokeras.complexity.polyline import count_regions_on_polyline
from geokeras.errors import GeokerasInputError, SpecError
from geokeras.evaluate import EvaluationContext, run_evaluators
from geokeras.manifolds import make
from geokeras.report.params import ReportSpec

REPO = Path(__file__).resolve().parents[2]


def models(latent_dim: int = 1, seed: int = 0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((2,))
    x = keras.layers.Dense(8, activation="relu")(inputs)
    x = keras.layers.Dense(8, activation="relu")(x)
    encoder = keras.Model(inputs, keras.layers.Dense(latent_dim)(x), name="encoder")
    codes = keras.Input((latent_dim,))
    decoder = keras.Model(codes, keras.layers.Dense(2)(codes), name="decoder")
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def context_for(manifold, figures_dir=None, latent_dim=1) -> EvaluationContext:
    encoder, decoder, autoencoder = models(latent_dim)
    return EvaluationContext(
        manifold=manifold,
        encoder=encoder,
        decoder=decoder,
        autoencoder=autoencoder,
        x_train=manifold.sample(256, 3),
        seed=11,
        report=ReportSpec(dpi=40, max_points=200),
        figures_dir=figures_dir,
    )


def test_three_evaluators_on_a_circle(tmp_path):
    circle = make({"type": "circle"})
    context = context_for(circle, tmp_path / "figures")
    metrics = run_evaluators(
        [
            "rlc_bounds",
            {"type": "rlc_on_manifold", "resolution": 256, "samples": 2000},
            {"type": "manifold_rlc", "resolution": 128},
        ],
        context,
    )
    json.dumps(metrics)  # big ints and all: plain JSON

    bounds = metrics["rlc_bounds"]
    assert bounds["widths"] == [2, 8, 8, 1] and bounds["hidden_units"] == 16
    assert bounds["lei2018"] == lei2018_bound([2, 8, 8, 1])
    assert bounds["log10"]["trivial"] == pytest.approx(16 * np.log10(2))
    assert bounds["tightest_upper"] == "serra2018" and "serra2018_rank" in bounds["trained_network_bounds"]

    on_manifold = metrics["rlc_on_manifold"]
    vertices, closed = circle.polyline(256)
    direct = count_regions_on_polyline(context.encoder, vertices, closed)
    assert on_manifold["method"] == "exact_polyline" and on_manifold["exact"] is True
    assert (on_manifold["intervals"], on_manifold["cells"], on_manifold["pieces"]) == (
        direct.intervals,
        direct.cells,
        direct.pieces,
    )
    assert on_manifold["regions"] == on_manifold["intervals"] and on_manifold["closed"] is True
    assert on_manifold["sampled"]["bound"] == "lower" and on_manifold["sampled"]["samples"] == 2000
    assert 1 <= on_manifold["sampled"]["cells"] <= 2**16

    rlc = metrics["manifold_rlc"]
    assert (rlc["pieces"], rlc["lower"], rlc["upper"], rlc["open_cover"], rlc["counted_as"]) == (
        2,
        2,
        2,
        3,
        "partition",
    )
    encoder_pieces = count_regions_on_polyline(context.encoder, *circle.polyline(128)).pieces
    assert rlc["certificate"]["encoder_pieces"] == encoder_pieces
    # The architecture's bounds exclude nothing (2 regions suffice for the bounds), but a circle
    # into R^1 is excluded for every weight by invariance of domain.
    assert rlc["certificate"]["excluded_by"] == [] and rlc["certificate"]["regions_lower"] == 2
    assert rlc["certificate"]["status"] == "provably_not_encodable"
    assert "closed 1-manifold" in rlc["certificate"]["obstruction"]["reason"]
    assert rlc["certificate"]["trained_encoder"] == ("not_an_encoding_map" if encoder_pieces < 2 else "not_excluded")

    assert (tmp_path / "figures" / "rlc_on_manifold.png").stat().st_size > 0
    assert (tmp_path / "figures" / "rlc_on_manifold_box.png").stat().st_size > 0
    assert [path for _, path in context.figures] == ["figures/rlc_on_manifold.png", "figures/rlc_on_manifold_box.png"]


def test_without_polyline_or_mesh_the_count_is_sampled_and_the_manifold_rlc_unavailable(tmp_path):
    cloud = make({"type": "gaussian_mixture"})
    context = context_for(cloud, tmp_path / "figures", latent_dim=2)
    metrics = run_evaluators([{"type": "rlc_on_manifold", "samples": 500}, "manifold_rlc"], context)
    assert metrics["rlc_on_manifold"] == {
        "method": "sampled",
        "exact": False,
        "sampled": metrics["rlc_on_manifold"]["sampled"],
    }
    assert metrics["rlc_on_manifold"]["sampled"]["samples"] == 500
    assert metrics["manifold_rlc"]["method"] == "unavailable" and metrics["manifold_rlc"]["lower"] is None
    assert (tmp_path / "figures" / "rlc_on_manifold_box.png").exists()  # a 2-D input: the box decomposition
    with pytest.raises(GeokerasInputError, match="Use method: sampled"):
        run_evaluators([{"type": "rlc_on_manifold", "method": "exact"}], context_for(cloud, latent_dim=2))
    with pytest.raises(GeokerasInputError, match="Expected samples > 0"):
        run_evaluators([{"type": "rlc_on_manifold", "samples": 0}], context_for(cloud, latent_dim=2))


def test_surfaces_are_counted_exactly_on_their_mesh(tmp_path):
    disk = make({"type": "disk"})
    context = context_for(disk, tmp_path / "figures", latent_dim=2)
    metrics = run_evaluators([{"type": "rlc_on_manifold", "mesh_resolution": 6, "samples": 0}], context)[
        "rlc_on_manifold"
    ]
    assert metrics["method"] == "exact_mesh" and metrics["exact"] is True
    assert metrics["area"] == pytest.approx(sum(_triangle_areas(*disk.mesh(6))))
    assert metrics["regions"] >= metrics["cells"] >= 1
    assert (tmp_path / "figures" / "rlc_on_manifold.png").exists()


def _triangle_areas(vertices, faces):
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])


def test_the_autoencoder_refines_the_encoder_cells():
    # D(psi o phi) refines D(phi): with a ReLU decoder, every autoencoder cell lies in one
    # encoder cell (its first 16 pattern bits are that cell's pattern), and there are at least as many.
    circle = make({"type": "circle"})
    context = context_for(circle)
    codes = keras.Input((1,))
    decoder = keras.Model(codes, keras.layers.Dense(2)(keras.layers.Dense(6, activation="relu")(codes)))
    inputs = keras.Input((2,))
    context.autoencoder = keras.Model(inputs, decoder(context.encoder(inputs)))
    metrics = run_evaluators(
        [{"type": "rlc_on_manifold", "network": "autoencoder", "resolution": 128, "samples": 0}], context
    )["rlc_on_manifold"]
    vertices, closed = circle.polyline(128)
    encoder_only = count_regions_on_polyline(context.encoder, vertices, closed)
    both = count_regions_on_polyline(context.autoencoder, vertices, closed)
    assert metrics["cells"] == both.cells >= encoder_only.cells
    encoder_cells = {row.tobytes() for row in encoder_only.patterns}
    assert {row[:16].tobytes() for row in both.patterns} == encoder_cells


def test_invalid_parameters_are_spec_errors_with_their_key_path():
    context = context_for(make({"type": "circle"}))
    with pytest.raises(SpecError, match=r"^\[0\]\.resolution: "):
        run_evaluators([{"type": "rlc_on_manifold", "resolution": 0}], context)
    with pytest.raises(SpecError, match=r"^\[0\]\.angle_tol: "):
        run_evaluators([{"type": "manifold_rlc", "angle_tol": 1.0}], context)


def test_the_shipped_spec_runs_end_to_end(tmp_path):
    from geokeras.api import run

    result = run(
        REPO / "specs" / "complexity" / "spiral_rlc.yaml",
        out_dir=tmp_path / "run",
        overrides=["train.epochs=1", "manifold.samples=256", "report.figures=false"],
    )
    metrics = result.metrics
    assert metrics["rlc_on_manifold"]["method"] == "exact_polyline"
    assert metrics["rlc_on_manifold"]["segments"] == 4096
    spiral = make({"type": "archimedean_spiral", "a": 0.5, "b": 0.2, "turns": 2.0})
    assert metrics["manifold_rlc"]["pieces"] == curve_rlc(*spiral.polyline(1024)).pieces
    assert metrics["rlc_bounds"]["widths"] == [2, 32, 32, 32, 1]
    assert metrics["learnability"]["holds_for"].startswith("polyline")
    assert metrics["learnability"]["certificate"]["status"] == "not_excluded"
    assert (
        json.loads((tmp_path / "run" / "metrics.json").read_text())["manifold_rlc"]["certificate"]["status"]
        == "not_excluded"
    )


def test_bounds_beyond_python_int_to_str_limit_are_rounded_strings():
    from geokeras.complexity.evaluators import json_safe_bounds

    safe = json_safe_bounds({"lei2018": 3 * 10**4500, "serra2018": 7})
    assert safe["serra2018"] == 7 and safe["lei2018"] == "3.000000e+4500"
    assert safe["rounded"] == ["lei2018"] and safe["log10"]["lei2018"] == pytest.approx(4500.4771, abs=1e-4)
    json.dumps(safe)


def test_public_api_resolves_and_the_params_import_stays_light():
    import subprocess
    import sys

    from geokeras import complexity

    for name in complexity.__all__:
        assert callable(getattr(complexity, name)), name  # classes and functions, never a module
    import geokeras.complexity.manifold_rlc  # noqa: F401  (importing the module again changes nothing)

    assert complexity.manifold_rlc.__name__ == "manifold_rlc" and callable(complexity.manifold_rlc)
    code = (
        "import sys, geokeras.complexity.params; "
        "print(sorted(m for m in ('tensorflow', 'matplotlib', 'keras', 'scipy') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert output.stdout.strip() == "[]"


def test_both_polyline_backends_give_the_same_metrics():
    circle = make({"type": "circle"})
    context = context_for(circle)
    numpy_metrics, tf_metrics = (
        run_evaluators([{"type": "rlc_on_manifold", "resolution": 200, "samples": 0, "backend": backend}], context)
        for backend in ("numpy", "tensorflow")
    )
    assert numpy_metrics == tf_metrics


def test_a_relu_output_layer_counts_as_hidden_in_the_bounds():
    from geokeras.complexity.evaluators import architecture
    from geokeras.complexity.lowering import AffineLayer, LoweredNetwork

    relu_out = LoweredNetwork(
        (AffineLayer(np.ones((2, 3)), np.zeros(3), "relu"), AffineLayer(np.ones((3, 2)), np.zeros(2), "relu"))
    )
    assert architecture(relu_out) == ([2, 3, 2, 2], [1, 1])
    linear_out = LoweredNetwork(
        (AffineLayer(np.eye(2), np.zeros(2), "relu"), AffineLayer(np.ones((2, 1)), np.zeros(1)))
    )
    assert architecture(linear_out) == ([2, 2, 1], [2])
