"""Lazy package attributes (PEP 562): a name is imported from its module on first use.

Packages whose public names live in modules that import TensorFlow, scipy or matplotlib use
this so that importing the package (``geokeras validate`` does) stays light::

    __getattr__, __dir__ = lazy_attributes(__name__, {"train_autoencoder": "geokeras.models.training"})
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Iterable, Mapping


def lazy_attributes(
    package: str, lazy: Mapping[str, str], exported: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: the package's ``__name__``.
        lazy: ``{attribute name: dotted module path}``; the attribute is that module's attribute
            of the same name, imported on first access and then kept in the package's namespace.
        exported: further names to list in ``dir(package)`` (its ``__all__``).
    """
    lazy = dict(lazy)
    listed = set(lazy) | set(exported)

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | listed)

    return __getattr__, __dir__
