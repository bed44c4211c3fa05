"""Parameters of the ``model:`` and ``train:`` spec sections (no TensorFlow imports).

The encoder plays the chart phi: R^n -> R^m of the manifold, the decoder its
parameterisation psi: R^m -> R^n (Lei et al. 2018, section 1).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import (
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from geokeras.limits import MAX_WIDTH, BatchSize, Dimension, Epochs, NonNegativeStepCount, StepCount, Width
from geokeras.models.keras_layer_names import unknown_layer_message
from geokeras.registry import (
    DECODERS,
    DISPLAY_ONLY,
    ENCODERS,
    LEARNING_RATE_SCHEDULES,
    OPTIMIZERS,
    SpecModel,
    union_of,
)

ACTIVATIONS = (
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "softplus",
    "tanh",
    "sigmoid",
    "linear",
)
Activation = Literal[ACTIVATIONS]  # type: ignore[valid-type]

INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
)
Initializer = Literal[INITIALIZERS]  # type: ignore[valid-type]

# Keras layers a spec may never name: they run arbitrary Python or load code from disk.
FORBIDDEN_KERAS_LAYERS = ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer")


class DenseStackParams(SpecModel):
    """Options shared by the dense (MLP) and convolutional stacks."""

    activation: Activation = Field("relu", description="Activation after every hidden layer.")
    negative_slope: NonNegativeFloat = Field(0.2, description="Slope for x < 0 when activation is leaky_relu.")
    batch_norm: bool = Field(False, description="BatchNormalization after each hidden layer.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout rate after each hidden layer.")
    output_activation: Activation = Field("linear", description="Activation of the last layer.")
    kernel_initializer: Initializer = Field("glorot_uniform", description="Keras initializer name.")


@ENCODERS.register("mlp", implementation="geokeras.models.builder:build_mlp")
@DECODERS.register("mlp", implementation="geokeras.models.builder:build_mlp")
class MLPParams(DenseStackParams):
    """A stack of Dense layers: hidden widths, then the output width (latent or ambient)."""

    type: Literal["mlp"] = "mlp"
    widths: list[Width] = Field(default_factory=lambda: [64, 64], description="Hidden layer widths, input side first.")


@ENCODERS.register("conv", implementation="geokeras.models.builder:build_conv")
@DECODERS.register("conv", implementation="geokeras.models.builder:build_conv")
class ConvParams(DenseStackParams):
    """Conv2D stack for images of shape [H, W, C]; as a decoder, Conv2DTranspose in reverse."""

    type: Literal["conv"] = "conv"
    filters: list[Width] = Field(
        default_factory=lambda: [32, 64], description="Filters per convolution, input side first."
    )
    kernel_size: Width = Field(3, description="Square kernel size.")
    strides: Width = Field(2, description="Stride of every convolution.")
    dense: list[Width] = Field(
        default_factory=list, description="Dense widths between the flattened maps and the code."
    )


WIDTH_KEYS = ("units", "filters", "output_dim", "input_dim")
"""Keys of a serialized Keras layer that size its weights: bounded like ``widths``."""


def forbidden_message(class_name: str) -> str:
    """Why the Keras layer ``class_name`` is refused."""
    return (
        f"expected a Keras layer that carries no code (forbidden: {', '.join(FORBIDDEN_KERAS_LAYERS)}: "
        f"they can run arbitrary code). Received: class_name={class_name!r}."
    )


def is_forbidden(class_name: Any) -> bool:
    """True for a forbidden layer name, also written with its module (``keras.layers.Lambda``)."""
    return isinstance(class_name, str) and class_name.rpartition(">")[2].rpartition(".")[2] in FORBIDDEN_KERAS_LAYERS


def nested_config_problem(value: Any, path: tuple = ()) -> Optional[tuple[tuple, str]]:
    """The first problem inside a serialized Keras config: ``(key path within it, message)``, or None.

    Wrappers hold their layers inside their config (``TimeDistributed``'s ``layer``,
    ``Bidirectional``'s ``layer`` and ``backward_layer``, a nested ``Sequential``'s ``layers``), so a
    forbidden layer or an oversized width is searched at every depth, not only at the top.
    """
    if isinstance(value, dict):
        for key in ("class_name", "registered_name"):
            if is_forbidden(value.get(key)):
                return path + (key,), forbidden_message(value[key])
        for key, item in value.items():
            if key in WIDTH_KEYS and isinstance(item, int) and not isinstance(item, bool) and item > MAX_WIDTH:
                return path + (key,), (
                    f"expected {key} of at most {MAX_WIDTH:,} (one kernel grows as the product of two "
                    f"widths). Received: {item!r}."
                )
            found = nested_config_problem(item, path + (key,))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nested_config_problem(item, path + (index,))
            if found is not None:
                return found
    return None


class KerasLayerConfig(SpecModel):
    """One Keras layer, as Keras serializes it: ``{class_name: Dense, config: {units: 8}}``."""

    class_name: str = Field(description="Registered Keras layer name, e.g. Dense or Conv2D.")
    config: dict[str, Any] = Field(default_factory=dict, description="The layer's constructor arguments.")

    @field_validator("class_name")
    @classmethod
    def _a_known_layer(cls, value: str) -> str:
        if is_forbidden(value):
            raise ValueError(forbidden_message(value))
        unknown = unknown_layer_message(value)
        if unknown is not None:
            raise ValueError(unknown)
        return value

    @field_validator("config")
    @classmethod
    def _nothing_forbidden_inside(cls, value: dict[str, Any]) -> dict[str, Any]:
        found = nested_config_problem(value)
        if found is not None:
            location, message = found
            raise ValidationError.from_exception_data(
                "config",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("value_error", "{message}", {"message": message}),
                        loc=location,
                        input=value,
                    )
                ],
            )
        return value


@ENCODERS.register("keras_layers", implementation="geokeras.models.builder:build_keras_layers")
@DECODERS.register("keras_layers", implementation="geokeras.models.builder:build_keras_layers")
class KerasLayersParams(SpecModel):
    """Any chain of registered Keras layers, deserialized with Keras safe mode on.

    The last layer must produce the output width (latent_dim for the encoder, the ambient
    dimension for the decoder); the builder checks it.
    """

    type: Literal["keras_layers"] = "keras_layers"
    layers: list[KerasLayerConfig] = Field(min_length=1, description="Layers, input side first.")

    @classmethod
    def example(cls) -> "KerasLayersParams":
        """One Dense layer of width 2 (a linear map onto a 2-dimensional code)."""
        return cls(layers=[KerasLayerConfig(class_name="Dense", config={"units": 2})])


MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class OwnModelParams(SpecModel):
    """Parameters that also carry a run-time object in a private attribute (a resolved file, a Keras model).

    Equality reads the fields only, as the content hash does: the private object is where the
    fields were found (a file's absolute path) or what they hash (a model whose sha256 they hold).
    """

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    __hash__ = SpecModel.__hash__


@ENCODERS.register("keras_file", implementation="geokeras.models.own_models:build_keras_file")
@DECODERS.register("keras_file", implementation="geokeras.models.own_models:build_keras_file")
class KerasFileParams(OwnModelParams):
    """A Keras model saved with ``model.save("my_encoder.keras")``, trained from its saved weights.

    The file is loaded with Keras safe mode on. Its sha256 is filled in when the spec is
    resolved (so the content hash covers the file's bytes); a given sha256 must match.
    """

    type: Literal["keras_file"] = "keras_file"
    file_suffixes: ClassVar[tuple[str, ...]] = (".keras",)
    path: str = Field(
        min_length=1, description="The .keras file, relative to the directory of the spec file that names it."
    )
    sha256: Optional[str] = Field(
        None,
        pattern=SHA256_PATTERN,
        description="sha256 of the file's bytes: checked when given, always filled in by the resolved spec.",
    )
    custom_objects_module: Optional[str] = Field(
        None,
        pattern=MODULE_PATTERN,
        description=(
            "An importable Python module (mypkg.layers) defining the model's custom layers; it is imported "
            "before loading (its code runs) and its Keras classes are passed as custom_objects."
        ),
    )
    _file: Optional[Any] = PrivateAttr(None)  # the resolved pathlib.Path, set when the spec is resolved

    @classmethod
    def example(cls) -> "KerasFileParams":
        """A linear map R^2 -> R^2 saved to a temporary file (this imports Keras)."""
        import tempfile
        from pathlib import Path

        from geokeras.files import pin_files
        from geokeras.models.own_models import example_model

        file = Path(tempfile.mkdtemp(prefix="geokeras-example-")) / "example.keras"
        example_model().save(file)
        return pin_files(cls(path=file.name), file.parent)


@ENCODERS.register("keras_model", implementation="geokeras.models.own_models:build_keras_model")
@DECODERS.register("keras_model", implementation="geokeras.models.own_models:build_keras_model")
class KerasModelParams(OwnModelParams):
    """A Keras model passed in Python: ``geokeras.run(spec, encoder=model)``; a spec file cannot give one.

    The run records this entry in its resolved spec; ``sha256`` hashes the model's serialized
    config and initial weights, so the content hash changes with either.
    """

    type: Literal["keras_model"] = "keras_model"
    sha256: str = Field(pattern=SHA256_PATTERN, description="sha256 of the model's config and initial weights.")
    _model: Optional[Any] = PrivateAttr(None)  # the keras.Model passed to geokeras.run

    @classmethod
    def example(cls) -> "KerasModelParams":
        """A linear map R^2 -> R^2 (this imports Keras)."""
        from geokeras.models.own_models import example_model, model_sha256

        model = example_model()
        params = cls(sha256=model_sha256(model))
        params._model = model
        return params


@DECODERS.register("mirror", implementation="geokeras.models.builder:build_mirror")
class MirrorParams(SpecModel):
    """The encoder's architecture reversed (hidden widths / filters in reverse order)."""

    type: Literal["mirror"] = "mirror"


EncoderSpec = union_of(ENCODERS, default="mlp")
DecoderSpec = union_of(DECODERS)


class ModelSpec(SpecModel):
    """The autoencoder: encoder R^n -> R^latent_dim, decoder R^latent_dim -> R^n."""

    latent_dim: Dimension = Field(description="Dimension m of the latent codes (the chart's range).")
    encoder: EncoderSpec = Field(
        default_factory=MLPParams, description="The chart phi: R^n -> R^latent_dim, by type (default mlp)."
    )
    decoder: DecoderSpec = Field(
        default_factory=MirrorParams,
        description="The parameterisation psi: R^latent_dim -> R^n, by type; mirror reverses the encoder.",
    )

    @model_validator(mode="after")
    def _mirror_needs_a_mirrorable_encoder(self) -> "ModelSpec":
        """``decoder: {type: mirror}`` (the default) reverses an mlp or conv encoder; nothing else."""
        if isinstance(self.decoder, MirrorParams) and not isinstance(self.encoder, (MLPParams, ConvParams)):
            message = (
                f"decoder type mirror needs an mlp or conv encoder to mirror. Received encoder type "
                f"{self.encoder.type!r}. Expected an explicit decoder, e.g. decoder: {{type: keras_layers, "
                f"layers: [...]}} or decoder: {{type: mlp, widths: [...]}}."
            )
            raise ValidationError.from_exception_data(
                "ModelSpec",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("value_error", "{message}", {"message": message}),
                        loc=("decoder", "type"),
                        input="mirror",
                    )
                ],
            )
        return self


