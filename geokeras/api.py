"""``geokeras.run``: one spec in, one run directory out.

The pipeline::

    spec -> manifold samples -> Keras encoder/decoder -> fit -> evaluators -> run directory

Everything that can fail on bad input (the spec, the manifold's parameters, the model's
layers) is checked before the run directory's staging folder is created, so a bad spec
leaves nothing behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Union

import yaml

from geokeras.errors import SpecError, SpecErrors, located_under
from geokeras.limits import MAX_SAMPLE_MAGNITUDE
from geokeras.report.provenance import collect_provenance, now_utc
from geokeras.report.run_dir import HASH_LINE, RESOLVED_SPEC, TRAINING_METRICS, StagedRunDirectory, write_json
from geokeras.spec import Spec, load_spec, spec_from_mapping

DEFAULT_RUNS_ROOT = Path("runs")

# Independent streams derived from the spec's seed: changing how many training samples are
# drawn never changes the held-out samples, and vice versa.
TRAINING_DATA_STREAM = 0
EVALUATION_STREAM = 1
OT_SOLVE_STREAM = 2
OT_GENERATE_STREAM = 3


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` returns: the finished run directory and its metrics.json content."""

    run_dir: Path
    metrics: dict[str, Any]
    spec: Spec


def resolve(spec_or_path: Union[Spec, dict, str, Path], overrides: Iterable[str] = ()) -> Spec:
    """A resolved :class:`Spec` from a path, a mapping or a Spec (overrides applied)."""
    overrides = tuple(overrides)
    if isinstance(spec_or_path, Spec):
        if not overrides:
            return spec_or_path
        return spec_from_mapping(spec_or_path.to_dict(), overrides)
    if isinstance(spec_or_path, dict):
        return spec_from_mapping(spec_or_path, overrides)
    return load_spec(spec_or_path, overrides)


def derived_seed(seed: int, stream: int) -> int:
    """A seed for one random stream of a run, derived from the spec's seed (numpy SeedSequence)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def run(
    spec_or_path: Union[Spec, dict, str, Path],
    out_dir: Union[str, Path, None] = None,
    overrides: Iterable[str] = (),
    *,
    resume: bool = False,
    runs_root: Union[str, Path] = DEFAULT_RUNS_ROOT,
) -> RunResult:
    """Run the experiment a spec describes and write its run directory.

    Args:
        spec_or_path: a spec file, a spec mapping, or a resolved :class:`Spec`.
        out_dir: the run directory; default ``runs_root/<name>-<hash12>``.
        overrides: ``"a.b.c=value"`` strings applied after ``extends``.
        resume: continue an interrupted run of the same spec from its last checkpoint.
        runs_root: parent of the default run directory.

    Returns:
        :class:`RunResult` with ``run_dir`` and ``metrics`` (the content of metrics.json).

    Raises:
        geokeras.errors.GeokerasInputError: bad spec or input; nothing is left on disk.
    """
    spec = resolve(spec_or_path, overrides)
    final_path = Path(out_dir) if out_dir is not None else Path(runs_root) / spec.run_name
    run_directory = StagedRunDirectory(final_path, resume=resume, spec_hash=spec.content_hash)
    run_directory.check_available()
    started = now_utc()

    with _locate_spec_errors(spec):
        prepared = _prepare(spec)
    with run_directory as staging:
        _write_spec_files(spec, staging)
        metrics = _train_and_evaluate(spec, prepared, staging, resume=run_directory.resumed)
        provenance = collect_provenance(
            seeds=prepared["seeds"],
            devices=prepared["devices"],
            started=started,
            finished=now_utc(),
            resumed=run_directory.resumed,
        )
        write_json(staging / "provenance.json", provenance)
        _write_report(spec, metrics, prepared["figures"], provenance, staging)
    return RunResult(run_dir=final_path, metrics=metrics, spec=spec)


@contextmanager
def _locate_spec_errors(spec: Spec) -> Iterator[None]:
    """Give the SpecError(s) raised while building the spec's file position.

    Domain code raises errors at key paths relative to its parameters; the calls inside put them
    under the spec section they came from (``located_under("manifold")``), and this adds where
    that key was written.
    """

    def located(error: SpecError) -> SpecError:
        return spec.error(error.message, error.path) if error.location is None and error.path else error

    try:
        yield
    except SpecError as error:
        raise located(error) from None
    except SpecErrors as errors:
        raise SpecErrors([located(error) for error in errors.errors]) from None


def _prepare(spec: Spec) -> dict[str, Any]:
    """Everything that validates input: runtime, manifold, evaluators against the manifold, finite
    samples, the model's size and layers (no files written)."""
    import numpy as np

    from geokeras.evaluate.compatibility import check_evaluators
    from geokeras.manifolds import make
    from geokeras.models.builder import build_autoencoder
    from geokeras.models.runtime import configure_runtime, device_summary

    with located_under("runtime"):
        strategy = configure_runtime(spec.runtime, spec.seed)
    with located_under("manifold"):
        manifold = make(spec.manifold)
    with located_under("evaluate"):
        check_evaluators(spec.evaluate, manifold)
    seeds = {
        "spec": spec.seed,
        "training_data": derived_seed(spec.seed, TRAINING_DATA_STREAM),
        "evaluation": derived_seed(spec.seed, EVALUATION_STREAM),
    }
    if spec.latent_ot is not None:
        _check_latent_ot(spec)
        seeds["ot_solve"] = derived_seed(spec.seed, OT_SOLVE_STREAM)
        seeds["ot_generate"] = derived_seed(spec.seed, OT_GENERATE_STREAM)
    with located_under("manifold"):
        x_train, parameters = manifold.sample_with_parameters(spec.manifold.samples, seeds["training_data"])
    peak = float(np.max(np.abs(x_train))) if np.size(x_train) else 0.0
    if not peak <= MAX_SAMPLE_MAGNITUDE:  # NaN fails this comparison too
        raise SpecError(
            f"expected training samples of finite coordinates at most {MAX_SAMPLE_MAGNITUDE:g} in absolute "
            f"value (squared distances must stay finite in float32, the precision of training). Received: "
            f"samples of manifold type {spec.manifold.type!r} reaching {peak:g}; make its lengths, noise or "
            f"embedding scale smaller.",
            ("manifold",),
        )
    with strategy.scope(), located_under("model"):
        bundle = build_autoencoder(spec.model, tuple(x_train.shape[1:]), code_l1=spec.train.loss.code_l1)
    return {
        "strategy": strategy,
        "manifold": manifold,
        "x_train": x_train,
        "parameters": parameters,
        "bundle": bundle,
        "seeds": seeds,
        "devices": device_summary(),
        "figures": [],
    }


