"""Metric names: one meaning per name across metrics.json's sections, and the renamed ones.

A leaf name (the last part of a dotted metric name) used by two sections must mean the same
quantity in both; :data:`SHARED_LEAF_NAMES` lists the names that do, with the meaning they share,
and every other leaf name belongs to one section (tests/report/test_metric_names.py checks the
golden runs). Readers of older run directories (``geokeras compare``, sweep summaries) see the
current names: :func:`current_metric_names` renames what :data:`RENAMED_METRICS` lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RENAMED_METRICS = {
    # ot_quality measures cell masses on its own source samples, not the solver's: its numbers
    # differ from ot.max_rel_mass_error, ot.tv, ot.empty_cells, ot.evaluation_samples, ot.targets.
    "ot_quality.max_rel_mass_error": "ot_quality.sampled_max_rel_mass_error",
    "ot_quality.tv": "ot_quality.sampled_tv",
    "ot_quality.empty_cells": "ot_quality.sampled_empty_cells",
    "ot_quality.evaluation_samples": "ot_quality.mass_samples",
    "ot_quality.targets": "ot_quality.distinct_targets",
    # ot_quality's copies of the solver's numbers: the ot section has them.
    "ot_quality.steps": "ot.steps",
    "ot_quality.samples": "ot.samples",
    "ot_quality.seconds": "ot.seconds",
    "ot_quality.converged": "ot.converged",
}
"""``{old flattened name: current flattened name}`` of metrics renamed since older run directories."""

SHARED_LEAF_NAMES = {
    "samples": "the number of samples the section itself drew or consumed",
    "seconds": "wall time of the section's own work",
    "resolution": "segments (or mesh resolution) of the manifold's polyline or mesh the section used",
    "segments": "segments of the manifold's polyline the section used",
    "closed": "whether the manifold's polyline is closed",
    "method": "the name of the algorithm that produced the section's numbers",
    "pieces": "linear pieces along or on the manifold (the encoder's; for manifold_rlc the fewest any encoding needs)",
    "non_finite": "decoded outputs with a NaN or infinite coordinate in the section's sample",
    # the Theorem 4.12 certificate, the same computation wherever it is shown
    "status": "the certificate's verdict",
    "regions_lower": "the certificate's lower bound on the linear regions any encoding needs",
    "regions_lower_method": "how the certificate's lower bound was obtained",
    "architecture_bound": "the certificate's upper bound on the architecture's linear regions",
    "bound_name": "which architecture bound the certificate used",
    "excluded_by": "the checks that exclude an encoding in the certificate",
    "obstruction": "the topological obstruction to any encoding, or null",
    "manifold_rlc_lower": "the lower bound on the manifold's rectified linear complexity",
    "serra2018_rank": "Serra et al. (2018)'s bound on the trained network's linear regions",
    # AE-OT generation, copied into the generation evaluator from ot.generate
    "refused_share": "generated samples whose interpolation was cut at the singular set",
    "refused_pair_share": "generated samples whose two top cells were refused as a pair",
    "interpolated_share": "generated samples interpolated between cells",
}
"""Leaf names more than one section may use, each with the one meaning they share."""


def current_metric_names(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """metrics.json content with :data:`RENAMED_METRICS` applied (a current name already present wins)."""
    renamed = {key: dict(value) if isinstance(value, Mapping) else value for key, value in metrics.items()}
    for old, new in RENAMED_METRICS.items():
        old_section, old_key = old.split(".", 1)
        new_section, new_key = new.split(".", 1)
        section = renamed.get(old_section)
        if not isinstance(section, dict) or old_key not in section:
            continue
        value = section.pop(old_key)
        target = renamed.setdefault(new_section, {})
        if isinstance(target, dict):
            target.setdefault(new_key, value)
        if not section:
            del renamed[old_section]
    return renamed


def current_metric_name(name: str) -> str:
    """The current flattened name of a metric given by an older name (unchanged otherwise)."""
    return RENAMED_METRICS.get(name, name)


def leaf_sections(metrics: Mapping[str, Any]) -> dict[str, set[str]]:
    """``{leaf name: the top-level sections using it}`` over every nested metric (``spec`` left out)."""
    found: dict[str, set[str]] = {}

    def walk(section: str, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            if isinstance(value, Mapping):
                walk(section, value)
            else:
                found.setdefault(str(key), set()).add(section)

    for section, values in metrics.items():
        if section != "spec" and isinstance(values, Mapping):
            walk(section, values)
    return found


def ambiguous_names(metrics: Mapping[str, Any]) -> dict[str, list[str]]:
    """Leaf names used by several sections without a shared meaning in :data:`SHARED_LEAF_NAMES`."""
    return {
        name: sorted(sections)
        for name, sections in leaf_sections(metrics).items()
        if len(sections) > 1 and name not in SHARED_LEAF_NAMES
    }
