"""The command line: exit codes, messages, and no run directory left by bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geokeras.cli import main
from geokeras.spec import json_schema
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
spec_version: 1
name: cli-spec
manifold: {type: circle, samples: 64}
model: {latent_dim: 2, encoder: {type: mlp, widths: [4]}}
train: {epochs: 1, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 32}]
report: {figures: false}
"""


def test_validate_ok_and_bad(tmp_path, capsys):
    good = write(tmp_path, "spec.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", GOOD.replace("latent_dim: 2", "latent_dim: -2"))
    assert main(["validate", str(good)]) == 0
    assert "ok (cli-spec-" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4:" in err and "model.latent_dim" in err and "Received: -2" in err
    assert "Traceback" not in err


def test_render_prints_resolved_yaml_with_hash(tmp_path, capsys):
    assert main(["render", str(write(tmp_path, "spec.yaml", GOOD)), "seed=4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# cli-spec-") and "# sha256: " in out
    assert "seed: 4" in out and "samples: 64" in out


def test_schema_matches_the_committed_file(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json_schema()
    committed = json.loads((ROOT / "schema" / "geokeras.schema.json").read_text())
    assert committed == printed, "regenerate with: geokeras schema -o schema/geokeras.schema.json"
    assert printed["properties"]["manifold"]["description"].startswith("The data")


@pytest.mark.parametrize(
    "replace, fragment",
    [
        (("manifold: {type: circle", "manifold: {type: circle, radius: -1"), "manifold.radius"),
        (("type: mlp", "type: mpl"), "model.encoder.type"),
        (("widths: [4]", "widths: [4, 0]"), "model.encoder.widths[1]"),
        (("epochs: 1", "epoch: 1"), "train.epoch"),
        (("name: cli-spec", "name: cli-spec\nextends: missing.yaml"), "extends"),
    ],
)
def test_run_with_bad_spec_exits_2_and_writes_nothing(tmp_path, capsys, replace, fragment):
    spec = write(tmp_path, "spec.yaml", GOOD.replace(*replace))
    out = tmp_path / "run"
    assert main(["run", str(spec), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and str(spec) in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [spec]


def test_run_with_bad_yaml_lambda_or_cycle_exits_2(tmp_path, capsys):
    cases = {
        "malformed.yaml": (GOOD.replace("samples: 64}", "samples: 64"), "malformed YAML"),
        "lambda.yaml": (
            GOOD.replace(
                "encoder: {type: mlp, widths: [4]}", "encoder: {type: keras_layers, layers: [{class_name: Lambda}]}"
            ),
            "model.encoder.layers[0].class_name",
        ),
        "cycle.yaml": ("extends: cycle.yaml\n" + GOOD, "extends cycle"),
    }
    for name, (text, fragment) in cases.items():
        spec = write(tmp_path, name, text)
        assert main(["run", str(spec), "-o", str(tmp_path / "run")]) == 2, name
        err = capsys.readouterr().err
        assert fragment in err and f"{spec}:" in err and "Traceback" not in err, err
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(cases)


def test_bad_override_exits_2(tmp_path, capsys):
    spec = write(tmp_path, "spec.yaml", GOOD)
    assert main(["run", str(spec), "train.epochs=zero", "-o", str(tmp_path / "run")]) == 2
    assert "<command line> 'train.epochs=zero': train.epochs" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_spec_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.yaml")]) == 2
    assert "no such spec file" in capsys.readouterr().err


def test_compare_needs_run_directories(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "expected a finished run directory" in capsys.readouterr().err


def test_console_script_exit_code_without_traceback(tmp_path):
    bad = write(tmp_path, "spec.yaml", "name: [\n")
    result = subprocess.run(
        [sys.executable, "-m", "geokeras.cli", "validate", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "malformed YAML" in result.stderr and "Traceback" not in result.stderr


def test_run_into_a_symlink_exits_2_before_any_work(tmp_path, capsys):
    spec = write(tmp_path, "spec.yaml", GOOD)
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    assert main(["run", str(spec), "-o", str(tmp_path / "out")]) == 2
    assert "Received a symlink (to " in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", spec.name]


def test_run_prints_every_metrics_warning_to_stderr(monkeypatch, capsys):
    # The run itself is replaced: only what the command prints from its metrics is checked.
    from types import SimpleNamespace

    import geokeras.api

    metrics = {
        "training": {"final_loss": 0.5, "epochs": 2, "seconds": 1.0},
        "ot": {"converged": False, "warning": "newton did not converge: max_steps=1 reached"},
        "ot_quality": {"tv": 0.1},
    }
    monkeypatch.setattr(geokeras.api, "run", lambda *args, **kwargs: SimpleNamespace(run_dir="runs/x", metrics=metrics))
    assert main(["run", "spec.yaml"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "geokeras: wrote runs/x (final loss 0.5 after 2 epochs, 1.0 s)\n"
    assert captured.err == "geokeras: warning: ot: newton did not converge: max_steps=1 reached\n"


@pytest.mark.parametrize(
    "arguments, verbose",
    [(["run", "spec.yaml"], False), (["-v", "run", "spec.yaml"], True), (["run", "spec.yaml", "--verbose"], True)],
)
def test_verbose_flag_goes_before_or_after_the_command(monkeypatch, capsys, arguments, verbose):
    from types import SimpleNamespace

    import geokeras.api

    received = {}
    metrics = {"training": {"final_loss": 0.5, "epochs": 2, "seconds": 1.0}}

    def run(*args, **kwargs):
        received.update(kwargs)
        return SimpleNamespace(run_dir="runs/x", metrics=metrics)

    monkeypatch.setattr(geokeras.api, "run", run)
    assert main(arguments) == 0
    assert received["verbose"] is verbose
