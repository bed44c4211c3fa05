"""The evaluator framework: what an evaluator receives, and running a spec's evaluators.

An evaluator is registered in :data:`geokeras.registry.EVALUATORS` with a parameter model and an
implementation ``f(params, context) -> dict``; the packages that provide evaluators
(``geokeras.evaluate``, ``geokeras.complexity``, ``geokeras.ot``) import this module, never the
other way round. :func:`run_evaluators` runs a spec's list of them on an
:class:`EvaluationContext` (the trained models, the data, the seed and the report settings).
Importing this module never imports TensorFlow.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Optional, Union

import numpy as np

from geokeras.errors import SpecError, SpecErrors, located_under
from geokeras.manifolds.base import Manifold, check_seed
from geokeras.manifolds.capabilities import SplitData
from geokeras.manifolds.geometry import ExactGeometry, exact_geometry, geometry_key
from geokeras.registry import EVALUATORS
from geokeras.report.params import ReportSpec


@dataclass
class EvaluationContext:
    """Everything an evaluator may use; evaluators return metrics and append figures.

    Attributes:
        manifold: the data's manifold (draws held-out samples, offers ground truth).
        encoder: keras.Model, R^ambient_dim -> R^latent_dim (the chart phi).
        decoder: keras.Model, R^latent_dim -> R^ambient_dim (the parameterisation psi).
        autoencoder: keras.Model, decoder after encoder.
        x_train: the training samples, shape=[n, ambient_dim].
        seed: the run's seed; evaluators derive their own with :func:`geokeras.seeds.purpose_seed`.
        report: the ``report:`` spec section (figures on or off, dpi, max_points).
        figures_dir: where evaluators save PNGs (``<run dir>/figures``); ``None`` draws no
            figures.
        figures: ``(title, path)`` of every figure written, in order, the path relative to
            the run directory (``figures_dir``'s parent) with forward slashes, e.g.
            ``"figures/reconstruction.png"``: ready for ``render_report``, and still right
            after the staging folder is renamed.
        predict_batch_size: batch size of ``model.predict`` calls.
        ot: the latent OT solution when the spec has a ``latent_ot`` section, else ``None``: a
            ``geokeras.ot.solve.OTResult`` (``targets`` the training codes, ``weights``,
            ``source``, ``heights``, ``steps``, ``seconds``, ...).
        generation: the AE-OT samples (a ``geokeras.ot.generation.GenerationResult``: codes,
            decoded samples, refused share), or ``None``.

    What several evaluators of a run need is computed once (:meth:`remember`): the manifold's
    exact geometry at a resolution (:meth:`exact_geometry`) and its RLC, so a spec with both
    ``learnability`` and ``manifold_rlc`` computes the manifold's RLC once.
    """

    manifold: Manifold
    encoder: Any
    decoder: Any
    autoencoder: Any
    x_train: np.ndarray
    seed: int
    report: ReportSpec = field(default_factory=ReportSpec)
    figures_dir: Optional[Path] = None
    figures: list[tuple[str, str]] = field(default_factory=list)
    predict_batch_size: int = 1024
    ot: Any = None
    generation: Any = None
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.seed = check_seed(self.seed)
        if self.figures_dir is not None:
            self.figures_dir = Path(self.figures_dir)

    @property
    def draws_figures(self) -> bool:
        """True when figures are wanted: a ``figures_dir`` is set and ``report.figures`` is on."""
        return self.figures_dir is not None and bool(self.report.figures)

    def figure_path(self, name: str) -> Optional[Path]:
        """``figures_dir/<name>.<report.format>`` (the folder created), or ``None`` when no figures are drawn."""
        if not self.draws_figures:
            return None
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"Expected a plain file name for a figure. Received: name={name!r}.")
        assert self.figures_dir is not None
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        return self.figures_dir / f"{name}.{self.report.format}"

    @functools.cached_property
    def held_out_manifold(self) -> Manifold:
        """Where held-out samples come from: a data set's test split when it is trained on
        its train split (so evaluation never sees training images), else the manifold itself."""
        if isinstance(self.manifold, SplitData) and self.manifold.split == "train":
            return self.manifold.with_split("test")
        return self.manifold

    def remember(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked in this run; the same object after.

        For deterministic results several evaluators share (no seed is drawn): callers must
        not change what they get back (copy a dict before adding to it).
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def exact_geometry(
        self, resolution: Optional[int] = None, mesh_resolution: Optional[int] = None
    ) -> Optional[ExactGeometry]:
        """The manifold's polyline or mesh (:func:`geokeras.manifolds.geometry.exact_geometry`),
        built once per run for each resolution it resolves to; ``None`` without one."""
        key = geometry_key(self.manifold, resolution, mesh_resolution)
        if key is None:
            return None
        build = lambda: exact_geometry(self.manifold, resolution, mesh_resolution)  # noqa: E731
        return self.remember(("exact_geometry", key), build)

    def add_figure(self, title: str, path: Union[str, Path]) -> None:
        """Record a figure written under ``figures_dir``, for report.md."""
        if self.figures_dir is None:
            raise ValueError(
                f"Expected a figures_dir to record a figure. Received: figures_dir=None, path={str(path)!r}."
            )
        root = self.figures_dir.resolve().parent
        self.figures.append((title, Path(path).resolve().relative_to(root).as_posix()))


def run_evaluators(evaluator_specs: Sequence[Any], context: EvaluationContext) -> dict[str, dict]:
    """Run each evaluator in order; return ``{evaluator type: its metrics}``.

    Args:
        evaluator_specs: the spec's ``evaluate`` list: parameter models (as validated by
            the spec), or mappings ``{"type": name, ...}``, or bare names.
        context: the trained models, the data and the report settings.

    Returns:
        ``{name: {metric: number}}``, every value a plain Python ``int``/``float``/``bool``/
        ``str`` (or list / dict of them), ready for ``json.dump``.

    Raises:
        SpecError / SpecErrors: every invalid entry, checked before any evaluator runs, and
            an evaluator's own refusal; key paths start at the entry's index in the list
            (``(0, "samples")``).
    """
    resolved = _resolved(evaluator_specs)
    results: dict[str, dict] = {}
    for index, params in enumerate(resolved):
        if params.type in results:
            raise ValueError(f"Evaluator {params.type!r} appears twice in the evaluate list.")
        with located_under(index):
            metrics = EVALUATORS.build(params, context)
        if not isinstance(metrics, Mapping):
            raise TypeError(
                f"Evaluator {params.type!r} must return a dict of metrics. Received: {type(metrics).__name__}."
            )
        results[params.type] = plain_metrics(metrics, params.type)
    return results


def _resolved(evaluator_specs: Sequence[Any]) -> list[Any]:
    """The parameter model of every entry; the problems of all entries raised together."""
    resolved, problems = [], []
    for index, spec in enumerate(evaluator_specs):
        try:
            resolved.append(EVALUATORS.resolve(spec, key_path=(index,)))
        except SpecError as error:
            problems.append(error)
        except SpecErrors as errors:
            problems.extend(errors.errors)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SpecErrors(problems)
    return resolved


def plain_metrics(value: Any, where: str = "metrics") -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers and lists.

    Raises:
        TypeError: for anything that is not a number, bool, string, None, or a list /
            mapping of them (``where`` names the offending entry).
    """
    if isinstance(value, Mapping):
        return {str(key): plain_metrics(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return plain_metrics(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [plain_metrics(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"Expected a JSON-serializable metric (number, bool, string, list, dict) at {where}. "
        f"Received: {type(value).__name__}."
    )