def _write_spec_files(spec: Spec, staging: Path) -> None:
    origin = spec.origin
    given = origin.text if origin is not None else spec.to_yaml()
    (staging / "spec.yaml").write_text(given, encoding="utf-8")
    header = f"# resolved spec of {spec.run_name}\n{HASH_LINE}{spec.content_hash}\n"
    (staging / RESOLVED_SPEC).write_text(header + spec.to_yaml(), encoding="utf-8")
    overrides = list(origin.overrides) if origin is not None else []
    (staging / "overrides.yaml").write_text(yaml.safe_dump(overrides, sort_keys=False), encoding="utf-8")


def _train_and_evaluate(spec: Spec, prepared: dict[str, Any], staging: Path, *, resume: bool) -> dict[str, Any]:
    from geokeras.evaluate import run_evaluators
    from geokeras.evaluate.context import EvaluationContext
    from geokeras.models.runtime import jit_compile_setting
    from geokeras.models.training import train_autoencoder

    bundle = prepared["bundle"]
    with located_under("runtime"):
        jit_compile = jit_compile_setting(spec.runtime)
    with prepared["strategy"].scope(), located_under("train"):
        training = train_autoencoder(
            bundle,
            prepared["x_train"],
            spec.train,
            jit_compile=jit_compile,
            checkpoint_dir=staging / "checkpoints",
            log_dir=staging / "logs",
            resume=resume,
            seed=spec.seed,
        )
    models_dir = staging / "models"
    models_dir.mkdir(exist_ok=True)
    for name in ("encoder", "decoder", "autoencoder"):
        getattr(bundle, name).save(models_dir / f"{name}.keras")
    ot_result, generation = None, None
    if spec.latent_ot is not None:
        with _locate_spec_errors(spec):
            ot_result, generation = _solve_latent_ot(spec, prepared, staging)

    figures_dir = staging / "figures" if spec.report.figures else None
    if figures_dir is not None:
        figures_dir.mkdir(exist_ok=True)
    context = EvaluationContext(
        manifold=prepared["manifold"],
        encoder=bundle.encoder,
        decoder=bundle.decoder,
        autoencoder=bundle.autoencoder,
        x_train=prepared["x_train"],
        seed=prepared["seeds"]["evaluation"],
        report=spec.report,
        figures_dir=figures_dir,
        ot=ot_result,
        generation=generation,
    )
    with located_under("evaluate"):
        evaluations = run_evaluators(spec.evaluate, context)
    prepared["figures"].extend(context.figures)
    if figures_dir is not None:
        prepared["figures"][:0] = _standard_figures(spec, prepared, training, figures_dir)

    import shutil

    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    metrics = {
        "spec": {"name": spec.name, "hash": spec.content_hash},
        "training": {name: getattr(training, name) for name in TRAINING_METRICS},
        **({"ot": {**ot_result.to_metrics(), "generate": generation.to_metrics()}} if ot_result is not None else {}),
        **evaluations,
    }
    write_json(staging / "metrics.json", metrics)
    write_json(staging / "history.json", training.history)
    return metrics


