"""A researcher's own Keras models as encoder or decoder: a saved ``.keras`` file or a model object.

Both are trained *from their own weights*: a loaded file starts from the weights it was saved
with, a model passed to ``geokeras.run(spec, encoder=model)`` from the weights it holds when
passed (on a copy: the caller's model is never changed). So the same file or model and the same
spec train the same network; the spec's ``seed`` still draws the data, the batch order and the
dropout masks, and initialises only weights the model has not created yet (a subclassed model
that was never called). Re-initialise a model yourself before saving it when you want a fresh
start per seed.

The model is wrapped in a functional model named ``encoder`` / ``decoder`` (what the run
directory and the autoencoder expect) whose input has the shape the data dictate; the wrapped
model is one layer of it, with its own name, and the lowering of :mod:`geokeras.complexity`
walks into it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

import keras
import numpy as np

from geokeras.errors import SpecError
from geokeras.files import pinned_sha256, resolve_spec_file, spec_directory
from geokeras.models.builder import first_line, shape_text
from geokeras.models.params import KerasFileParams, KerasModelParams

Shape = tuple[int, ...]


# ------------------------------------------------------------------------------ keras_file
def build_keras_file(
    params: KerasFileParams,
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    role: str,
    encoder_params: Any = None,
) -> keras.Model:
    """The model saved at ``params.path``, checked against the shapes and wrapped as ``role``.

    The file is found where the resolved spec found it (``params._file``; for parameters built
    in Python, relative to the current directory), its bytes checked against ``sha256`` when
    given, and loaded with ``safe_mode=True`` and without its optimizer (``compile=False``).
    """
    file = params._file or resolve_spec_file(spec_directory(None), params.path, ("path",), params.file_suffixes)
    pinned_sha256(Path(file), params.sha256, ("sha256",))
    custom_objects = custom_objects_from(params.custom_objects_module)
    try:
        loaded = keras.saving.load_model(file, custom_objects=custom_objects, compile=False, safe_mode=True)
    except Exception as error:  # anything Keras refuses in the file is the spec's to fix
        hint = "" if params.custom_objects_module else " (a custom layer needs custom_objects_module)"
        raise SpecError(
            f"expected a Keras model file that loads in safe mode{hint}. Received {str(file)!r}: {first_line(error)}",
            ("path",),
        ) from error
    if not isinstance(loaded, keras.Model):
        raise SpecError(f"expected a saved keras.Model. Received a {type(loaded).__name__}.", ("path",))
    return as_role_model(loaded, input_shape, output_shape, role, key="path")


def custom_objects_from(module_name: Optional[str]) -> dict[str, Any]:
    """``{class name: class}`` of the Keras layers, models and functions a module defines, after importing it.

    Importing the module also runs its ``keras.saving.register_keras_serializable`` decorators,
    so its classes load under their registered names too.

    Raises:
        SpecError: at ``("custom_objects_module",)`` when the module cannot be imported.
    """
    if module_name is None:
        return {}
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise SpecError(
            f"expected an importable Python module (on sys.path). Received {module_name!r}: {first_line(error)}",
            ("custom_objects_module",),
        ) from error
    kinds = (keras.layers.Layer, keras.initializers.Initializer, keras.regularizers.Regularizer)
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and isinstance(value, type) and issubclass(value, kinds)
    }


# ------------------------------------------------------------------------------ keras_model
def build_keras_model(
    params: KerasModelParams,
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    role: str,
    encoder_params: Any = None,
) -> keras.Model:
    """A copy of the model passed to ``geokeras.run`` (``params._model``), wrapped as ``role``."""
    if params._model is None:
        raise SpecError(
            f"type keras_model stands for a Keras model passed in Python: geokeras.run(spec, {role}=model). "
            f"Received none. Expected that argument, or type: keras_file with a saved model (the run directory "
            f"of such a run keeps it as models/initial_{role}.keras).",
            ("type",),
        )
    return as_role_model(copied_model(params._model), input_shape, output_shape, role, key="type")


def model_sha256(model: keras.Model) -> str:
    """sha256 of the model's serialized config (canonical JSON) and of each weight's dtype, shape and bytes."""
    config = keras.saving.serialize_keras_object(model)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":"), default=str).encode())
    for weight in model.weights:
        array = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def copied_model(model: keras.Model) -> keras.Model:
    """A copy with the same config and weights, by a ``.keras`` save and a safe-mode load.

    The round trip also checks, before training, that the model can be saved and loaded
    again (the run directory keeps it as ``models/<role>.keras``).
    """
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "model.keras"
        try:
            with warnings.catch_warnings():  # an unbuilt model: its weights are made, seeded, when it is wrapped
                warnings.filterwarnings("ignore", message="You are saving a model that has not yet been built")
                model.save(file)
            return keras.saving.load_model(file, compile=False, safe_mode=True)
        except Exception as error:
            raise SpecError(
                f"expected a Keras model that saves to .keras and loads in safe mode (subclassed models need "
                f"get_config and keras.saving.register_keras_serializable; Lambda layers are refused). Received "
                f"model {model.name!r}: {first_line(error)}",
                ("type",),
            ) from error


# ------------------------------------------------------------------------------ shapes
def as_role_model(
    model: keras.Model, input_shape: Sequence[int], output_shape: Sequence[int], role: str, key: str
) -> keras.Model:
    """``model`` inside a functional model named ``role`` on inputs of ``input_shape``.

    Raises:
        SpecError: at ``(key,)`` when the model's declared input shape is not ``input_shape``, when
            it cannot be called on such inputs, or when its output shape is not ``output_shape``.
    """
    input_shape, output_shape = tuple(input_shape), tuple(output_shape)
    what_in = "one data sample's shape" if role == "encoder" else "latent_dim"
    what_out = "latent_dim" if role == "encoder" else "one data sample's shape"
    declared = _declared_input_shape(model)
    if declared is not None and (
        len(declared) != len(input_shape) or any(d is not None and d != e for d, e in zip(declared, input_shape))
    ):
        raise SpecError(
            f"expected the {role} to take inputs of shape {shape_text(input_shape)} ({what_in}). "
            f"Received a model whose input shape is {shape_text(declared)}.",
            (key,),
        )
    inputs = keras.Input(shape=input_shape, name=f"{role}_input")
    try:
        outputs = model(inputs)
    except Exception as error:
        raise SpecError(
            f"expected a {role} that accepts inputs of shape {shape_text(input_shape)} ({what_in}). "
            f"Received model {model.name!r}, which fails on them: {first_line(error)}",
            (key,),
        ) from error
    if not isinstance(outputs, keras.KerasTensor) or tuple(outputs.shape[1:]) != output_shape:
        received = tuple(outputs.shape[1:]) if isinstance(outputs, keras.KerasTensor) else type(outputs).__name__
        shown = shape_text(received) if isinstance(received, tuple) else f"a {received}"
        raise SpecError(
            f"expected the {role} to output shape {shape_text(output_shape)} ({what_out}). "
            f"Received a model whose output is {shown}.",
            (key,),
        )
    if outputs.dtype != "float32":  # mixed precision: the codes and reconstructions stay float32
        outputs = keras.layers.Activation("linear", dtype="float32", name=f"{role}_float32_output")(outputs)
    return keras.Model(inputs, outputs, name=role)


def _declared_input_shape(model: keras.Model) -> Optional[Shape]:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs or len(inputs) != 1:
        return None
    return tuple(inputs[0].shape[1:])


def example_model() -> keras.Model:
    """A tiny linear map R^2 -> R^2 (the example of the keras_file and keras_model types)."""
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="example_dense")], name="example")


# ------------------------------------------------------------------------------ geokeras.run(encoder=...)
def with_own_models(spec: Any, *, encoder: Optional[keras.Model] = None, decoder: Optional[keras.Model] = None) -> Any:
    """``spec`` with ``model.encoder`` / ``model.decoder`` replaced by the given Keras models.

    Each becomes ``{type: keras_model, sha256: <model_sha256>}`` in the resolved spec (so the
    content hash and the run directory's name follow the model's config and initial weights)
    and keeps the model object for :func:`build_keras_model`.

    Raises:
        TypeError: ``encoder`` or ``decoder`` is not a ``keras.Model``.
    """
    updates = {}
    for role, model in (("encoder", encoder), ("decoder", decoder)):
        if model is None:
            continue
        if not isinstance(model, keras.Model):
            raise TypeError(f"Expected `{role}` to be a keras.Model. Received: {role} of type {type(model).__name__}.")
        params = KerasModelParams(sha256=model_sha256(model))
        params._model = model
        updates[role] = params
    return spec.model_copy(update={"model": spec.model.model_copy(update=updates)})