# ----------------------------------------------------------------------------- training
@LEARNING_RATE_SCHEDULES.register("exponential_decay", implementation="keras.optimizers.schedules:ExponentialDecay")
class ExponentialDecayParams(SpecModel):
    """lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)."""

    type: Literal["exponential_decay"] = "exponential_decay"
    initial_learning_rate: PositiveFloat = Field(description="Learning rate at step 0.")
    decay_steps: StepCount = Field(
        description="Optimizer steps (batches, not epochs) over which it decays by decay_rate."
    )
    decay_rate: PositiveFloat = Field(description="Factor applied every decay_steps steps (< 1 decays).")
    staircase: bool = Field(
        False, description="Decay in whole steps of decay_steps (integer division) instead of smoothly."
    )

    @classmethod
    def example(cls) -> "ExponentialDecayParams":
        """Halve 1e-3 every 1000 steps."""
        return cls(initial_learning_rate=1e-3, decay_steps=1000, decay_rate=0.5)


@LEARNING_RATE_SCHEDULES.register("cosine_decay", implementation="keras.optimizers.schedules:CosineDecay")
class CosineDecayParams(SpecModel):
    """Cosine decay from initial_learning_rate to alpha * initial over decay_steps, optional warmup."""

    type: Literal["cosine_decay"] = "cosine_decay"
    initial_learning_rate: PositiveFloat = Field(
        description="Learning rate at step 0 (the start of the warmup, if any)."
    )
    decay_steps: StepCount = Field(
        description="Optimizer steps (batches, not epochs) of the cosine decay, after the warmup."
    )
    alpha: NonNegativeFloat = Field(
        0.0, description="Final learning rate as a fraction of the decay's start (warmup_target if set); 0: to 0."
    )
    warmup_steps: NonNegativeStepCount = Field(0, description="Steps of linear warmup before the decay; 0: none.")
    warmup_target: Optional[PositiveFloat] = Field(
        None, description="Learning rate reached at the end of the warmup; needed when warmup_steps > 0."
    )

    @model_validator(mode="after")
    def _warmup_needs_target(self) -> "CosineDecayParams":
        if self.warmup_steps > 0 and self.warmup_target is None:
            raise ValueError(
                "expected a warmup_target (the learning rate reached after the warmup) when "
                f"warmup_steps > 0. Received: warmup_steps={self.warmup_steps}, warmup_target=null."
            )
        return self

    @classmethod
    def example(cls) -> "CosineDecayParams":
        """From 1e-3 to 0 over 1000 steps."""
        return cls(initial_learning_rate=1e-3, decay_steps=1000)


