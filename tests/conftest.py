"""Helpers shared by the tests: write a spec file, catch the SpecError of loading one, fake data sets and runs.

Import them with ``from tests.conftest import built_manifold, fake_keras_data, fake_run_dir, load_error, write``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Union

import numpy as np
import pytest
import yaml

from geokeras.errors import SpecError
from geokeras.spec import load_spec


def write(directory: Path, name: str, content: Union[str, bytes]) -> Path:
    """Write ``content`` (text is dedented; bytes are written as they are) to ``directory/name``."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


def load_error(path: Path, overrides=()) -> SpecError:
    """The SpecError that loading ``path`` with ``overrides`` raises (the test fails if none)."""
    with pytest.raises(SpecError) as caught:
        load_spec(path, overrides)
    return caught.value


def fake_keras_data(train: int, test: int, seed: int = 0):
    """Tiny (x_train, y_train), (x_test, y_test) shaped as keras.datasets returns them."""
    rng = np.random.default_rng(seed)
    return (
        (rng.integers(0, 256, size=(train, 28, 28), dtype=np.uint8), np.arange(train, dtype=np.uint8) % 10),
        (rng.integers(0, 256, size=(test, 28, 28), dtype=np.uint8), np.arange(test, dtype=np.uint8) % 3),
    )


def fake_run_dir(directory: Path, name: str, metrics: dict, spec: Union[dict, None] = None) -> Path:
    """A finished run directory ``directory/name`` holding ``metrics`` as metrics.json and, unless ``spec`` is None
    (a run of an older geokeras), ``spec`` as resolved.yaml with its header comments."""
    run_dir = directory / name
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    if spec is not None:
        header = f"# resolved spec of {name}\n# sha256: {'0' * 64}\n"
        (run_dir / "resolved.yaml").write_text(header + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return run_dir


def cli_error(stderr: str) -> str:
    """The ``geokeras: error: ...`` message of a failed command, after the console's stage lines."""
    stages, marker, error = stderr.partition("geokeras: error: ")
    assert all(line.startswith(("  ✓ ", "  ✗ ")) for line in stages.splitlines()), stages
    return (marker + error).strip()


SWEEP_SPEC = """\
spec_version: 1
name: sweep-spec
manifold: {type: circle, samples: 64}
model: {latent_dim: 1, encoder: {type: mlp, widths: [4]}}
train: {epochs: 1, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 32}]
report: {figures: false}
"""


@pytest.fixture
def sweep_spec_path(tmp_path: Path) -> Path:
    """A circle spec that trains in about a second: the base of the sweep tests."""
    return write(tmp_path, "spec.yaml", SWEEP_SPEC)


def built_manifold(spec_path: Path):
    """The manifold of the spec at ``spec_path``; its errors at their key path and line in the file."""
    from geokeras.errors import located_under
    from geokeras.manifolds import make
    from geokeras.preflight import located_in_spec

    spec = load_spec(spec_path)
    with located_in_spec(spec), located_under("manifold"):
        return make(spec.manifold)
