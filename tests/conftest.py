"""Helpers shared by the tests: write a spec file, catch the SpecError of loading one, fake data sets.

Import them with ``from tests.conftest import fake_keras_data, load_error, write``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Union

import numpy as np
import pytest

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
