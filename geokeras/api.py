"""``geokeras.run``: one spec in, one run directory out.

The pipeline, one short function per stage, each handing the next a frozen record::

    spec -> PreparedRun -> TrainingResult (models saved) -> LatentCodes -> OTOutcome
         -> Evaluations -> metrics.json, history.json, provenance.json, report.md

Everything that can fail on bad input (the spec, the manifold's parameters, the model's
layers) is checked before the run directory's staging folder is created, so a bad spec
leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

import yaml

from geokeras import report_stage
from geokeras.console import RunConsole, current_console, use_console
from geokeras.errors import GeokerasInputError, SpecError, located_under
from geokeras.limits import MAX_SAMPLE_MAGNITUDE
from geokeras.models.cluster import ClusterTask, cluster_task
from geokeras.models.loss_summary import training_metrics
from geokeras.preflight import located_in_spec
from geokeras.report.provenance import collect_provenance, now_utc
from geokeras.report.run_dir import HASH_LINE, RESOLVED_SPEC, StagedRunDirectory, write_json
from geokeras.report.tensorboard import write_run_summaries
from geokeras.seeds import EVALUATION_STREAM, OT_GENERATE_STREAM, OT_SOLVE_STREAM, TRAINING_DATA_STREAM, stream_seed
from geokeras.spec import Spec, load_spec, spec_from_mapping
from geokeras.tracking.track import check_tracker_installed, track_run

if TYPE_CHECKING:  # annotations only: running imports TensorFlow, importing geokeras does not
    import numpy as np

    from geokeras.manifolds import Manifold
    from geokeras.models.builder import Autoencoder
    from geokeras.models.training import TrainingResult
    from geokeras.ot.generation import GenerationResult
    from geokeras.ot.solve import OTResult

DEFAULT_RUNS_ROOT = Path("runs")

Figures = report_stage.Figures


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` (or :func:`load_run`) returns: the run directory, its metrics and its models.

    ``encoder``, ``decoder`` and ``autoencoder`` are the trained Keras models: those of the run
    itself after :func:`run`, else loaded on first use from ``models/autoencoder.keras`` (the
    encoder and decoder are its layers, sharing its weights). ``ot_map`` is the latent OT map
    (``models/ot.keras``), None for a run without ``latent_ot``.

    ``chief`` is False in a task of a multi-worker run that is not the chief (docs/scale-out.md): it
    trained and wrote nothing; ``run_dir`` is where the chief writes, ``metrics`` holds only the
    ``training`` section and the models are this task's copy of the trained ones.
    """

    run_dir: Path
    metrics: dict[str, Any]
    spec: Spec
    _models: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    chief: bool = True

    @property
    def encoder(self) -> Any:
        """The trained encoder phi: samples -> codes (a ``keras.Model``)."""
        return self._trained("encoder")

    @property
    def decoder(self) -> Any:
        """The trained decoder psi: codes -> samples (a ``keras.Model``)."""
        return self._trained("decoder")

    @property
    def autoencoder(self) -> Any:
        """psi o phi, sharing its layers with ``encoder`` and ``decoder`` (a ``keras.Model``)."""
        return self._trained("autoencoder")

    @property
    def ot_map(self) -> Any:
        """The latent OT map, source samples -> codes (a ``keras.Model``); None without ``latent_ot``."""
        if "ot_map" not in self._models:
            file = self.run_dir / "models" / "ot.keras"
            self._models["ot_map"] = _load_run_model(file, self.spec) if file.is_file() else None
        return self._models["ot_map"]

    def _trained(self, name: str) -> Any:
        if name not in self._models:
            from geokeras.models.builder import Autoencoder

            loaded = _load_run_model(self.run_dir / "models" / "autoencoder.keras", self.spec)
            bundle = Autoencoder.from_autoencoder(loaded)
            self._models.update(encoder=bundle.encoder, decoder=bundle.decoder, autoencoder=bundle.autoencoder)
        return self._models[name]


