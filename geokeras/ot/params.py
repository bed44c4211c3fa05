"""Parameters of the ``latent_ot:`` spec section and of the OT evaluators (no TensorFlow).

The section (Lei et al. 2018, section 5; AE-OT, An et al. ICLR 2020)::

    latent_ot:
      source: {type: uniform_cube, low: -0.5, high: 0.5, sampling: quasi_random}
      solver: {type: monte_carlo_adam, tol: 0.02}
      generate: {samples: 2000, angle_threshold: 0.7, top_k: null, normalise_codes: true}

* ``source``: the continuous measure mu, a type from :data:`geokeras.registry.OT_SOURCES`
  (``uniform_cube``, ``uniform_ball``, ``gaussian``; implemented in ``geokeras/ot/sources.py``).
* ``solver``: a type from :data:`geokeras.registry.OT_SOLVERS` (``monte_carlo_adam`` in
  ``geokeras/ot/monte_carlo_adam.py``, ``newton`` in ``geokeras/ot/newton.py``).
* ``generate``: the AE-OT generation step (``geokeras/ot/generation.py``).

The evaluators ``ot_quality`` and ``generation`` are registered here too (implemented in
``geokeras/ot/evaluators.py``). Importing this module imports pydantic only.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal, Optional

from pydantic import Field, PositiveFloat, model_validator

from geokeras.errors import SpecError
from geokeras.limits import BatchSize, Coefficient, Count, SampleCount, Scale, StepCount
from geokeras.registry import EVALUATORS, OT_SOLVERS, OT_SOURCES, SpecModel, union_of

__all__ = [
    "GaussianSourceParams",
    "GenerateSpec",
    "GenerationEvaluatorParams",
    "LatentOTSpec",
    "MonteCarloAdamParams",
    "NewtonParams",
    "OTQualityParams",
    "OTSolverParams",
    "OTSolverSpec",
    "OTSourceParams",
    "OTSourceSpec",
    "UniformBallSourceParams",
    "UniformCubeSourceParams",
]

Sampling = Literal["quasi_random", "pseudo_random"]

# ----------------------------------------------------------------------------- sources


class OTSourceParams(SpecModel):
    """Keys every source shares: how its samples are drawn."""

    sampling: Sampling = Field(
        "quasi_random",
        description=(
            "quasi_random: scrambled Sobol points (linear matrix scramble + random digital shift; "
            "the Monte-Carlo solver draws a new matrix scramble every check_every steps and a new "
            "digital shift every step); pseudo_random: independent uniform draws mapped by the "
            "inverse CDF (the same law as the TensorFlow Probability distribution)."
        ),
    )


@OT_SOURCES.register("uniform_cube", implementation="geokeras.ot.sources:UniformCube")
class UniformCubeSourceParams(OTSourceParams):
    """The uniform measure on the cube [low, high]^d (default [-1/2, 1/2]^d, the AE-OT code's)."""

    type: Literal["uniform_cube"] = "uniform_cube"
    low: Coefficient = Field(-0.5, description="Lower bound of every coordinate.")
    high: Coefficient = Field(0.5, description="Upper bound of every coordinate (> low).")

    @model_validator(mode="after")
    def _ordered(self) -> "UniformCubeSourceParams":
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"expected finite bounds with low < high. Received: low={self.low}, high={self.high}.")
        return self


@OT_SOURCES.register("uniform_ball", implementation="geokeras.ot.sources:UniformBall")
class UniformBallSourceParams(OTSourceParams):
    """The uniform measure on the ball of the given radius centred at the origin."""

    type: Literal["uniform_ball"] = "uniform_ball"
    radius: Scale = Field(0.5, description="Radius of the ball (default 1/2: inscribed in the default cube).")


@OT_SOURCES.register("gaussian", implementation="geokeras.ot.sources:Gaussian")
class GaussianSourceParams(OTSourceParams):
    """The isotropic Gaussian N(0, std^2 I)."""

    type: Literal["gaussian"] = "gaussian"
    std: Scale = Field(1.0, description="Standard deviation of every coordinate.")


OTSourceSpec = union_of(OT_SOURCES, default="uniform_cube")
"""Any registered source, chosen by ``type`` (default ``uniform_cube``)."""

# ----------------------------------------------------------------------------- solvers


class OTSolverParams(SpecModel):
    """Keys every solver shares, and what a solver asks of the problem."""

    resumable: ClassVar[bool] = False
    """The solver checkpoints its state and resumes from a ``checkpoint_dir`` (an interrupted run too)."""

    max_steps: StepCount = Field(20000, description="Most optimisation steps before giving up (converged: false).")
    init: Literal["voronoi", "zeros"] = Field(
        "voronoi",
        description=(
            "Initial heights. voronoi: h_i = (<c, y_i> - |y_i|^2 / 2) / s, the Voronoi cells of the "
            "targets pulled back by the affine map x -> s x + c that sends the source's mean and "
            "root-mean-square spread onto the targets'; zeros: h = 0."
        ),
    )

    def check_applicable(self, latent_dim: int, source: OTSourceParams) -> None:
        """Refuse a problem this solver cannot solve, before anything runs: codes of ``latent_dim``
        coordinates from the measure ``source``. Every solver of the base class solves any.

        Raises:
            SpecError: at the offending key, relative to the solver's own section (``("type",)``).
        """


