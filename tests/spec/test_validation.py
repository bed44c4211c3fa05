"""Key paths of validation errors: union tags never leak into them, real keys never drop out."""

from __future__ import annotations

import pytest

from geokeras.errors import SpecError
from geokeras.spec import spec_from_mapping

MODEL = {"latent_dim": 2, "encoder": {"type": "mlp", "widths": [4]}}


def error_for(section: dict) -> SpecError:
    with pytest.raises(SpecError) as caught:
        spec_from_mapping({"spec_version": 1, "name": "v", "model": MODEL, **section})
    return caught.value


def test_a_failing_default_value_is_named_by_its_key():
    # `r` is not given: its default (1.0) fails against R = 0.5. The path still ends in r.
    error = error_for({"manifold": {"type": "klein_bottle", "R": 0.5}})
    assert error.path == ("manifold", "r") and "expected r < R = 0.5" in error.message


@pytest.mark.parametrize("source", [{"type": "uniform_cube", "low": 1, "high": 0}, {"low": 1, "high": 0}])
def test_a_model_validator_of_a_union_member_names_the_section(source):
    error = error_for({"manifold": {"type": "circle"}, "latent_ot": {"source": source}})
    assert error.path == ("latent_ot", "source") and "low < high" in error.message


# ----------------------------------------------------------------------------- finite numbers and limits
BASE = {"name": "v", "manifold": {"type": "circle", "samples": 64}, "model": MODEL}
FINITE = "expected a finite number (NaN and infinities are refused). Received: {}."


def override_error(*overrides: str, base: dict = BASE) -> SpecError:
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(base, overrides)
    return caught.value


@pytest.mark.parametrize(
    "override, path, shown",
    [
        ("manifold.radius=.nan", ("manifold", "radius"), "nan"),
        ("manifold.noise.std=.inf", ("manifold", "noise", "std"), "inf"),
        ("train.optimizer.learning_rate=.nan", ("train", "optimizer", "learning_rate"), "nan"),
        ("train.loss.code_l1=.inf", ("train", "loss", "code_l1"), "inf"),
        ("latent_ot={source: {low: -.inf}}", ("latent_ot", "source", "low"), "-inf"),
    ],
)
def test_nan_and_infinity_are_refused_at_their_key(override, path, shown):
    error = override_error(override)
    assert (error.path, error.message) == (path, FINITE.format(shown))


@pytest.mark.parametrize(
    "override, path, message",
    [
        (
            "seed=4294967296",
            ("seed",),
            "expected a seed of at most 4,294,967,295 (numpy and TensorFlow seeds are 32-bit integers). "
            "Received: 4294967296.",
        ),
        (
            "manifold.samples=10000001",
            ("manifold", "samples"),
            "expected a sample count of at most 10,000,000 (each sample is a row of the data held in memory). "
            "Received: 10000001.",
        ),
        (
            "model.encoder.widths=[8,1000000000]",
            ("model", "encoder", "widths", 1),
            "expected a layer width of at most 65,536 (one dense kernel grows as the product of two widths). "
            "Received: 1000000000.",
        ),
        (
            "report.dpi=601",
            ("report", "dpi"),
            "expected a dpi of at most 600 (a figure's pixels grow as dpi^2). Received: 601.",
        ),
        (
            "manifold.radius=1e300",
            ("manifold", "radius"),
            "expected a scale of at most 1e+06 (squared distances of the data must stay finite in float32). "
            "Received: 1e+300.",
        ),
        (
            "manifold.noise.std=1e300",
            ("manifold", "noise", "std"),
            "expected a scale of at most 1e+06 (squared distances of the data must stay finite in float32). "
            "Received: 1e+300.",
        ),
        (
            "train.epochs=1000001",
            ("train", "epochs"),
            "expected a number of epochs or steps of at most 1,000,000 (a run must end). Received: 1000001.",
        ),
        (
            "train.batch_size=1048577",
            ("train", "batch_size"),
            "expected a batch size of at most 1,048,576 (a batch's activations must fit on a device). "
            "Received: 1048577.",
        ),
        (
            "evaluate=[{type: reconstruction, samples: 20000000}]",
            ("evaluate", 0, "samples"),
            "expected a sample count of at most 10,000,000 (each sample is a row of the data held in memory). "
            "Received: 20000000.",
        ),
        (
            "evaluate=[{type: rlc_on_manifold, mesh_resolution: 4096}]",
            ("evaluate", 0, "mesh_resolution"),
            "expected a mesh resolution of at most 2,048 (the mesh has 2 x resolution^2 triangles). Received: 4096.",
        ),
        (
            "latent_ot={generate: {samples: 20000000}}",
            ("latent_ot", "generate", "samples"),
            "expected a sample count of at most 10,000,000 (each sample is a row of the data held in memory). "
            "Received: 20000000.",
        ),
        (
            "manifold.embed.ambient_dim=65537",
            ("manifold", "embed", "ambient_dim"),
            "expected a dimension of at most 65,536 (every sample holds one coordinate per dimension). "
            "Received: 65537.",
        ),
    ],
)
def test_values_that_would_exhaust_the_machine_are_refused(override, path, message):
    error = override_error(override)
    assert (error.path, error.message) == (path, message)


