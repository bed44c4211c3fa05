"""Upgrades of older spec versions to the current one.

When the spec language changes incompatibly, ``SPEC_VERSION`` goes up by one and a transform
from the previous version is registered here, so that every spec ever shared keeps loading:
``UPGRADES[v]`` turns the raw data of a version-v spec into version v + 1 (renamed keys, new
nesting, changed defaults written out explicitly). A registered type whose own keys change
says how in its parameter model (``upgrade_mapping``); :func:`upgrade_types` applies those, so
this module names no type. Upgrades run on each file of an ``extends`` chain before the files
are merged.
"""

from __future__ import annotations

from typing import Any, Callable

from geokeras.errors import SpecError
from geokeras.registry import (
    DECODERS,
    ENCODERS,
    EVALUATORS,
    MANIFOLDS,
    OPTIMIZERS,
    OT_SOLVERS,
    OT_SOURCES,
    Registry,
)
from geokeras.spec.schema import SPEC_VERSION

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]

TYPED_SECTIONS: tuple[tuple[tuple[str, ...], Registry], ...] = (
    (("manifold",), MANIFOLDS),
    (("model", "encoder"), ENCODERS),
    (("model", "decoder"), DECODERS),
    (("train", "optimizer"), OPTIMIZERS),
    (("latent_ot", "source"), OT_SOURCES),
    (("latent_ot", "solver"), OT_SOLVERS),
)
"""Where the spec holds one mapping of a registered type (``evaluate`` holds a list of them)."""


def upgrade_types(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Let every registered type in ``data`` rewrite its own mapping from ``version`` to ``version + 1``.

    Each type says how its keys changed (``SpecModel.upgrade_mapping``); this only finds the
    mappings. Unknown types and bare names are left to validation.
    """

    def upgraded(entry: Any, registry: Registry) -> Any:
        if isinstance(entry, dict) and isinstance(entry.get("type"), str) and entry["type"] in registry:
            return registry[entry["type"]].params.upgrade_mapping(dict(entry), version)
        return entry

    data = dict(data)
    if isinstance(data.get("evaluate"), list):
        data["evaluate"] = [upgraded(entry, EVALUATORS) for entry in data["evaluate"]]
    for path, registry in TYPED_SECTIONS:
        data = _replaced(data, path, lambda entry, registry=registry: upgraded(entry, registry))
    return data


def _replaced(data: dict[str, Any], path: tuple[str, ...], change: Callable[[Any], Any]) -> dict[str, Any]:
    """``data`` with the value at ``path`` changed (copies along the path; absent paths untouched)."""
    if path[0] not in data:
        return data
    value = data[path[0]]
    if len(path) > 1:
        value = _replaced(value, path[1:], change) if isinstance(value, dict) else value
    else:
        value = change(value)
    return {**data, path[0]: value}


UPGRADES: dict[int, Upgrade] = {1: lambda data: upgrade_types(data, 1)}
"""``UPGRADES[v]`` maps a version-v spec mapping to version v + 1. Version 1 is the first. A change of
the language itself (a section renamed, say) goes here too, before or after the types' own upgrades."""


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
