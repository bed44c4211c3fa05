"""Upgrades of older spec versions to the current one.

When the spec language changes incompatibly, ``SPEC_VERSION`` goes up by one and a transform
from the previous version is registered here, so that every spec ever shared keeps loading:
``UPGRADES[v]`` turns the raw data of a version-v spec into version v + 1 (renamed keys, new
nesting, changed defaults written out explicitly). Upgrades run on each file of an
``extends`` chain before the files are merged.
"""

from __future__ import annotations

from typing import Any, Callable

from geokeras.errors import SpecError
from geokeras.spec.schema import SPEC_VERSION

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]

LEARNABILITY_THRESHOLDS_OF_VERSION_1 = (
    "far_fraction",
    "fold_ratio",
    "min_trustworthiness",
    "max_reconstruction_error",
    "turn_tolerance",
)
"""Keys of the ``learnability`` evaluator in spec_version 1 that set sampled thresholds of the
verdict. From version 2 the verdict is decided exactly on the manifold's polyline or mesh and
the sampled numbers decide nothing, so these keys have no meaning left."""


def _version_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Drop the sampled verdict thresholds of ``learnability`` entries (version 1 -> 2)."""
    evaluate = data.get("evaluate")
    if isinstance(evaluate, list):
        data["evaluate"] = [
            {key: value for key, value in entry.items() if key not in LEARNABILITY_THRESHOLDS_OF_VERSION_1}
            if isinstance(entry, dict) and entry.get("type") == "learnability"
            else entry
            for entry in evaluate
        ]
    return data


UPGRADES: dict[int, Upgrade] = {1: _version_1_to_2}
"""``UPGRADES[v]`` maps a version-v spec mapping to version v + 1. Version 1 is the first."""


def upgrade_to_current(data: dict[str, Any], location: str | None = None) -> dict[str, Any]:
    """Apply the registered upgrades from ``data["spec_version"]`` up to ``SPEC_VERSION``.

    A file without ``spec_version`` is taken to be written for the current version.
    """
    version = data.get("spec_version", SPEC_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SpecError(
            f"expected a positive integer version. Received: {version!r}.",
            ("spec_version",),
            location,
        )
    if version > SPEC_VERSION:
        raise SpecError(
            f"this spec is written for spec_version {version}, newer than this geokeras "
            f"understands ({SPEC_VERSION}). Upgrade geokeras to run it.",
            ("spec_version",),
            location,
        )
    while version < SPEC_VERSION:
        if version not in UPGRADES:
            raise SpecError(
                f"no upgrade is registered from spec_version {version} to {version + 1}.",
                ("spec_version",),
                location,
            )
        data = UPGRADES[version](dict(data))
        version += 1
        data["spec_version"] = version
    return data
