"""The figure and report stage of a run, shared by ``geokeras run`` and ``geokeras report``.

Given trained models and the training data, it runs the evaluators (which draw their figures
into ``figures/``), draws the figures every run shows (the loss curve, the data, its latent
codes) and writes report.md. :func:`geokeras.run` calls it once the models are trained;
:func:`geokeras.rerender` calls it again on a finished run directory's saved models, with other
``report:`` settings, without training. TensorFlow and matplotlib are imported only when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from geokeras.errors import located_under

Figures = tuple[tuple[str, str], ...]
"""``(title, path relative to the run directory)`` of each figure, in report order."""


@dataclass(frozen=True)
class TrainedRun:
    """What the stage draws from: the data and the trained models of one run.

    Attributes:
        manifold: the data's manifold.
        x_train: the training samples, shape=[n, *sample_shape].
        parameters: their manifold parameters, shape=[n, intrinsic parameters] (figure colours).
        encoder, decoder, autoencoder: the trained Keras models.
        history: history.json's content (``{"loss": [...], ...}``).
        evaluation_seed: the seed of the evaluation stream (:mod:`geokeras.seeds`).
        ot: the latent OT solution (``geokeras.ot.solve.OTResult``) or None.
        generation: the AE-OT samples (``geokeras.ot.generation.GenerationResult``) or None.
    """

    manifold: Any
    x_train: Any
    parameters: Any
    encoder: Any
    decoder: Any
    autoencoder: Any
    history: Mapping[str, Any]
    evaluation_seed: int
    ot: Any = None
    generation: Any = None


def evaluate(spec: Any, trained: TrainedRun, figures_dir: Optional[Path]) -> tuple[dict[str, dict], Figures]:
    """Run the spec's evaluators on the trained models; ``({type: metrics}, figures they drew)``."""
    from geokeras.evaluate import run_evaluators
    from geokeras.evaluation import EvaluationContext

    context = EvaluationContext(
        manifold=trained.manifold,
        encoder=trained.encoder,
        decoder=trained.decoder,
        autoencoder=trained.autoencoder,
        x_train=trained.x_train,
        seed=trained.evaluation_seed,
        report=spec.report,
        figures_dir=figures_dir,
        ot=trained.ot,
        generation=trained.generation,
    )
    with located_under("evaluate"):
        metrics = run_evaluators(spec.evaluate, context)
    return metrics, tuple(context.figures)


def encode(encoder: Any, x_train: Any) -> Any:
    """The codes of the training samples, shape=[n, latent_dim] float32."""
    import numpy as np

    codes = np.asarray(encoder.predict(x_train, batch_size=4096, verbose=0), dtype=np.float32)
    return codes.reshape(codes.shape[0], -1)


def standard_figures(spec: Any, trained: TrainedRun, codes: Any, figures_dir: Path) -> Figures:
    """The figures every run shows: loss curve, the data (or images and reconstructions), the codes."""
    from geokeras.report import figures

    dpi, max_points = spec.report.dpi, spec.report.max_points
    x_train, parameters = trained.x_train, trained.parameters
    label = (trained.manifold.parameter_names or (None,))[0]  # the colour is column 1
    image_shape = trained.manifold.image_shape  # (H, W, C) for image data, else None

    def path_of(stem: str) -> Path:
        return figures.figure_path(figures_dir, stem, spec.report.format)

    drawn = [
        (
            "Training loss",
            figures.plot_training_curves(trained.history, path_of("training_loss"), dpi),
        ),
        (
            "Training data",
            figures.plot_manifold(
                x_train,
                parameters,
                path_of("manifold"),
                dpi,
                max_points,
                parameter_label=label,
                title=f"Training data: {spec.manifold.type}",
            ),
        )
        if image_shape is None
        else (
            "Training data and reconstructions",
            figures.plot_image_grid(
                x_train[:64],
                path_of("manifold"),
                dpi,
                image_shape=image_shape,
                labels=_class_labels(trained.manifold, parameters[:64, 0]),
                reconstructions=trained.autoencoder.predict(x_train[:64], verbose=0),
                title=f"Training data (left) and reconstructions (right): {spec.manifold.type}",
            ),
        ),
        (
            "Latent codes",
            figures.plot_latent_codes(
                codes, parameters, path_of("latent_codes"), dpi, max_points, parameter_label=label
            ),
        ),
    ]
    return tuple((title, Path(path).relative_to(figures_dir.parent).as_posix()) for title, path in drawn)


def _class_labels(manifold: Any, labels: Any) -> Any:
    """The labels as class names when the manifold names its classes (an image folder's subfolders)."""
    names = getattr(manifold, "class_names", ())
    return [names[int(label)] for label in labels] if names else labels


def write_report(spec: Any, metrics: Mapping[str, Any], figures: Figures, provenance: Mapping, folder: Path) -> None:
    """``folder/report.md`` (:func:`geokeras.report.markdown.render_report`)."""
    from geokeras.report.markdown import render_report

    text = render_report(
        spec_name=spec.name,
        spec_hash=spec.content_hash,
        metrics=metrics,
        figures=list(figures),
        provenance=provenance,
        spec=spec.to_dict(),
    )
    (Path(folder) / "report.md").write_text(text, encoding="utf-8")
