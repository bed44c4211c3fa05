"""The static list of Keras layer names is the installed Keras's, and a typo is refused with a did-you-mean."""

from __future__ import annotations

import keras
import pytest

from geokeras.models import keras_layer_names
from geokeras.models.keras_layer_names import KERAS_LAYER_NAMES, KERAS_VERSION, names_from_keras, unknown_layer_message


def test_the_list_is_the_installed_keras_layers():
    """Fails when Keras changes: regenerate with `python -m geokeras.models.keras_layer_names`."""
    assert KERAS_VERSION == keras.__version__
    assert KERAS_LAYER_NAMES == names_from_keras()
    assert {"Dense", "Conv2D", "BatchNormalization", "LeakyReLU"} <= set(KERAS_LAYER_NAMES)
    assert "Lambda" not in KERAS_LAYER_NAMES


def test_a_known_layer_passes_and_a_typo_gets_a_did_you_mean():
    assert unknown_layer_message("Dense") is None
    assert unknown_layer_message("Dens") == (
        "unknown Keras layer 'Dens': did you mean 'Dense'? Expected a layer of keras.layers (e.g. Dense, Conv2D, "
        "BatchNormalization, LeakyReLU) or a registered Keras serializable (package>Name). Received: "
        "class_name='Dens'."
    )
    assert unknown_layer_message("Xyzzy").startswith("unknown Keras layer 'Xyzzy'. Expected a layer")


def test_registered_names_and_other_keras_versions_are_left_to_keras(monkeypatch):
    assert unknown_layer_message("my_package>MyLayer") is None
    monkeypatch.setattr(keras_layer_names, "installed_keras_version", lambda: "99.0.0")
    assert unknown_layer_message("LayerOfAFutureKeras") is None


@pytest.mark.parametrize("name", ["Dense", "Dens", "Xyzzy"])
def test_the_static_check_agrees_with_the_builder(name):
    """The builder (which asks Keras) accepts exactly the names the static list accepts."""
    from geokeras.errors import SpecError
    from geokeras.models.builder import deserialize_keras_layer

    try:
        deserialize_keras_layer(name, {"units": 2})
        built = True
    except SpecError:
        built = False
    assert built == (unknown_layer_message(name) is None)