@OT_SOLVERS.register("monte_carlo_adam", implementation="geokeras.ot.monte_carlo_adam:solve_monte_carlo_adam")
class MonteCarloAdamParams(OTSolverParams):
    """Monte-Carlo gradient (w_hat - nu) with bias-corrected Adam, any dimension."""

    type: Literal["monte_carlo_adam"] = "monte_carlo_adam"
    resumable: ClassVar[bool] = True
    tol: float = Field(
        0.02,
        gt=0.0,
        lt=1.0,
        description=(
            "Stop when the noise-debiased total-variation bound 1/2 sqrt(chi^2(w || nu)) (>= TV), "
            "estimated on an independent evaluation sample, is at most tol. Independent of N."
        ),
    )
    max_rel_tol: Optional[PositiveFloat] = Field(
        None,
        description=(
            "Also require max_i |w_i - nu_i| / nu_i <= max_rel_tol on the evaluation sample "
            "(null: not required). Needs about 16 / max_rel_tol^2 evaluation samples per cell."
        ),
    )
    learning_rate: PositiveFloat = Field(
        0.09,
        description=(
            "Adam step size in units of the score scale sigma_x * rms|y - mean(y)| (sigma_x: the "
            "source's per-coordinate standard deviation), so the same value suits any code scale."
        ),
    )
    beta_1: float = Field(0.9, ge=0.0, lt=1.0, description="Adam's first-moment decay.")
    beta_2: float = Field(0.999, ge=0.0, lt=1.0, description="Adam's second-moment decay.")
    epsilon: PositiveFloat = Field(
        1e-3, description="Adam's epsilon in units of the mean target weight 1/N (gradients scale like 1/N)."
    )
    samples: SampleCount = Field(
        4096, description="Source samples per step at the start (rounded up to a power of two)."
    )
    max_samples: SampleCount = Field(
        1 << 20, description="Cap on the samples per step when growing (rounded up to a power of two)."
    )
    check_every: Count = Field(
        20,
        description=(
            "Steps run inside one tf.function call (a tf.while_loop) between host checks of "
            "progress, convergence and checkpoints."
        ),
    )
    stall_checks: Count = Field(
        2,
        description=(
            "Checks without a 10% improvement of the smoothed error before the sample count "
            "doubles and the learning rate decays."
        ),
    )
    lr_decay: float = Field(
        0.5, gt=0.0, le=1.0, description="Learning-rate factor applied together with each sample doubling."
    )
    eval_samples: Optional[SampleCount] = Field(
        None,
        description=(
            "Size of the independent evaluation sample (two independently scrambled halves). "
            "null: chosen from tol and N (see docs/ot.md)."
        ),
    )
    max_eval_samples: SampleCount = Field(1 << 23, description="Cap on the automatic evaluation sample size.")
    sample_tile: BatchSize = Field(
        4096,
        description="Source samples per tile (rounded up to a power of two); memory is O(sample_tile * target_tile).",
    )
    target_tile: BatchSize = Field(8192, description="Targets per tile of the score matrix.")
    float64_ties: bool = Field(
        False,
        description="Re-check the two best cells in float64 wherever their float32 scores are within "
        "rounding of each other.",
    )
    jit_compile: bool = Field(False, description="Compile the solver's step loop with XLA.")
    average_window: Count = Field(
        100,
        description=(
            "The solver returns (and evaluates) the mean of the last average_window iterates h, "
            "restarted whenever the schedule changes."
        ),
    )
    checkpoint_dir: Optional[str] = Field(
        None,
        description=(
            "Folder where tf.train.Checkpoint saves h, the Adam moments, the averaged iterate and "
            "the schedule after every check; a checkpoint of the same problem there is resumed."
        ),
    )
    time_limit: float = Field(
        600.0,
        gt=0.0,
        allow_inf_nan=False,
        description=(
            "Wall-clock limit of the solve in seconds, checked between blocks of check_every steps: "
            "when it is reached the solver stops with converged: false and a warning."
        ),
    )
    progress_seconds: Optional[PositiveFloat] = Field(
        10.0,
        description=(
            "Seconds between progress lines on stderr (step, elapsed time, error bound against tol) when "
            "stderr is not a terminal (a terminal shows a bar instead); the first comes after this long, so "
            "quick solves print nothing. null: no lines."
        ),
    )

    @model_validator(mode="after")
    def _samples_ordered(self) -> "MonteCarloAdamParams":
        if self.max_samples < self.samples:
            raise ValueError(
                f"expected max_samples >= samples. Received: samples={self.samples}, max_samples={self.max_samples}."
            )
        return self


