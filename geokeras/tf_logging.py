"""TensorFlow without its start-up chatter: no C++ log lines, Python logs at ERROR, no Keras/TF warnings.

Importing TensorFlow prints lines that say nothing about the experiment ("Could not find cuda
drivers", "This TensorFlow binary is optimized to use available CPU instructions", oneDNN
notes, ...), some of them from C++ before any logging setting is read. :func:`quiet_tensorflow`,
called by ``geokeras.run`` before anything imports TensorFlow, removes them:

* ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set): TensorFlow's C++ logging shows nothing;
  errors that matter reach Python as exceptions;
* TensorFlow and Keras are imported with the process's stderr (file descriptor 2) held in a
  temporary file; afterwards every line that is not known start-up noise (:data:`NOISE`) is
  written back, so an unexpected message still shows;
* the ``tensorflow`` and ``absl`` Python loggers at ERROR, and warnings raised from inside
  TensorFlow, Keras, TensorFlow Probability or absl ignored.

``geokeras run -v`` and ``geokeras.run(..., verbose=True)`` skip all of this. When TensorFlow
was imported before (by the caller), only the Python-side settings can still take effect.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import tempfile
import warnings

TF_LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"

NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|^[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"  # absl C++ log lines: I0000 00:00:1796.. 2057 cudart_stub.cc:31]
    r"|^\d{4}-\d\d-\d\d [\d:.]+: [IWE] \S+\.cc:\d+\]"  # TensorFlow's own C++ log lines
    r"|oneDNN custom operations are on"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`"
)
"""A line TensorFlow prints at start-up that says nothing about the experiment."""

_QUIET_MODULES = r"(tensorflow|tf_keras|keras|tensorflow_probability|absl)(\..*)?"
_warnings_filtered = False


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up and logging noise (module docstring); idempotent."""
    global _warnings_filtered
    os.environ.setdefault(TF_LOG_LEVEL_VARIABLE, "3")
    if not _warnings_filtered:
        warnings.filterwarnings("ignore", module=_QUIET_MODULES)
        _warnings_filtered = True
    for name in ("tensorflow", "keras"):
        if name not in sys.modules:
            _import_without_noise(name)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def _import_without_noise(module: str) -> None:
    """Import ``module`` with file descriptor 2 held in a temporary file; write back what is not noise."""
    _flush_streams()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            importlib.import_module(module)
        finally:
            _flush_streams()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode("utf-8", "replace").splitlines() if not NOISE.search(line)]
            if kept and sys.stderr is not None:
                sys.stderr.write("\n".join(kept) + "\n")


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