def _check_latent_ot(spec: Spec) -> None:
    """Fail before any file is written when the latent_ot section cannot apply to this model."""
    from geokeras.ot.solve import make_solver_params
    from geokeras.ot.sources import make_source

    latent_dim = spec.model.latent_dim
    with located_under("latent_ot", "source"):
        make_source(spec.latent_ot.source, latent_dim)
    with located_under("latent_ot", "solver"):
        solver = make_solver_params(spec.latent_ot.solver)
    if solver.type == "newton" and (latent_dim != 2 or spec.latent_ot.source.type != "uniform_cube"):
        raise SpecError(
            f"expected model.latent_dim = 2 and a uniform_cube source for the newton solver (exact "
            f"power cells in the plane). Received: latent_dim={latent_dim}, source type "
            f"{spec.latent_ot.source.type!r}; use monte_carlo_adam.",
            ("latent_ot", "solver", "type"),
        )


def _solve_latent_ot(spec: Spec, prepared: dict[str, Any], staging: Path) -> tuple[Any, Any]:
    """Encode the training data, solve semi-discrete OT onto the codes, generate (AE-OT).

    Saves the OT map as ``models/ot.keras`` (a Keras model around the SemiDiscreteOT layer,
    source samples in, codes out). Returns ``(OTResult, GenerationResult)``.
    """
    import keras
    import numpy as np

    from geokeras.ot.generation import generate
    from geokeras.ot.solve import solve

    section = spec.latent_ot
    bundle = prepared["bundle"]
    codes = np.asarray(bundle.encoder.predict(prepared["x_train"], batch_size=4096, verbose=0), dtype=np.float32)
    codes = codes.reshape(codes.shape[0], -1)
    if section.max_codes is not None and codes.shape[0] > section.max_codes:
        rng = np.random.Generator(np.random.PCG64(prepared["seeds"]["ot_solve"]))
        codes = codes[np.sort(rng.choice(codes.shape[0], section.max_codes, replace=False))]
    with located_under("latent_ot", "solver"):  # the source was checked before training
        result = solve(
            codes,
            source=section.source,
            solver=section.solver,
            seed=prepared["seeds"]["ot_solve"],
            checkpoint_dir=staging / "checkpoints" / "ot" if section.solver.type == "monte_carlo_adam" else None,
        )
    inputs = keras.Input(shape=(codes.shape[1],), name="source_samples")
    keras.Model(inputs, result.layer(inputs), name="ot_map").save(staging / "models" / "ot.keras")
    generation = generate(
        result.targets,
        result.heights,
        result.source,
        section.generate,
        seed=prepared["seeds"]["ot_generate"],
        decoder=bundle.decoder,
    )
    return result, generation


def _standard_figures(spec: Spec, prepared: dict[str, Any], training: Any, figures_dir: Path) -> list[tuple[str, str]]:
    """The figures every run shows: loss curve, the data, its latent codes."""
    from geokeras.report import figures

    dpi, max_points = spec.report.dpi, spec.report.max_points
    x_train, parameters = prepared["x_train"], prepared["parameters"]
    label = (prepared["manifold"].parameter_names or (None,))[0]  # the colour is column 1
    image_shape = prepared["manifold"].image_shape  # (H, W, C) for image data, else None
    codes = prepared["bundle"].encoder.predict(x_train, batch_size=4096, verbose=0)
    drawn = [
        ("Training loss", figures.plot_training_curves(training.history, figures_dir / "training_loss.png", dpi)),
        ("Training data", figures.plot_manifold(
            x_train, parameters, figures_dir / "manifold.png", dpi, max_points, parameter_label=label,
            title=f"Training data: {spec.manifold.type}")) if image_shape is None else
        ("Training data and reconstructions", figures.plot_image_grid(
            x_train[:64], figures_dir / "manifold.png", dpi, image_shape=image_shape, labels=parameters[:64, 0],
            reconstructions=prepared["bundle"].autoencoder.predict(x_train[:64], verbose=0),
            title=f"Training data (left) and reconstructions (right): {spec.manifold.type}")),
        ("Latent codes", figures.plot_latent_codes(
            codes, parameters, figures_dir / "latent_codes.png", dpi, max_points, parameter_label=label)),
    ]
    return [(title, Path(path).relative_to(figures_dir.parent).as_posix()) for title, path in drawn]


def _write_report(spec: Spec, metrics: dict[str, Any], figures: list, provenance: dict, staging: Path) -> None:
    from geokeras.report.markdown import render_report

    text = render_report(
        spec_name=spec.name,
        spec_hash=spec.content_hash,
        metrics=metrics,
        figures=figures,
        provenance=provenance,
    )
    (staging / "report.md").write_text(text, encoding="utf-8")
