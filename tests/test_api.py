"""End to end: a tiny spec through geokeras.run, and the CLI's promises about run directories."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

import geokeras
from geokeras.cli import main
from geokeras.errors import TrainingDivergedError
from geokeras.manifolds import make
from geokeras.report.compare import without_timings
from tests.conftest import cli_error, write

TINY = """\
spec_version: 1
name: tiny-circle
seed: 3
manifold: {type: circle, radius: 1.5, samples: 256}
model:
  latent_dim: 2
  encoder: {type: mlp, widths: [16, 16]}
train: {epochs: 4, batch_size: 64, verbose: 0}
evaluate: [{type: reconstruction, samples: 128}]
report: {dpi: 40, max_points: 200}
"""

RUN_FILES = [
    "spec.yaml",
    "resolved.yaml",
    "overrides.yaml",
    "provenance.json",
    "metrics.json",
    "history.json",
    "report.md",
    "figures/training_loss.png",
    "figures/manifold.png",
    "figures/latent_codes.png",
    "figures/reconstruction.png",
    "models/encoder.keras",
    "models/decoder.keras",
    "models/autoencoder.keras",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    spec_path = write(root, "tiny.yaml", TINY)
    result = geokeras.run(spec_path, runs_root=root / "runs", overrides=["train.epochs=3"])
    return spec_path, result


def test_run_directory_has_every_file(finished_run):
    spec_path, result = finished_run
    spec = geokeras.load_spec(spec_path, ["train.epochs=3"])
    assert result.run_dir == spec_path.parent / "runs" / f"tiny-circle-{spec.content_hash[:12]}"
    for name in RUN_FILES:
        assert (result.run_dir / name).is_file(), name
    assert (result.run_dir / "logs").is_dir()
    assert not (result.run_dir / "checkpoints").exists()
    assert [path.name for path in result.run_dir.parent.iterdir()] == [result.run_dir.name]  # no staging left


def test_spec_files_and_provenance(finished_run):
    spec_path, result = finished_run
    run_dir = result.run_dir
    assert (run_dir / "spec.yaml").read_text() == spec_path.read_text()
    assert json.loads(json.dumps(__import__("yaml").safe_load((run_dir / "overrides.yaml").read_text()))) == [
        "train.epochs=3"
    ]
    resolved = geokeras.load_spec(run_dir / "resolved.yaml")
    assert resolved.content_hash == result.spec.content_hash  # resolved.yaml reproduces the run's spec
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["versions"]["tensorflow"] and provenance["versions"]["keras"].startswith("3.")
    assert provenance["seeds"]["spec"] == 3 and provenance["devices"]
    assert provenance["started"] <= provenance["finished"]


def test_metrics_layout(finished_run):
    _, result = finished_run
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics == result.metrics
    assert metrics["spec"] == {"name": "tiny-circle", "hash": result.spec.content_hash}
    assert metrics["training"]["epochs"] == 3
    assert list(metrics["training"]) == [
        "epochs",
        "final_loss",
        "loss_mean_last_5",
        "best_loss",
        "best_epoch",
        "seconds",
        "samples_per_second",
    ]
    assert set(metrics["reconstruction"]) == {"samples", "mse", "chamfer", "hausdorff"}
    history = json.loads((result.run_dir / "history.json").read_text())
    assert history["loss"][-1] == metrics["training"]["final_loss"] and len(history["loss"]) == 3
    assert metrics["training"]["best_loss"] == min(history["loss"])
    assert history["loss"][metrics["training"]["best_epoch"] - 1] == metrics["training"]["best_loss"]


def test_report_links_every_figure(finished_run):
    _, result = finished_run
    report = (result.run_dir / "report.md").read_text()
    for name in RUN_FILES:
        if name.startswith("figures/"):
            assert f"]({name})" in report
    assert f"{result.metrics['reconstruction']['mse']:.6g}" in report


@pytest.mark.parametrize("figure_format, magic, link", [("svg", b"<?xml", "!["), ("pdf", b"%PDF", "[")])
def test_report_format_writes_and_links_vector_figures(tmp_path, figure_format, magic, link):
    spec_path = write(tmp_path, "tiny.yaml", TINY)
    overrides = ["train.epochs=1", "manifold.samples=64", f"report.format={figure_format}"]
    result = geokeras.run(spec_path, runs_root=tmp_path / "runs", overrides=overrides)
    report = (result.run_dir / "report.md").read_text()
    names = sorted(path.name for path in (result.run_dir / "figures").iterdir())
    stems = ["latent_codes", "manifold", "reconstruction", "training_loss"]
    assert names == [f"{stem}.{figure_format}" for stem in stems]
    for name in names:
        assert (result.run_dir / "figures" / name).read_bytes().startswith(magic)
        (line,) = [line for line in report.splitlines() if line.endswith(f"](figures/{name})")]
        assert line.startswith(link)  # SVG shown inline; a PDF linked (Markdown viewers do not show it)
    assert ".png" not in report


def test_saved_models_reproduce_the_metrics(finished_run):
    _, result = finished_run
    autoencoder = keras.models.load_model(result.run_dir / "models" / "autoencoder.keras")
    encoder = keras.models.load_model(result.run_dir / "models" / "encoder.keras")
    decoder = keras.models.load_model(result.run_dir / "models" / "decoder.keras")
    x = make(result.spec.manifold).sample(64, seed=11).astype("float32")
    composed = decoder.predict(encoder.predict(x, verbose=0), verbose=0)
    np.testing.assert_allclose(autoencoder.predict(x, verbose=0), composed, rtol=1e-5, atol=1e-6)


def test_same_spec_twice_gives_identical_metrics(tmp_path, finished_run):
    spec_path, first = finished_run
    again = geokeras.run(spec_path, out_dir=tmp_path / "again", overrides=["train.epochs=3"])
    assert without_timings(again.metrics) == without_timings(first.metrics)


def test_running_a_finished_spec_again_is_refused(finished_run, capsys):
    spec_path, result = finished_run
    code = main(["run", str(spec_path), "train.epochs=3", "-o", str(result.run_dir)])
    assert code == 2 and "already exists" in capsys.readouterr().err


def test_diverging_loss_exits_2_and_leaves_nothing(tmp_path, capsys):
    spec = write(tmp_path, "tiny.yaml", TINY.replace("radius: 1.5", "radius: 1.0e+6"))
    out = tmp_path / "run"
    assert main(["run", str(spec), "train.optimizer.learning_rate=1.0e+6", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Training diverged" in err and "epoch 1" in err and "learning rate" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny.yaml"]


def test_builder_errors_point_at_the_spec_line(tmp_path, capsys):
    text = TINY.replace(
        "encoder: {type: mlp, widths: [16, 16]}",
        "encoder:\n    type: keras_layers\n    layers:\n      - {class_name: Densse, config: {units: 2}}",
    ).replace("  latent_dim: 2\n", "  latent_dim: 2\n  decoder: {type: mlp}\n")
    spec = write(tmp_path, "tiny.yaml", text)
    assert main(["run", str(spec), "-o", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:11:10:" in err and "model.encoder.layers[0].class_name" in err and "Densse" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny.yaml"]


def test_resume_continues_an_interrupted_run(tmp_path, monkeypatch, capsys, finished_run):
    """A run killed after epoch 2 of 3 resumes from its checkpoint to the same result, and only with its own spec."""
    spec_path, uninterrupted = finished_run
    from geokeras.models import training

    original = training.train_autoencoder

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def interrupted(*args, **kwargs):
        return original(*args, **kwargs, callbacks=[Interrupt()])

    out = tmp_path / "run"
    monkeypatch.setattr(training, "train_autoencoder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        geokeras.run(spec_path, out_dir=out, overrides=["train.epochs=3"])
    assert not out.exists()
    staging = tmp_path / ".run.partial"
    assert (staging / "checkpoints" / "checkpoint.json").is_file()

    monkeypatch.setattr(training, "train_autoencoder", original)
    other = ["train.epochs=3", "seed=99", "train.optimizer.learning_rate=0.01"]
    assert main(["run", str(spec_path), *other, "-o", str(out), "--resume"]) == 2
    error = capsys.readouterr().err
    recorded, given = geokeras.load_spec(spec_path, ["train.epochs=3"]), geokeras.load_spec(spec_path, other)
    assert f"sha256 {recorded.content_hash}" in error and f"sha256 {given.content_hash}" in error
    assert (staging / "checkpoints" / "checkpoint.json").is_file() and not out.exists()
    resumed = geokeras.run(spec_path, out_dir=out, overrides=["train.epochs=3"], resume=True)
    assert json.loads((out / "provenance.json").read_text())["resumed"] is True
    assert without_timings(resumed.metrics) == without_timings(uninterrupted.metrics)
    assert not staging.exists()


def test_diverged_error_type():
    error = TrainingDivergedError(epoch=4, loss=float("inf"), learning_rate=0.5)
    assert "epoch 4" in str(error) and "learning rate 0.5" in str(error)


# ----------------------------------------------------------------------------- checked before training
def refused(tmp_path: Path, capsys, text: str, *overrides: str) -> str:
    """Run a spec that must fail before training: exit 2, its message, and nothing left on disk."""
    spec = write(tmp_path, "tiny.yaml", text)
    assert main(["run", str(spec), *overrides, "-o", str(tmp_path / "run")]) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny.yaml"]  # no run, no .run.partial
    return cli_error(capsys.readouterr().err)


def test_an_exact_cell_count_on_images_is_refused_before_training(tmp_path, capsys):
    text = TINY.replace("{type: circle, radius: 1.5, samples: 256}", "{type: digits, samples: 64}").replace(
        "evaluate: [{type: reconstruction, samples: 128}]", "evaluate:\n  - {type: rlc_on_manifold, method: exact}"
    )
    err = refused(tmp_path, capsys, text)
    assert err == (
        f"geokeras: error: {tmp_path / 'tiny.yaml'}:10:29: evaluate[0].method: method: exact needs a manifold "
        f"with exact geometry (a curve, surface or mesh); manifold type 'digits' (intrinsic_dim=None) has none: "
        f"neither a polyline nor a mesh. Expected method: sampled or auto (the sampled count, a lower bound). "
        f"Received: method=exact."
    )


def test_a_model_too_large_for_the_sampled_data_is_refused_before_building(tmp_path, capsys):
    # The mixture's dimension is known only once the manifold is built: checked after sampling.
    text = TINY.replace("{type: circle, radius: 1.5, samples: 256}", "{type: gaussian_mixture, dim: 1000, samples: 64}")
    err = refused(tmp_path, capsys, text, "model.encoder.widths=[65536]")
    assert err.startswith("geokeras: error: <command line> 'model.encoder.widths=[65536]': model.encoder.widths: ")
    assert "Received: 131,466,218 parameters for samples of shape [1000] (encoder 65,732,610, decoder 65,733,608)" in (
        err
    )


def test_samples_too_large_for_float32_are_refused_at_the_manifold(tmp_path, capsys):
    mesh = tmp_path / "huge.obj"
    mesh.write_text("v 0 0 0\nv 1e20 0 0\nv 0 1e20 0\nv 0 0 1e20\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n")
    text = TINY.replace("{type: circle, radius: 1.5, samples: 256}", f"{{type: mesh, path: {mesh}, normalise: false}}")
    spec = write(tmp_path, "tiny.yaml", text)
    assert main(["run", str(spec), "-o", str(tmp_path / "run")]) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["huge.obj", "tiny.yaml"]
    err = capsys.readouterr().err
    assert f"{spec}:4:1: manifold: expected training samples of finite coordinates at most 1e+15" in err


def test_a_mesh_path_that_is_a_directory_is_named_so(tmp_path, capsys):
    (tmp_path / "meshes").mkdir()
    text = TINY.replace("{type: circle, radius: 1.5, samples: 256}", f"{{type: mesh, path: {tmp_path / 'meshes'}}}")
    spec = write(tmp_path, "tiny.yaml", text)
    assert main(["run", str(spec), "-o", str(tmp_path / "run")]) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["meshes", "tiny.yaml"]
    assert f"expected a mesh file. Received: path={str(tmp_path / 'meshes')!r}, which is a directory." in (
        capsys.readouterr().err
    )


def test_a_solver_that_cannot_solve_the_latent_problem_is_refused_before_training(tmp_path, capsys):
    text = TINY + "latent_ot:\n  source: {type: gaussian}\n  solver: {type: newton}\n"
    err = refused(tmp_path, capsys, text)
    assert err == (
        f"geokeras: error: {tmp_path / 'tiny.yaml'}:13:12: latent_ot.solver.type: expected model.latent_dim = 2 and "
        f"a uniform_cube source for the newton solver (exact power cells in the plane). Received: latent_dim=2, "
        f"source type 'gaussian'; use monte_carlo_adam."
    )


# ----------------------------------------------------------------------------- own Keras models
OWN = """\
name: own-model
seed: 2
manifold: {type: circle, samples: 64}
model: {latent_dim: 1}
train: {epochs: 2, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 32}]
report: {figures: false}
"""


@keras.saving.register_keras_serializable(package="geokeras_tests")
class TwoLayerDecoder(keras.Model):
    """A subclassed decoder R^1 -> R^2 with get_config (so Keras can save and load it)."""

    def __init__(self, hidden: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.inner = keras.layers.Dense(hidden, activation="relu")
        self.out = keras.layers.Dense(2)

    def call(self, codes):
        return self.out(self.inner(codes))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def own_models():
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    return encoder, TwoLayerDecoder(name="mine")


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    encoder, decoder = own_models()
    before = [weight.copy() for weight in encoder.get_weights()]
    result = geokeras.run(write(root, "own.yaml", OWN), runs_root=root / "runs", encoder=encoder, decoder=decoder)
    return result, encoder, before


def test_run_trains_models_passed_in_python_and_leaves_them_unchanged(own_run):
    from geokeras.models.own_models import model_sha256

    result, encoder, before = own_run
    for weight, initial in zip(encoder.get_weights(), before):
        np.testing.assert_array_equal(weight, initial)
    resolved = yaml.safe_load((result.run_dir / "resolved.yaml").read_text())
    assert resolved["model"]["encoder"] == {"type": "keras_model", "sha256": model_sha256(encoder)}
    assert resolved["model"]["decoder"]["type"] == "keras_model"
    assert result.run_dir.name == f"own-model-{result.spec.content_hash[:12]}"
    models = result.run_dir / "models"
    assert (models / "initial_encoder.keras").is_file() and (models / "initial_decoder.keras").is_file()
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)
    initial = keras.saving.load_model(models / "initial_encoder.keras")
    np.testing.assert_allclose(initial.predict(x, verbose=0), encoder.predict(x, verbose=0), rtol=0, atol=0)


def test_run_result_holds_the_trained_models(own_run):
    result, _, _ = own_run
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)
    saved = keras.saving.load_model(result.run_dir / "models" / "encoder.keras")
    np.testing.assert_allclose(result.encoder.predict(x, verbose=0), saved.predict(x, verbose=0), rtol=0, atol=0)
    reconstructed = result.decoder.predict(result.encoder.predict(x, verbose=0), verbose=0)
    np.testing.assert_allclose(result.autoencoder.predict(x, verbose=0), reconstructed, rtol=1e-6, atol=1e-6)
    assert result.ot_map is None


def test_load_run_gives_the_same_models_from_the_run_directory(own_run):
    result, _, _ = own_run
    loaded = geokeras.load_run(result.run_dir)
    assert loaded.metrics == result.metrics and loaded.spec.content_hash == result.spec.content_hash
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)
    for name in ("encoder", "autoencoder"):
        np.testing.assert_allclose(
            getattr(loaded, name).predict(x, verbose=0), getattr(result, name).predict(x, verbose=0), atol=1e-6
        )
    assert loaded.encoder.name == "encoder" and loaded.decoder.name == "decoder"


def test_a_different_initial_model_is_a_different_spec(tmp_path):
    from geokeras.api import resolve
    from geokeras.models.own_models import with_own_models

    spec = resolve(write(tmp_path, "own.yaml", OWN))
    encoder, _ = own_models()
    first = with_own_models(spec, encoder=encoder).content_hash
    assert with_own_models(spec, encoder=encoder).content_hash == first
    encoder.layers[-1].kernel.assign(encoder.layers[-1].kernel + 1.0)
    assert with_own_models(spec, encoder=encoder).content_hash != first
    assert spec.model.encoder.type == "mlp"  # the spec given is not changed


def test_a_keras_model_entry_without_a_model_is_refused(tmp_path, capsys):
    text = OWN.replace(
        "model: {latent_dim: 1}",
        f"model: {{latent_dim: 1, encoder: {{type: keras_model, sha256: {'ab' * 32}}}, decoder: {{type: mlp}}}}",
    )
    err = refused(tmp_path, capsys, text.replace("name: own-model", "name: tiny"))
    assert err == (
        f"geokeras: error: {tmp_path / 'tiny.yaml'}:4:34: model.encoder.type: type keras_model stands for a Keras "
        f"model passed in Python: geokeras.run(spec, encoder=model). Received none. Expected that argument, or "
        f"type: keras_file with a saved model (the run directory of such a run keeps it as "
        f"models/initial_encoder.keras)."
    )


def test_passing_something_else_than_a_keras_model_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="Expected `encoder` to be a keras.Model. Received: encoder of type str."):
        geokeras.run(write(tmp_path, "own.yaml", OWN), runs_root=tmp_path / "runs", encoder="mlp")
    assert not (tmp_path / "runs").exists()


def test_the_initial_models_of_the_run_directory_train_the_same_network_again(own_run, tmp_path):
    result, _, _ = own_run
    models = result.run_dir / "models"
    text = OWN.replace(
        "model: {latent_dim: 1}",
        f"model:\n  latent_dim: 1\n  encoder: {{type: keras_file, path: {models / 'initial_encoder.keras'}}}\n"
        f"  decoder: {{type: keras_file, path: {models / 'initial_decoder.keras'}}}",
    )
    again = geokeras.run(write(tmp_path, "again.yaml", text), runs_root=tmp_path / "runs")
    assert again.metrics["training"]["final_loss"] == result.metrics["training"]["final_loss"]
    assert again.metrics["reconstruction"] == result.metrics["reconstruction"]
