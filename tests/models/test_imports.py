"""``geokeras validate`` must stay fast: the models package and its params import no TensorFlow."""

from __future__ import annotations

import subprocess
import sys


def test_models_package_and_params_do_not_import_tensorflow():
    code = (
        "import sys, geokeras.models, geokeras.models.params; "
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(geokeras.models.__getattr__)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