@LEARNING_RATE_SCHEDULES.register(
    "piecewise_constant", implementation="keras.optimizers.schedules:PiecewiseConstantDecay"
)
class PiecewiseConstantParams(SpecModel):
    """values[i] for boundaries[i-1] < step <= boundaries[i]."""

    type: Literal["piecewise_constant"] = "piecewise_constant"
    boundaries: list[NonNegativeStepCount] = Field(
        min_length=1, description="Optimizer steps at which the learning rate changes, strictly increasing."
    )
    values: list[PositiveFloat] = Field(
        min_length=2, description="Learning rates before, between and after the boundaries: one more than boundaries."
    )

    @model_validator(mode="after")
    def _one_more_value(self) -> "PiecewiseConstantParams":
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                "expected len(values) == len(boundaries) + 1. Received: "
                f"{len(self.values)} values and {len(self.boundaries)} boundaries."
            )
        if any(later <= earlier for earlier, later in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"expected strictly increasing boundaries. Received: boundaries={self.boundaries}.")
        return self

    @classmethod
    def example(cls) -> "PiecewiseConstantParams":
        """1e-3 for the first 100 steps, then 1e-4."""
        return cls(boundaries=[100], values=[1e-3, 1e-4])


LearningRate = Union[PositiveFloat, union_of(LEARNING_RATE_SCHEDULES)]