def test_a_model_past_the_parameter_cap_is_refused_at_its_widths():
    error = override_error("model.encoder.widths=[60000,60000]")
    assert error.path == ("model", "encoder", "widths")
    assert error.message == (
        "expected an autoencoder of at most 50,000,000 parameters (the weights, their gradients and the "
        "optimizer's moments must fit in memory). Received: at least 7,200,600,003 parameters for samples of "
        "at least 1 coordinate (encoder 3,600,300,002, decoder 3,600,300,001); use smaller widths."
    )


def test_the_parameter_cap_counts_the_embedding_dimension():
    error = override_error("manifold.embed.ambient_dim=60000", "model.encoder.widths=[1000]")
    assert error.path == ("model", "encoder", "widths")
    assert (
        "Received: at least 120,066,002 parameters for samples of at least 60000 coordinates "
        "(encoder 60,003,002, decoder 60,063,000)"
    ) in error.message


def test_early_stopping_on_val_loss_needs_a_validation_split():
    error = override_error("train.early_stopping={monitor: val_loss}")
    assert error.path == ("train", "early_stopping", "monitor")
    assert error.message == (
        "expected train.validation_split > 0 for early stopping on val_loss (or early_stopping.monitor: loss). "
        "Received: monitor='val_loss', validation_split=0.0."
    )


def test_a_validation_split_holding_out_nothing_is_refused():
    error = override_error("train.validation_split=0.01")
    assert error.path == ("train", "validation_split")
    assert error.message == (
        "expected a validation split leaving at least one validation and one training sample of "
        "manifold.samples = 64. Received: validation_split=0.01, which holds out 0 of 64."
    )


LAMBDA = {"module": "keras.layers", "class_name": "Lambda", "config": {"function": "abs"}}


@pytest.mark.parametrize(
    "layer, inner_path",
    [
        ({"class_name": "TimeDistributed", "config": {"layer": LAMBDA}}, ("layer", "class_name")),
        (
            {
                "class_name": "Bidirectional",
                "config": {"layer": {"class_name": "LSTM", "config": {"units": 2}}, "backward_layer": LAMBDA},
            },
            ("backward_layer", "class_name"),
        ),
        (
            {
                "class_name": "TimeDistributed",
                "config": {
                    "layer": {
                        "class_name": "Sequential",
                        "config": {
                            "layers": [
                                {"class_name": "Dense", "config": {"units": 2}},
                                {**LAMBDA, "class_name": "keras.layers.Lambda"},
                            ]
                        },
                    }
                },
            },
            ("layer", "config", "layers", 1, "class_name"),
        ),
    ],
)
def test_a_forbidden_layer_inside_a_wrapper_is_refused(layer, inner_path):
    model = {
        "latent_dim": 2,
        "encoder": {
            "type": "keras_layers",
            "layers": [{"class_name": "Reshape", "config": {"target_shape": [1, 2]}}, layer],
        },
        "decoder": {"type": "mlp"},
    }
    error = override_error(base={**BASE, "model": model})
    assert error.path == ("model", "encoder", "layers", 1, "config", *inner_path)
    forbidden = "keras.layers.Lambda" if inner_path[-2] == 1 else "Lambda"
    assert error.message == (
        "expected a Keras layer that carries no code (forbidden: Lambda, TFSMLayer, TorchModuleWrapper, JaxLayer, "
        f"FlaxLayer: they can run arbitrary code). Received: class_name={forbidden!r}."
    )


def test_units_inside_a_wrapper_are_bounded():
    dense = {"class_name": "Dense", "config": {"units": 100000}}
    model = {
        "latent_dim": 2,
        "encoder": {"type": "keras_layers", "layers": [{"class_name": "TimeDistributed", "config": {"layer": dense}}]},
        "decoder": {"type": "mlp"},
    }
    error = override_error(base={**BASE, "model": model})
    assert error.path == ("model", "encoder", "layers", 0, "config", "layer", "config", "units")
    assert error.message == (
        "expected units of at most 65,536 (one kernel grows as the product of two widths). Received: 100000."
    )


def test_the_json_schema_states_the_bounds():
    from geokeras.spec import json_schema

    schema = json_schema()
    assert schema["properties"]["seed"]["maximum"] == 2**32 - 1
    assert schema["$defs"]["ReportSpec"]["properties"]["dpi"]["maximum"] == 600
    assert schema["$defs"]["MLPParams"]["properties"]["widths"]["items"]["maximum"] == 65_536
