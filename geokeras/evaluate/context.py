"""What an evaluator receives: the trained models, the data, the seed and the report settings."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Optional, Union

import numpy as np

from geokeras.manifolds.base import Manifold, check_seed
from geokeras.manifolds.capabilities import SplitData
from geokeras.manifolds.geometry import ExactGeometry, exact_geometry, geometry_key
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
        """``figures_dir/<name>.png`` (the folder created), or ``None`` when no figures are drawn."""
        if not self.draws_figures:
            return None
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"Expected a plain file name for a figure. Received: name={name!r}.")
        assert self.figures_dir is not None
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        return self.figures_dir / f"{name}.png"

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
                f"Expected a figures_dir to record a figure. "
                f"Received: figures_dir=None, path={str(path)!r}."
            )
        root = self.figures_dir.resolve().parent
        self.figures.append((title, Path(path).resolve().relative_to(root).as_posix()))