class OptimizerBase(SpecModel):
    learning_rate: LearningRate = Field(1e-3, description="A number or a schedule.")
    clipnorm: Optional[PositiveFloat] = Field(None, description="Clip each gradient to this norm.")


@OPTIMIZERS.register("adam", implementation="keras.optimizers:Adam")
class AdamParams(OptimizerBase):
    """Adam (Kingma & Ba 2015), ``keras.optimizers.Adam``."""

    type: Literal["adam"] = "adam"
    beta_1: float = Field(0.9, ge=0.0, lt=1.0, description="Decay rate of the first-moment (mean) estimate.")
    beta_2: float = Field(0.999, ge=0.0, lt=1.0, description="Decay rate of the second-moment (variance) estimate.")
    epsilon: PositiveFloat = Field(1e-7, description="Added to the denominator for numerical stability.")


@OPTIMIZERS.register("adamw", implementation="keras.optimizers:AdamW")
class AdamWParams(AdamParams):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

    type: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    weight_decay: NonNegativeFloat = Field(4e-3, description="Decoupled weight decay rate (Keras' default).")


@OPTIMIZERS.register("sgd", implementation="keras.optimizers:SGD")
class SGDParams(OptimizerBase):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    type: Literal["sgd"] = "sgd"
    learning_rate: LearningRate = Field(1e-2, description="A number or a schedule (default 0.01, Keras' for SGD).")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="Momentum factor; 0: plain gradient descent.")
    nesterov: bool = Field(False, description="Use Nesterov momentum.")


