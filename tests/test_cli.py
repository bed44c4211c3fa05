"""The command line: exit codes, messages, and no run directory left by bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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


# ----------------------------------------------------------------------------- --version, help, defaults, --force
def _all_parsers(parser):
    """The parser and every subcommand's parser."""
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_version_prints_the_package_version(capsys):
    from geokeras.cli import package_version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"geokeras {package_version()}\n"
    assert package_version() == __import__("importlib.metadata").metadata.version("geokeras")


def test_every_argument_of_every_command_has_help():
    from geokeras.cli import _parser

    missing = [
        f"{parser.prog}: {action.dest}"
        for parser in _all_parsers(_parser())
        for action in parser._actions
        if not action.help
    ]
    assert missing == []


def test_every_command_shows_examples():
    from geokeras.cli import _parser

    subcommands = list(_all_parsers(_parser()))[1:]
    assert len(subcommands) >= 6
    assert [parser.prog for parser in subcommands if "examples:\n  geokeras " not in parser.format_help()] == []


def test_run_without_a_spec_runs_the_default_spec(tmp_path, monkeypatch, capsys):
    import geokeras.api

    calls = []

    def fake_run(spec, out, overrides, **options):
        calls.append((spec, list(overrides), options))
        metrics = {"training": {"final_loss": 0.5, "epochs": 1, "seconds": 0.1}}
        return geokeras.api.RunResult(run_dir=tmp_path / "run", metrics=metrics, spec=None)

    monkeypatch.setattr(geokeras.api, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    write(tmp_path, "specs/quickstart.yaml", GOOD)
    assert main(["run"]) == 0
    assert main(["run", "train.epochs=3", "seed=2"]) == 0
    assert main(["run", "-o", "out", "--force", "seed=2"]) == 0  # scripts/run.py passes its arguments so
    assert calls == [
        (Path("specs/quickstart.yaml"), [], {"resume": False, "force": False, "verbose": False}),
        (
            Path("specs/quickstart.yaml"),
            ["train.epochs=3", "seed=2"],
            {"resume": False, "force": False, "verbose": False},
        ),
        (Path("specs/quickstart.yaml"), ["seed=2"], {"resume": False, "force": True, "verbose": False}),
    ]
    assert "running the default spec specs/quickstart.yaml" in capsys.readouterr().err


def test_run_without_a_spec_and_no_default_asks_for_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "geokeras: error: expected a SPEC file: geokeras run SPEC [key=value ...]. Received none, and the "
        f"default specs/quickstart.yaml is not in the current directory ({tmp_path}).\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_force_and_resume_together_are_refused(tmp_path, capsys):
    spec = write(tmp_path, "spec.yaml", GOOD)
    assert main(["run", str(spec), "--force", "--resume"]) == 2
    assert "expected either --resume (continue an interrupted run) or --force" in capsys.readouterr().err


def test_force_replaces_a_finished_run_directory(tmp_path, monkeypatch, capsys):
    """A fake run stage (no training): the second run needs --force, which replaces the first."""
    import geokeras.api

    runs = []

    def fake_stages(spec, prepared, staging, *, resumed, started):
        runs.append(staging)
        (staging / "resolved.yaml").write_text(f"# resolved\n# sha256: {spec.content_hash}\n", encoding="utf-8")
        (staging / "metrics.json").write_text(str(len(runs)), encoding="utf-8")
        return {"training": {"final_loss": 0.5, "epochs": 1, "seconds": 0.1}}

    untrained = SimpleNamespace(bundle=SimpleNamespace(encoder=None, decoder=None, autoencoder=None))
    monkeypatch.setattr(geokeras.api, "_prepare", lambda spec, **options: untrained)
    monkeypatch.setattr(geokeras.api, "_run_stages", fake_stages)
    spec, out = write(tmp_path, "spec.yaml", GOOD), tmp_path / "run"
    assert main(["run", str(spec), "-o", str(out)]) == 0
    assert main(["run", str(spec), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["run", str(spec), "-o", str(out), "--force"]) == 0
    assert (out / "metrics.json").read_text(encoding="utf-8") == "2"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["run", "spec.yaml"]


# ----------------------------------------------------------------------------- validate does every check without TF
LAYERS = """\
name: layers
manifold: {type: circle, samples: 64}
model:
  latent_dim: 2
  encoder:
    type: keras_layers
    layers:
      - {class_name: Dense, config: {units: 2}}
  decoder: {type: mirror}
"""


@pytest.mark.parametrize(
    "text, located, message",
    [
        (
            LAYERS,
            "9:13: model.decoder.type",
            "decoder type mirror needs an mlp or conv encoder to mirror. Received encoder type 'keras_layers'.",
        ),
        (
            LAYERS.replace("Dense", "Dens").replace("  decoder: {type: mirror}\n", "  decoder: {type: mlp}\n"),
            "8:10: model.encoder.layers[0].class_name",
            "unknown Keras layer 'Dens': did you mean 'Dense'?",
        ),
    ],
)
def test_validate_refuses_what_run_would_refuse_with_located_errors(tmp_path, capsys, text, located, message):
    path = write(tmp_path, "spec.yaml", text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"geokeras: error: {path}:{located}: ") and message in err


def test_validate_checks_evaluators_against_the_built_manifold(tmp_path, capsys):
    """rlc_on_manifold with method exact needs a polyline or a mesh: a point cloud of digits has none."""
    text = GOOD.replace("manifold: {type: circle, samples: 64}", "manifold: {type: digits, samples: 64}").replace(
        "evaluate: [{type: reconstruction, samples: 32}]", "evaluate: [{type: rlc_on_manifold, method: exact}]"
    )
    path = write(tmp_path, "spec.yaml", text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"geokeras: error: {path}:6:")
        and "evaluate[0].method: method: exact needs a manifold with exact geometry" in err
    )


def test_validate_of_every_shipped_spec_imports_no_tensorflow():
    specs = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "specs").rglob("*.yaml"))
    code = (
        "import sys; from geokeras.cli import main; "
        f"rc = main(['validate', *{specs!r}]); "
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 []"


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


def test_overrides_may_follow_an_option(monkeypatch):
    """``geokeras run SPEC -o DIR key=value``: argparse alone refuses a positional after an option."""
    import geokeras.api

    received = {}

    def run(spec, out, overrides, **options):
        received.update(spec=spec, out=out, overrides=list(overrides))
        return SimpleNamespace(run_dir="runs/x", metrics={"training": {"final_loss": 0.5, "epochs": 2, "seconds": 1.0}})

    monkeypatch.setattr(geokeras.api, "run", run)
    assert main(["run", "spec.yaml", "seed=1", "-o", "out", "train.epochs=3", "--force"]) == 0
    assert received == {"spec": Path("spec.yaml"), "out": Path("out"), "overrides": ["seed=1", "train.epochs=3"]}
    with pytest.raises(SystemExit) as exited:
        main(["run", "spec.yaml", "-o", "out", "--no-such-option"])
    assert exited.value.code == 2
