"""geokeras._lazy: package attributes imported on first use."""

from __future__ import annotations

import math
import sys
import types

import pytest

from geokeras._lazy import lazy_attributes


@pytest.fixture
def package(monkeypatch):
    module = types.ModuleType("lazy_example")
    module.__getattr__, module.__dir__ = lazy_attributes("lazy_example", {"sqrt": "math"}, ["extra"])
    monkeypatch.setitem(sys.modules, "lazy_example", module)
    return module


def test_a_lazy_name_is_imported_on_first_use_and_then_kept(package):
    assert "sqrt" not in vars(package)
    assert package.sqrt is math.sqrt
    assert vars(package)["sqrt"] is math.sqrt


def test_an_unknown_name_is_an_attribute_error(package):
    with pytest.raises(AttributeError, match="module 'lazy_example' has no attribute 'cos'"):
        package.cos  # noqa: B018


def test_dir_lists_lazy_and_exported_names(package):
    assert {"sqrt", "extra"} <= set(dir(package))


def test_the_packages_resolve_their_lazy_names():
    import geokeras.complexity
    import geokeras.models
    import geokeras.ot
    from geokeras.complexity.mesh import count_regions_on_mesh
    from geokeras.ot.sources import make_source

    assert geokeras.complexity.count_regions_on_mesh is count_regions_on_mesh
    assert geokeras.ot.make_source is make_source
    assert "train_autoencoder" in dir(geokeras.models)