@OPTIMIZERS.register("rmsprop", implementation="keras.optimizers:RMSprop")
class RMSpropParams(OptimizerBase):
    """RMSprop (Tieleman & Hinton 2012)."""

    type: Literal["rmsprop"] = "rmsprop"
    rho: float = Field(0.9, ge=0.0, lt=1.0, description="Decay rate of the moving average of squared gradients.")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="Momentum factor; 0: none.")


OptimizerSpec = union_of(OPTIMIZERS, default="adam")


class LossSpec(SpecModel):
    """(1/k) sum_i |x_i - psi(phi(x_i))|^2 (or MAE / Huber), plus l1 * mean |phi(x_i)|."""

    reconstruction: Literal["mse", "mae", "huber"] = Field(
        "mse", description="Reconstruction loss: mean squared error, mean absolute error or Huber (delta 1)."
    )
    code_l1: NonNegativeFloat = Field(0.0, description="Weight of the L1 penalty on the codes.")


class EarlyStoppingSpec(SpecModel):
    monitor: Literal["loss", "val_loss"] = Field(
        "loss", description="Loss watched: training loss, or val_loss (needs validation_split > 0)."
    )
    patience: Epochs = Field(10, description="Epochs without improvement before training stops.")
    min_delta: NonNegativeFloat = Field(0.0, description="Smallest decrease of the monitored loss that counts.")
    restore_best_weights: bool = Field(True, description="Keep the weights of the best epoch, not the last.")


class TrainSpec(SpecModel):
    """How the autoencoder is fitted."""

    epochs: Epochs = Field(100, description="Passes over the training samples.")
    batch_size: BatchSize = Field(256, description="Samples per gradient step.")
    optimizer: OptimizerSpec = Field(default_factory=AdamParams, description="Keras optimizer by type (default adam).")
    loss: LossSpec = Field(default_factory=LossSpec, description="Reconstruction loss and code penalty.")
    validation_split: float = Field(0.0, ge=0.0, lt=1.0, description="Share of samples held out for val_loss.")
    shuffle: bool = Field(True, description="Reshuffle the samples before every epoch (seeded).")
    early_stopping: Optional[EarlyStoppingSpec] = Field(None, description="null disables it.")
    checkpoint_every: Epochs = Field(1, description="Epochs between checkpoints (for --resume).")
    verbose: Annotated[Literal[0, 1, 2], DISPLAY_ONLY] = Field(
        1,
        description=(
            "Training progress on stderr, numbered as in Keras: 0 none (the training stage line only), 1 one bar "
            "over all epochs with ETA and loss on a terminal (nothing elsewhere), 2 a line per epoch (for logs)."
        ),
    )

    @model_validator(mode="after")
    def _val_loss_needs_a_split(self) -> "TrainSpec":
        if self.early_stopping is not None and self.early_stopping.monitor == "val_loss" and self.validation_split == 0:
            raise ValidationError.from_exception_data(
                "TrainSpec",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "value_error",
                            "expected train.validation_split > 0 for early stopping on val_loss (or "
                            "early_stopping.monitor: loss). Received: monitor='val_loss', validation_split=0.0.",
                        ),
                        loc=("early_stopping", "monitor"),
                        input="val_loss",
                    )
                ],
            )
        return self


class RuntimeSpec(SpecModel):
    """Where and how TensorFlow runs."""

    strategy: Literal["auto", "cpu", "gpu", "mirrored", "multi_worker"] = Field(
        "auto", description="auto: the first GPU if present, else the CPU."
    )
    jit_compile: Union[Literal["auto"], bool] = Field(
        "auto", description="XLA compilation of the train step; auto lets Keras decide."
    )
    mixed_precision: bool = Field(False, description="mixed_float16 on GPU (float32 variables).")
    deterministic: bool = Field(True, description="Seed everything and enable TF op determinism.")
