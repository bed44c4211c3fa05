"""geokeras: the geometric view of deep learning (Lei, Luo, Yau, Gu 2018) from a YAML spec.

    import geokeras
    spec = geokeras.load_spec("specs/quickstart.yaml", overrides=["train.epochs=5"])
    result = geokeras.run(spec)          # result.run_dir, result.metrics, result.encoder, ...
    again = geokeras.load_run(result.run_dir)
    geokeras.rerender(result.run_dir, format="svg")  # figures and report.md again, no training

Importing geokeras does not import TensorFlow; running a spec does. The names below are
loaded on first use, so that importing a domain package (``geokeras.manifolds``,
``geokeras.ot``, ...) does not import the spec language.
"""

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY_NAMES = {
    "RunResult": "geokeras.api",
    "run": "geokeras.api",
    "load_run": "geokeras.api",
    "Spec": "geokeras.spec",
    "load_spec": "geokeras.spec",
    "rerender": "geokeras.report_rerender",
}
_LAZY_MODULES = ("api", "spec")

__all__ = ["RunResult", "Spec", "__version__", "load_run", "load_spec", "rerender", "run"]


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"geokeras.{name}")
    raise AttributeError(f"module 'geokeras' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
