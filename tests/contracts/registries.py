"""Every registry of the spec language and every type registered in it, found without a list.

A plugin registers its types with ``@REGISTRY.register(name, implementation=...)`` in some
module of geokeras. :func:`plugin_modules` finds those modules by their text (a module that
calls ``.register(`` or creates a ``Registry(``) and imports them, so the contract tests see a
newly registered type, or a new registry, with no new test code.
"""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path
from typing import Any

import geokeras
from geokeras.registry import Registry, RegistryEntry

PACKAGE_ROOT = Path(geokeras.__file__).resolve().parent
REPOSITORY = PACKAGE_ROOT.parent
PLUGIN_MARKERS = (".register(", "Registry(")


@functools.lru_cache(maxsize=None)
def plugin_modules() -> tuple[str, ...]:
    """Import and return every geokeras module that registers a type or creates a registry."""
    names = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        if any(marker in path.read_text(encoding="utf-8") for marker in PLUGIN_MARKERS):
            parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for name in names:
        importlib.import_module(name)
    return tuple(names)


@functools.lru_cache(maxsize=None)
def registries() -> dict[str, Registry]:
    """``{attribute name: Registry}`` of every Registry instance held by an imported geokeras module."""
    plugin_modules()
    found: dict[str, Registry] = {}
    for module_name, module in sorted(sys.modules.items()):
        if module is None or not (module_name == "geokeras" or module_name.startswith("geokeras.")):
            continue
        for attribute, value in vars(module).items():
            if isinstance(value, Registry) and all(value is not known for known in found.values()):
                found[attribute] = value
    return found


def registry(attribute: str) -> Registry:
    """The registry held as ``attribute`` (``"MANIFOLDS"``), after every plugin is imported."""
    return registries()[attribute]


def entries(*attributes: str) -> list[Any]:
    """``pytest.param(entry, id="<kind>:<name>")`` for every type of the named registries (all if none)."""
    import pytest

    chosen = attributes or tuple(registries())
    return [
        pytest.param(registry(attribute)[name], id=f"{registry(attribute).kind}:{name}")
        for attribute in chosen
        for name in registry(attribute).names()
    ]


def example(entry: RegistryEntry) -> Any:
    """The type's documented example parameters: ``params.example()`` where defined, else the defaults.

    A type whose parameters have required keys must define ``example()`` (a classmethod
    returning a valid instance), so that tools and tests can build it without knowing it.
    """
    params = entry.params
    return params.example() if hasattr(params, "example") else params()