@OT_SOLVERS.register("newton", implementation="geokeras.ot.newton:solve_newton")
class NewtonParams(OTSolverParams):
    """Damped Newton with exact power cells: 2-D codes, uniform_cube source only."""

    type: Literal["newton"] = "newton"
    max_steps: StepCount = Field(100, description="Most Newton steps.")
    tol: PositiveFloat = Field(1e-8, description="Stop when max_i |w_i - nu_i| / nu_i <= tol (exact cell areas).")
    min_step: PositiveFloat = Field(
        1e-10, description="Give up (converged: false) when the damping halves the step below this."
    )

    def check_applicable(self, latent_dim: int, source: OTSourceParams) -> None:
        """Exact power cells are clipped polygons: 2-D codes and a square source only."""
        if latent_dim != 2 or source.type != "uniform_cube":
            raise SpecError(
                f"expected model.latent_dim = 2 and a uniform_cube source for the newton solver (exact "
                f"power cells in the plane). Received: latent_dim={latent_dim}, source type "
                f"{source.type!r}; use monte_carlo_adam.",
                ("type",),
            )


OTSolverSpec = union_of(OT_SOLVERS, default="monte_carlo_adam")
"""Any registered solver, chosen by ``type`` (default ``monte_carlo_adam``)."""

# ----------------------------------------------------------------------------- generation


class GenerateSpec(SpecModel):
    """AE-OT generation: source samples through the extended OT map, then the decoder."""

    samples: SampleCount = Field(2000, description="Latent codes generated (and decoded).")
    interpolation: Literal["barycentric", "inverse_distance", "pairs", "none"] = Field(
        "barycentric",
        description=(
            "barycentric: barycentric coordinates of x among the mass centres of its top cells "
            "(negative ones clipped); inverse_distance: weights 1/|x - c_k|^2 over the mass centres "
            "c_k of its top cells; pairs: the top cell with its best admissible neighbour, along the "
            "segment of their mass centres; none: the plain OT map (training codes only)."
        ),
    )
    angle_threshold: float = Field(
        0.7,
        ge=0.0,
        le=math.pi,
        description=(
            "Radians. A neighbour j of the top cell i is used only when the dihedral angle "
            "theta_ij = arccos((<y_i,y_j>+1) / (sqrt(1+|y_i|^2) sqrt(1+|y_j|^2))) is at most this "
            "(larger angles: the singular set between modes). Scale-dependent: see normalise_codes."
        ),
    )
    top_k: Optional[Count] = Field(
        None, description="Neighbours of the top cell considered (null: the latent dimension d)."
    )
    normalise_codes: bool = Field(
        True,
        description=(
            "Measure the dihedral angles on the codes centred and scaled to unit root-mean-square "
            "norm (the power cells and the map do not change): the angle threshold becomes scale-free."
        ),
    )
    batch_size: BatchSize = Field(4096, description="Source samples mapped per batch.")
    centre_samples_per_cell: Count = Field(
        64, description="Source samples per cell (on average) used to estimate the cells' mass centres."
    )


class LatentOTSpec(SpecModel):
    """Semi-discrete OT from a source measure onto the latent codes, and AE-OT generation."""

    source: OTSourceSpec = Field(default_factory=UniformCubeSourceParams, description="The source measure mu.")
    solver: OTSolverSpec = Field(default_factory=MonteCarloAdamParams, description="The semi-discrete OT solver.")
    generate: GenerateSpec = Field(default_factory=GenerateSpec, description="Generation with the extended OT map.")
    max_codes: Optional[SampleCount] = Field(
        None, description="Use a seeded subsample of at most this many training codes as targets (null: all)."
    )


# ----------------------------------------------------------------------------- evaluators


@EVALUATORS.register("ot_quality", implementation="geokeras.ot.evaluators:evaluate_ot_quality")
class OTQualityParams(SpecModel):
    """Mass errors, total variation, empty cells and transport cost of the latent OT map."""

    type: Literal["ot_quality"] = "ot_quality"
    needs_latent_ot: ClassVar[bool] = True
    samples: SampleCount = Field(
        1 << 18, description="Independent source samples for the cell masses and the transport cost."
    )


@EVALUATORS.register("generation", implementation="geokeras.ot.evaluators:evaluate_generation")
class GenerationEvaluatorParams(SpecModel):
    """Generated samples vs held-out data: MMD, sliced Wasserstein, mode coverage, off-manifold rate."""

    type: Literal["generation"] = "generation"
    needs_latent_ot: ClassVar[bool] = True
    samples: SampleCount = Field(2000, description="Held-out data samples (and generated samples compared).")
    modes: Optional[Count] = Field(
        None,
        description=(
            "Number of modes of the data: k-means clusters of the held-out data define them for "
            "mode coverage (null: no coverage metrics)."
        ),
    )
    projections: Count = Field(128, description="Random directions of the sliced Wasserstein distance.")
    off_manifold_quantile: float = Field(
        0.99,
        gt=0.0,
        lt=1.0,
        description=(
            "A generated sample is off the manifold when its distance to the nearest held-out "
            "sample exceeds this quantile of held-out-to-held-out nearest-neighbour distances."
        ),
    )
    min_mode_share: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="A mode is covered when it receives at least this fraction of its share of the data.",
    )
