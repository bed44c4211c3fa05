"""``geokeras.run``: one spec in, one run directory out.

The pipeline, one short function per stage, each handing the next a frozen record::

    spec -> PreparedRun -> TrainingResult (models saved) -> LatentCodes -> OTOutcome
         -> Evaluations -> metrics.json, history.json, provenance.json, report.md

Everything that can fail on bad input (the spec, the manifold's parameters, the model's
layers) is checked before the run directory's staging folder is created, so a bad spec
leaves nothing behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Union

import yaml

from geokeras import report_stage as stage
from geokeras.errors import SpecError, SpecErrors, located_under
from geokeras.limits import MAX_SAMPLE_MAGNITUDE
from geokeras.models.loss_summary import training_metrics
from geokeras.report.provenance import collect_provenance, now_utc
from geokeras.report.run_dir import HASH_LINE, RESOLVED_SPEC, StagedRunDirectory, write_json
from geokeras.seeds import EVALUATION_STREAM, OT_GENERATE_STREAM, OT_SOLVE_STREAM, TRAINING_DATA_STREAM, stream_seed
from geokeras.spec import Spec, load_spec, spec_from_mapping

if TYPE_CHECKING:  # annotations only: running imports TensorFlow, importing geokeras does not
    import numpy as np

    from geokeras.manifolds import Manifold
    from geokeras.models.builder import Autoencoder
    from geokeras.models.training import TrainingResult
    from geokeras.ot.generation import GenerationResult
    from geokeras.ot.solve import OTResult

DEFAULT_RUNS_ROOT = Path("runs")

Figures = stage.Figures


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` returns: the finished run directory and its metrics.json content."""

    run_dir: Path
    metrics: dict[str, Any]
    spec: Spec


@dataclass(frozen=True)
class PreparedRun:
    """Everything checked and built before a file is written.

    Attributes:
        strategy: the ``tf.distribute`` strategy the models are built and trained under.
        manifold: the data's manifold.
        x_train: the training samples, shape=[n, *sample_shape].
        parameters: their manifold parameters, shape=[n, intrinsic parameters] (figure colours).
        bundle: the untrained encoder, decoder and autoencoder.
        seeds: ``{"spec", "training_data", "evaluation"[, "ot_solve", "ot_generate"]}``, for
            provenance.json (see :mod:`geokeras.seeds`).
        devices: the devices the run sees, for provenance.json.
    """

    strategy: Any
    manifold: Manifold
    x_train: np.ndarray
    parameters: np.ndarray
    bundle: Autoencoder
    seeds: Mapping[str, int]
    devices: list[str]


@dataclass(frozen=True)
class LatentCodes:
    """The training samples under the trained encoder, shape=[n, latent_dim] float32, encoded once."""

    codes: np.ndarray


@dataclass(frozen=True)
class OTOutcome:
    """The latent OT map onto the codes and the AE-OT samples it generated."""

    result: OTResult
    generation: GenerationResult

    def to_metrics(self) -> dict[str, Any]:
        """The ``ot`` section of metrics.json, generation as its ``generate`` entry."""
        return {**self.result.to_metrics(), "generate": self.generation.to_metrics()}


@dataclass(frozen=True)
class Evaluations:
    """``{evaluator type: its metrics}`` in spec order, and the figures the evaluators drew."""

    metrics: dict[str, dict]
    figures: Figures


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

    with _locate_spec_errors(spec):  # errors of any stage, at the key and line of the spec
        prepared = _prepare(spec)
        with run_directory as staging:
            metrics = _run_stages(spec, prepared, staging, resumed=run_directory.resumed, started=started)
    return RunResult(run_dir=final_path, metrics=metrics, spec=spec)


