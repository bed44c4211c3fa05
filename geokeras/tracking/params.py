"""Parameters of the ``tracking:`` spec section: where a finished run is logged (display-only).

Each tracker type registers here under :data:`geokeras.registry.TRACKERS`; its implementation is a
class taking the parameters, with ``log_run(run_dir)`` and ``log_sweep(sweep_dir, points, grid)``.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from geokeras.registry import TRACKERS, SpecModel, union_of


@TRACKERS.register("mlflow", implementation="geokeras.tracking.mlflow:MlflowTracker")
class MlflowTrackingParams(SpecModel):
    """An MLflow tracking server or store: one MLflow run per geokeras run, a parent run per sweep."""

    type: Literal["mlflow"] = "mlflow"
    tracking_uri: str = Field(
        min_length=1,
        description=(
            "Where MLflow keeps runs: a server (http://host:5000), a database (sqlite:///mlflow.db) or a "
            "folder (file:./mlruns; MLflow 3 refuses it unless MLFLOW_ALLOW_FILE_STORE=true); relative paths "
            "are relative to the current directory, as in MLflow."
        ),
    )
    experiment: str = Field(
        min_length=1, description="The MLflow experiment the runs go to (created when it does not exist)."
    )
    artifact_location: Optional[str] = Field(
        None,
        min_length=1,
        description=(
            "Where a new experiment keeps its artifacts (a folder or URI); null: the tracking server's "
            "default (./mlruns of the current directory for a local database). An existing experiment keeps its own."
        ),
    )
    run_name: Optional[str] = Field(
        None,
        min_length=1,
        description="The MLflow run's name; null: the run directory's name, <name>-<hash12> (sweep-... for a sweep).",
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="Extra tags on every MLflow run, {key: value} (strings)."
    )

    @classmethod
    def example(cls) -> "MlflowTrackingParams":
        """A local MLflow database of the current directory."""
        return cls(tracking_uri="sqlite:///mlflow.db", experiment="geokeras")


TrackingSpec = union_of(TRACKERS)
"""Any registered tracker, chosen by its ``type`` key."""
