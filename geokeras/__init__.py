"""geokeras: the geometric view of deep learning (Lei, Luo, Yau, Gu 2018) from a YAML spec.

    import geokeras
    spec = geokeras.load_spec("specs/quickstart.yaml", overrides=["train.epochs=5"])
    result = geokeras.run(spec)          # result.run_dir, result.metrics

Importing geokeras does not import TensorFlow; running a spec does.
"""

__version__ = "0.1.0"

from geokeras.api import RunResult, run  # noqa: E402
from geokeras.spec import Spec, load_spec  # noqa: E402

__all__ = ["RunResult", "Spec", "__version__", "load_spec", "run"]