def _run_stages(spec: Spec, prepared: PreparedRun, staging: Path, *, resumed: bool, started: str) -> dict[str, Any]:
    """Train, save, encode, solve OT, evaluate and report into ``staging``; returns metrics.json's content."""
    _write_spec_files(spec, staging)
    training = _train(spec, prepared, staging, resume=resumed)
    _save_models(prepared.bundle, staging)
    figures_dir = staging / "figures" if spec.report.figures else None
    codes = _encode_training_set(prepared) if spec.latent_ot is not None or figures_dir is not None else None
    ot = None
    if spec.latent_ot is not None:
        ot = _solve_latent_ot(spec, prepared, codes, staging)
    if figures_dir is not None:
        figures_dir.mkdir(exist_ok=True)
    trained = _trained_run(prepared, training, ot)
    evaluations = Evaluations(*stage.evaluate(spec, trained, figures_dir))
    standard = stage.standard_figures(spec, trained, codes.codes, figures_dir) if figures_dir is not None else ()
    _remove_checkpoints(staging)
    metrics = _metrics(spec, training, ot, evaluations)
    write_json(staging / "metrics.json", metrics)
    write_json(staging / "history.json", training.history)
    provenance = collect_provenance(
        seeds=dict(prepared.seeds),
        devices=prepared.devices,
        started=started,
        finished=now_utc(),
        resumed=resumed,
    )
    write_json(staging / "provenance.json", provenance)
    stage.write_report(spec, metrics, (*standard, *evaluations.figures), provenance, staging)
    return metrics


def _trained_run(prepared: PreparedRun, training: TrainingResult, ot: Optional[OTOutcome]) -> stage.TrainedRun:
    """What the figure and report stage (:mod:`geokeras.report_stage`) draws from."""
    return stage.TrainedRun(
        manifold=prepared.manifold,
        x_train=prepared.x_train,
        parameters=prepared.parameters,
        encoder=prepared.bundle.encoder,
        decoder=prepared.bundle.decoder,
        autoencoder=prepared.bundle.autoencoder,
        history=training.history,
        evaluation_seed=prepared.seeds["evaluation"],
        ot=ot.result if ot is not None else None,
        generation=ot.generation if ot is not None else None,
    )


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


# ----------------------------------------------------------------------------- before any file


def _prepare(spec: Spec) -> PreparedRun:
    """Everything that validates input: runtime, manifold, evaluators against the manifold, finite
    samples, the model's size and layers (no files written)."""
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
    if spec.latent_ot is not None:
        _check_latent_ot(spec)
    seeds = _run_seeds(spec)
    x_train, parameters = _sample_training_data(spec, manifold, seeds["training_data"])
    with strategy.scope(), located_under("model"):
        bundle = build_autoencoder(spec.model, tuple(x_train.shape[1:]), code_l1=spec.train.loss.code_l1)
    return PreparedRun(
        strategy=strategy,
        manifold=manifold,
        x_train=x_train,
        parameters=parameters,
        bundle=bundle,
        seeds=seeds,
        devices=device_summary(),
    )


def _run_seeds(spec: Spec) -> dict[str, int]:
    """The spec's seed and the seeds of the run's streams (:mod:`geokeras.seeds`)."""
    seeds = {
        "spec": spec.seed,
        "training_data": stream_seed(spec.seed, TRAINING_DATA_STREAM),
        "evaluation": stream_seed(spec.seed, EVALUATION_STREAM),
    }
    if spec.latent_ot is not None:
        seeds["ot_solve"] = stream_seed(spec.seed, OT_SOLVE_STREAM)
        seeds["ot_generate"] = stream_seed(spec.seed, OT_GENERATE_STREAM)
    return seeds