def load_run(run_dir: Union[str, Path]) -> RunResult:
    """The :class:`RunResult` of a finished run directory (its models are loaded on first use).

    Raises:
        GeokerasInputError: ``run_dir`` is not a finished run directory.
    """
    import json

    run_dir = Path(run_dir)
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        resolved = yaml.safe_load((run_dir / RESOLVED_SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise GeokerasInputError(
            f"expected a finished run directory (with metrics.json and {RESOLVED_SPEC}). Received {str(run_dir)!r}: "
            f"{type(error).__name__}: {error}"
        ) from None
    spec = spec_from_mapping(resolved, source=str(run_dir / RESOLVED_SPEC), check_files=False)
    return RunResult(run_dir=run_dir, metrics=metrics, spec=spec)


def _load_run_model(file: Path, spec: Spec) -> Any:
    """A model of a run directory, loaded in safe mode with the custom objects the spec's own models name."""
    import keras

    import geokeras.ot.layer  # noqa: F401  registers SemiDiscreteOT, the OT map's layer
    from geokeras.models.own_models import custom_objects_from

    custom_objects = {}
    for role in ("encoder", "decoder"):
        custom_objects.update(custom_objects_from(getattr(getattr(spec.model, role), "custom_objects_module", None)))
    return keras.saving.load_model(file, custom_objects=custom_objects, compile=False, safe_mode=True)


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
    """A resolved :class:`Spec` from a path, a mapping or a Spec (overrides applied).

    The files a Spec names are found again relative to its own spec file (:mod:`geokeras.files`).
    """
    from geokeras.files import pin_files, spec_directory

    overrides = tuple(overrides)
    if isinstance(spec_or_path, Spec):
        base_dir = spec_directory(spec_or_path.origin.path if spec_or_path.origin is not None else None)
        if not overrides:
            with located_in_spec(spec_or_path):
                return pin_files(spec_or_path, base_dir)
        return spec_from_mapping(spec_or_path.to_dict(), overrides, base_dir=base_dir)
    if isinstance(spec_or_path, dict):
        return spec_from_mapping(spec_or_path, overrides)
    return load_spec(spec_or_path, overrides)


def run(
    spec_or_path: Union[Spec, dict, str, Path],
    out_dir: Union[str, Path, None] = None,
    overrides: Iterable[str] = (),
    *,
    encoder: Any = None,
    decoder: Any = None,
    resume: bool = False,
    force: bool = False,
    runs_root: Union[str, Path] = DEFAULT_RUNS_ROOT,
    verbose: bool = False,
    console: Optional[RunConsole] = None,
) -> RunResult:
    """Run the experiment a spec describes and write its run directory.

    While it runs, stderr shows one line per stage with its wall time, and on a terminal a bar
    for training and other long loops (:mod:`geokeras.console`, docs/console.md).

    Args:
        spec_or_path: a spec file, a spec mapping, or a resolved :class:`Spec`.
        out_dir: the run directory; default ``runs_root/<name>-<hash12>``.
        overrides: ``"a.b.c=value"`` strings applied after ``extends``.
        encoder: a ``keras.Model`` to train as the encoder instead of ``model.encoder`` (from its
            current weights, on a copy); the spec records it as ``{type: keras_model, sha256: ...}``.
        decoder: likewise for ``model.decoder``.
        resume: continue an interrupted run of the same spec from its last checkpoint.
        force: replace a finished run directory at the destination; the old one is removed only
            once the new run is complete. Not together with ``resume``.
        runs_root: parent of the default run directory.
        verbose: leave TensorFlow's logs and Keras's and TensorFlow's warnings on (by default
            they are silenced before TensorFlow is imported: :mod:`geokeras.tf_logging`).
        console: where stage lines and bars go; default stderr. ``RunConsole(quiet=True)``
            prints nothing.

    Returns:
        :class:`RunResult` with ``run_dir``, ``metrics`` (the content of metrics.json) and the
        trained models (``encoder``, ``decoder``, ``autoencoder``, ``ot_map``).

    Raises:
        geokeras.errors.GeokerasInputError: bad spec or input; nothing is left on disk.
    """
    spec = resolve(spec_or_path, overrides)
    if encoder is not None or decoder is not None:
        from geokeras.models.own_models import with_own_models

        with located_in_spec(spec):
            spec = with_own_models(spec, encoder=encoder, decoder=decoder)
    final_path = Path(out_dir) if out_dir is not None else Path(runs_root) / spec.run_name
    task = _cluster_task(spec, resume=resume)
    if task is not None and not task.is_chief:
        return _train_as_worker(spec, final_path, task, verbose=verbose, console=console)
    run_directory = StagedRunDirectory(final_path, resume=resume, spec_hash=spec.content_hash, replace=force)
    run_directory.check_available()
    check_tracker_installed(spec)
    started = now_utc()

    with use_console(console if console is not None else RunConsole()), located_in_spec(spec):
        prepared = _prepare(spec, verbose=verbose)  # errors of any stage are located at the key and line of the spec
        with run_directory as staging:
            metrics = _run_stages(spec, prepared, staging, resumed=run_directory.resumed, started=started)
        track_run(spec, final_path)  # the run directory is final; a tracking failure is a warning
    bundle = prepared.bundle
    trained = {"encoder": bundle.encoder, "decoder": bundle.decoder, "autoencoder": bundle.autoencoder}
    if task is not None:  # the chief of a multi-worker run: its models load on first use, outside the strategy
        trained = {}
    return RunResult(run_dir=final_path, metrics=metrics, spec=spec, _models=trained)


# ----------------------------------------------------------------------------- multi-worker training


def _cluster_task(spec: Spec, *, resume: bool) -> Optional[ClusterTask]:
    """This process's task in a multi-worker run (``TF_CONFIG``), None for a run of one process.

    ``--resume`` is refused there: only the chief keeps checkpoints, so the tasks could not all
    continue from the same epoch.
    """
    if spec.runtime.strategy != "multi_worker":
        return None
    task = cluster_task()
    if task is not None and resume:
        raise GeokerasInputError(
            f"expected a run of one process for --resume. Received runtime.strategy multi_worker with "
            f"{task.tasks} tasks in TF_CONFIG: start the run again without --resume (the tasks keep no "
            f"common checkpoint)."
        )
    return task


def _train_as_worker(
    spec: Spec, final_path: Path, task: ClusterTask, *, verbose: bool, console: Optional[RunConsole]
) -> RunResult:
    """A task of a multi-worker run that is not the chief: train with the others, write nothing, return.

    Every task must take part in every collective operation of the fit, and in the saves after it
    (TensorFlow's rule for multi-worker checkpoints), so this one trains and saves like the chief, into
    a temporary folder deleted on return; it never creates, locks or writes ``final_path``. Evaluation,
    OT, figures and the report are the chief's alone, on its own copy of the trained models. The
    console prints nothing unless given one.
    """
    import tempfile

    with use_console(console if console is not None else RunConsole(quiet=True)), located_in_spec(spec):
        prepared = _prepare(spec, verbose=verbose)
        with tempfile.TemporaryDirectory(prefix=f"geokeras-{task.task_type}{task.index}-") as scratch:
            training = _train(spec, prepared, Path(scratch), resume=False)
            _save_models(prepared.bundle, Path(scratch))
            bundle = _local_copy(spec, Path(scratch))
    metrics = {
        "training": training_metrics(training.history, training.epochs, training.seconds, training.samples_per_second)
    }
    trained = {"encoder": bundle.encoder, "decoder": bundle.decoder, "autoencoder": bundle.autoencoder}
    return RunResult(run_dir=final_path, metrics=metrics, spec=spec, _models=trained, chief=False)


def _local_copy(spec: Spec, folder: Path) -> Autoencoder:
    """The trained models of ``folder/models``, loaded outside any distribution strategy.

    After a multi-worker fit the models' ``predict`` would still split its batches across the
    tasks, which have gone; the copy runs in this process alone, with the same weights.
    """
    from geokeras.models.builder import Autoencoder

    return Autoencoder.from_autoencoder(_load_run_model(folder / "models" / "autoencoder.keras", spec))


def _distributed_over_workers(prepared: PreparedRun) -> bool:
    """True when the models were trained by several processes (MultiWorkerMirroredStrategy, >1 task)."""
    extended = prepared.strategy.extended
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def _run_stages(spec: Spec, prepared: PreparedRun, staging: Path, *, resumed: bool, started: str) -> dict[str, Any]:
    """Train, save, encode, solve OT, evaluate and report into ``staging``; returns metrics.json's content."""
    console = current_console()
    _write_spec_files(spec, staging)
    _save_initial_models(spec, prepared.bundle, staging)
    with console.stage("training", _epochs_detail(spec, resumed)) as stage:
        training = _train(spec, prepared, staging, resume=resumed)
        _save_models(prepared.bundle, staging)
        stage.summary = f"loss {training.final_loss:.3g}"
        if training.epochs < spec.train.epochs:
            stage.summary += f" (stopped early after {training.epochs} epochs)"
    if _distributed_over_workers(prepared):  # the rest is the chief's alone, on its own copy of the models
        prepared = replace(prepared, bundle=_local_copy(spec, staging))
    figures_dir = staging / "figures" if spec.report.figures else None
    codes = _encode_training_set(prepared) if spec.latent_ot is not None or figures_dir is not None else None
    ot = None
    if spec.latent_ot is not None:
        ot = _solve_latent_ot(spec, prepared, codes, staging)
    if figures_dir is not None:
        figures_dir.mkdir(exist_ok=True)
    trained = _trained_run(prepared, training, ot)
    evaluations = Evaluations(*report_stage.evaluate(spec, trained, figures_dir))
    standard = ()
    if figures_dir is not None:
        with console.stage("figures") as stage:
            standard = report_stage.standard_figures(spec, trained, codes.codes, figures_dir)
            stage.detail = f"{len(standard) + len(evaluations.figures)} figures"
    with console.stage("report", "metrics.json, report.md"):
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
        report_stage.write_report(spec, metrics, (*standard, *evaluations.figures), provenance, staging)
        write_run_summaries(staging / "logs", spec.to_dict(), metrics, trial_id=spec.run_name)
    return metrics


def _epochs_detail(spec: Spec, resumed: bool) -> str:
    """``200 epochs`` (``200 epochs, resumed``): the training stage's detail."""
    return f"{spec.train.epochs} epochs" + (", resumed" if resumed else "")


def _trained_run(prepared: PreparedRun, training: TrainingResult, ot: Optional[OTOutcome]) -> report_stage.TrainedRun:
    """What the figure and report stage (:mod:`geokeras.report_stage`) draws from."""
    return report_stage.TrainedRun(
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


# ----------------------------------------------------------------------------- before any file


def _prepare(spec: Spec, *, verbose: bool = False) -> PreparedRun:
    """Everything that validates input: runtime, manifold, evaluators against the manifold, finite
    samples, the model's size and layers (no files written).

    The checks ``geokeras validate`` makes come first, before TensorFlow is imported; TensorFlow is
    first imported in the runtime stage, quietly unless ``verbose``; that stage shows no spinner
    because the quiet import holds the process's stderr for a moment.
    """
    from geokeras.evaluate.compatibility import check_lowerable_networks
    from geokeras.preflight import check_before_running

    manifold = check_before_running(spec)
    console = current_console()
    with console.stage("runtime", spinner=False) as stage:
        if not verbose:
            from geokeras.tf_logging import quiet_tensorflow

            quiet_tensorflow()
        from geokeras.models.runtime import configure_runtime, device_summary

        with located_under("runtime"):
            strategy = configure_runtime(spec.runtime, spec.seed)
        devices = device_summary()
        stage.detail = _runtime_detail(spec, devices)
    from geokeras.models.builder import build_autoencoder

    with console.stage("data") as stage:
        seeds = _run_seeds(spec)
        x_train, parameters = _sample_training_data(spec, manifold, seeds["training_data"])
        stage.detail = f"{len(x_train)} samples of {spec.manifold.type}, shape {list(x_train.shape[1:])}"
    with console.stage("model") as stage, strategy.scope(), located_under("model"):
        bundle = build_autoencoder(spec.model, tuple(x_train.shape[1:]), code_l1=spec.train.loss.code_l1)
        stage.detail = f"{bundle.autoencoder.count_params():,} parameters, latent dimension {spec.model.latent_dim}"
    with located_under("evaluate"):
        check_lowerable_networks(spec.evaluate, bundle)
    return PreparedRun(
        strategy=strategy,
        manifold=manifold,
        x_train=x_train,
        parameters=parameters,
        bundle=bundle,
        seeds=seeds,
        devices=devices,
    )


def _runtime_detail(spec: Spec, devices: list[str]) -> str:
    """``TensorFlow 2.21.0, auto strategy, CPU:0``: the runtime stage's detail.

    A multi-worker run names its task: ``multi_worker strategy (worker 0 of 2, the chief), CPU:0, CPU:0``.
    """
    import tensorflow as tf

    names = ", ".join(device.rpartition("/device:")[2] for device in devices)
    strategy = f"{spec.runtime.strategy} strategy"
    task = cluster_task() if spec.runtime.strategy == "multi_worker" else None
    if task is not None:
        strategy += f" ({task.describe()}{', the chief' if task.is_chief else ''})"
    return f"TensorFlow {tf.__version__}, {strategy}, {names}"


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


def _save_initial_models(spec: Spec, bundle: Autoencoder, staging: Path) -> None:
    """``models/initial_<role>.keras`` for an encoder or decoder of the researcher's own, before training:
    a keras_file's bytes copied (same sha256), a keras_model saved; ``{type: keras_file, path: ...}`` on
    it trains the same network again."""
    import shutil

    for role in ("encoder", "decoder"):
        params = getattr(spec.model, role)
        if params.type not in ("keras_file", "keras_model"):
            continue
        target = staging / "models" / f"initial_{role}.keras"
        target.parent.mkdir(exist_ok=True)
        if params.type == "keras_file" and params._file is not None:
            shutil.copyfile(params._file, target)
        else:
            getattr(bundle, role).save(target)


def _encode_training_set(prepared: PreparedRun) -> LatentCodes:
    """The codes of the training samples under the trained encoder (for OT and the latent figure)."""
    return LatentCodes(report_stage.encode(prepared.bundle.encoder, prepared.x_train))


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
    console = current_console()
    detail = f"{section.solver.type} onto {targets.shape[0]} codes"
    with console.stage("OT solve", detail) as stage:
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
        stage.summary = (
            f"{'converged' if result.converged else 'not converged'} in {result.steps} steps, TV {result.tv:.3g}, "
            f"max relative mass error {result.max_rel_mass_error:.3g}"
        )
    with console.stage("OT generate", f"{section.generate.samples} samples") as stage:
        with located_under("latent_ot", "generate"):
            generation = generate(
                result.targets,
                result.heights,
                result.source,
                section.generate,
                seed=prepared.seeds["ot_generate"],
                decoder=prepared.bundle.decoder,
            )
        stage.summary = f"{generation.refused_share:.1%} refused at the singular set"
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
