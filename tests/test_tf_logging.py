"""No TensorFlow noise by default: start-up lines dropped, other stderr output kept, ``verbose`` skips it all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import geokeras
from geokeras.tf_logging import NOISE, _import_without_noise

REPOSITORY = Path(geokeras.__file__).parent.parent

# Lines TensorFlow 2.21 printed on this project's CPU machines on `import tensorflow`.
START_UP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796401128.937776    6761 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "I0000 00:00:1796401129.041228    6761 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "2024-05-01 10:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different computation orders. "
    "To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "E0000 00:00:1796401134.871528    6761 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
]

# What a run's stderr must not show: TensorFlow's log prefixes and its usual start-up topics.
TF_NOISE = re.compile(r"^[IWE]\d{4} |I tensorflow|W tensorflow|oneDNN|cuda|absl::|cpu_feature_guard", re.IGNORECASE)


@pytest.mark.parametrize("line", START_UP_LINES)
def test_start_up_lines_are_noise(line):
    assert NOISE.search(line)


@pytest.mark.parametrize(
    "line",
    ["Traceback (most recent call last):", "ImportError: libcudnn.so.9: cannot open shared object file", "  ✓ data"],
)
def test_other_lines_are_not_noise(line):
    assert not NOISE.search(line)


def test_an_import_keeps_what_is_not_noise(tmp_path, monkeypatch, capfd):
    # A module that writes to file descriptor 2 at import, as TensorFlow's C++ code does.
    (tmp_path / "chatty_module.py").write_text(
        textwrap.dedent(
            f"""
            import os
            os.write(2, {(START_UP_LINES[1] + chr(10)).encode()!r})
            os.write(2, b"something the user must see\\n")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _import_without_noise("chatty_module")
    assert capfd.readouterr().err == "something the user must see\n"
    assert "chatty_module" in sys.modules


@pytest.mark.parametrize("verbose, calls", [(False, 1), (True, 0)])
def test_run_quiets_tensorflow_unless_verbose(tmp_path, monkeypatch, verbose, calls):
    import geokeras.models.runtime
    import geokeras.tf_logging

    quieted = []

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(geokeras.tf_logging, "quiet_tensorflow", lambda: quieted.append(True))
    monkeypatch.setattr(geokeras.models.runtime, "configure_runtime", stop)
    spec = {"name": "quiet", "manifold": {"type": "circle", "samples": 16}, "model": {"latent_dim": 1}}
    with pytest.raises(Stop):
        geokeras.run(spec, tmp_path / "run", verbose=verbose)
    assert len(quieted) == calls


def test_the_python_api_prints_stage_lines_and_no_tensorflow_noise(tmp_path):
    spec = {
        "name": "quiet-run",
        "manifold": {"type": "circle", "samples": 64},
        "model": {"latent_dim": 1, "encoder": {"type": "mlp", "widths": [4]}},
        "train": {"epochs": 1, "batch_size": 32},
        "evaluate": [{"type": "reconstruction", "samples": 32}],
        "report": {"figures": False},
    }
    code = f"import geokeras; geokeras.run({spec!r}, {str(tmp_path / 'run')!r})"
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stderr.splitlines()
    assert [line for line in lines if TF_NOISE.search(line)] == []
    stages = [line.split()[1] for line in lines]
    assert stages == ["runtime", "data", "model", "training", "reconstruction", "report"], completed.stderr
    assert completed.stdout == ""