def _sample_training_data(spec: Spec, manifold: Manifold, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(samples, parameters)`` of the training data, refused when float32 cannot hold them."""
    import numpy as np

    with located_under("manifold"):
        x_train, parameters = manifold.sample_with_parameters(spec.manifold.samples, seed)
    peak = float(np.max(np.abs(x_train))) if np.size(x_train) else 0.0
    if not peak <= MAX_SAMPLE_MAGNITUDE:  # NaN fails this comparison too
        raise SpecError(
            f"expected training samples of finite coordinates at most {MAX_SAMPLE_MAGNITUDE:g} in absolute "
            f"value (squared distances must stay finite in float32, the precision of training). Received: "
            f"samples of manifold type {spec.manifold.type!r} reaching {peak:g}; make its lengths, noise or "
            f"embedding scale smaller.",
            ("manifold",),
        )
    return x_train, parameters


def _check_latent_ot(spec: Spec) -> None:
    """Fail before any file is written when the latent_ot section cannot apply to this model:
    the source must exist in the latent dimension and the solver must accept the problem."""
    from geokeras.ot.sources import make_source

    section, latent_dim = spec.latent_ot, spec.model.latent_dim
    with located_under("latent_ot", "source"):
        make_source(section.source, latent_dim)
    with located_under("latent_ot", "solver"):
        section.solver.check_applicable(latent_dim, section.source)


# ----------------------------------------------------------------------------- the run directory


def _write_spec_files(spec: Spec, staging: Path) -> None:
    origin = spec.origin
    given = origin.text if origin is not None else spec.to_yaml()
    (staging / "spec.yaml").write_text(given, encoding="utf-8")
    _write_resolved_spec(spec, staging)
    overrides = list(origin.overrides) if origin is not None else []
    (staging / "overrides.yaml").write_text(yaml.safe_dump(overrides, sort_keys=False), encoding="utf-8")


def _write_resolved_spec(spec: Spec, folder: Path) -> None:
    """``resolved.yaml``: the hash line, then every key of the resolved spec (display-only ones too)."""
    header = f"# resolved spec of {spec.run_name}\n{HASH_LINE}{spec.content_hash}\n"
    (folder / RESOLVED_SPEC).write_text(header + spec.to_yaml(), encoding="utf-8")


def _train(spec: Spec, prepared: PreparedRun, staging: Path, *, resume: bool) -> TrainingResult:
    """Fit the autoencoder (checkpoints and TensorBoard logs in the staging folder)."""
    from geokeras.models.runtime import jit_compile_setting
    from geokeras.models.training import train_autoencoder

    with located_under("runtime"):
        jit_compile = jit_compile_setting(spec.runtime)
    with prepared.strategy.scope(), located_under("train"):
        return train_autoencoder(
            prepared.bundle,
            prepared.x_train,
            spec.train,
            jit_compile=jit_compile,
            checkpoint_dir=staging / "checkpoints",
            log_dir=staging / "logs",
            resume=resume,
            seed=spec.seed,
        )


def _save_models(bundle: Autoencoder, staging: Path) -> None:
    """``models/{encoder,decoder,autoencoder}.keras``."""
    models_dir = staging / "models"
    models_dir.mkdir(exist_ok=True)
    for name in ("encoder", "decoder", "autoencoder"):
        getattr(bundle, name).save(models_dir / f"{name}.keras")


def _encode_training_set(prepared: PreparedRun) -> LatentCodes:
    """The codes of the training samples under the trained encoder (for OT and the latent figure)."""
    return LatentCodes(stage.encode(prepared.bundle.encoder, prepared.x_train))


def _solve_latent_ot(spec: Spec, prepared: PreparedRun, codes: LatentCodes, staging: Path) -> OTOutcome:
    """Solve semi-discrete OT onto the codes, then generate (AE-OT).

    Saves the OT map as ``models/ot.keras`` (a Keras model around the SemiDiscreteOT layer,
    source samples in, codes out).
    """
    import keras
    import numpy as np

    from geokeras.ot.generation import generate
    from geokeras.ot.solve import solve

    section = spec.latent_ot
    targets = codes.codes
    if section.max_codes is not None and targets.shape[0] > section.max_codes:
        rng = np.random.Generator(np.random.PCG64(prepared.seeds["ot_solve"]))
        targets = targets[np.sort(rng.choice(targets.shape[0], section.max_codes, replace=False))]
    with located_under("latent_ot", "solver"):  # the source was checked before training
        result = solve(
            targets,
            source=section.source,
            solver=section.solver,
            seed=prepared.seeds["ot_solve"],
            checkpoint_dir=staging / "checkpoints" / "ot" if section.solver.resumable else None,
        )
    inputs = keras.Input(shape=(targets.shape[1],), name="source_samples")
    keras.Model(inputs, result.layer(inputs), name="ot_map").save(staging / "models" / "ot.keras")
    with located_under("latent_ot", "generate"):
        generation = generate(
            result.targets,
            result.heights,
            result.source,
            section.generate,
            seed=prepared.seeds["ot_generate"],
            decoder=prepared.bundle.decoder,
        )
    return OTOutcome(result, generation)


def _remove_checkpoints(staging: Path) -> None:
    """A finished run keeps its models, not the checkpoints it could have resumed from."""
    import shutil

    shutil.rmtree(staging / "checkpoints", ignore_errors=True)


def _metrics(spec: Spec, training: TrainingResult, ot: Optional[OTOutcome], evaluations: Evaluations) -> dict:
    """The content of metrics.json: the spec's identity, training, the OT map, each evaluator."""
    return {
        "spec": {"name": spec.name, "hash": spec.content_hash},
        "training": training_metrics(training.history, training.epochs, training.seconds, training.samples_per_second),
        **({"ot": ot.to_metrics()} if ot is not None else {}),
        **evaluations.metrics,
    }
