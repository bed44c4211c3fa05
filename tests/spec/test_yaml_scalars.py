"""Plain scalars are read by the YAML 1.2 core schema; forms YAML 1.1 reads otherwise are refused.

The same rules hold in spec files, in ``key=value`` overrides and inside flow lists and mappings.
"""

from __future__ import annotations

import math

import pytest

from geokeras.errors import SpecError
from geokeras.spec import load_spec
from geokeras.spec.resolve import parse_override
from geokeras.spec.yaml_scalars import AmbiguousScalarError, read_plain_scalar
from tests.conftest import load_error, write

MINIMAL = """\
name: tiny
seed: 3
manifold: {type: circle}
model:
  latent_dim: 2
  encoder: {type: mlp, widths: [8, 8]}
"""


@pytest.mark.parametrize(
    "text, value",
    [
        ("10", 10),
        ("-7", -7),
        ("+3", 3),
        ("0", 0),
        ("-0", 0),
        ("0o17", 15),
        ("0x1F", 31),
        ("0.5", 0.5),
        ("00.5", 0.5),
        (".5", 0.5),
        ("+.5", 0.5),
        ("1.", 1.0),
        ("1e-3", 0.001),
        ("1E3", 1000.0),
        ("1.5e3", 1500.0),
        ("3.0e-3", 0.003),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("hello", "hello"),
        ("y", "y"),
        ("2024-01-01", "2024-01-01"),
        ("-0o17", "-0o17"),
        ("1e", "1e"),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text, value):
    read = read_plain_scalar(text)
    assert (type(read), read) == (type(value), value)


def test_nan_is_a_number():
    assert math.isnan(read_plain_scalar(".nan"))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "010",
            "expected an integer without a leading zero. Received '010', which YAML 1.1 reads as the octal 8 and "
            "YAML 1.2 as 10: write 10, 0o10 for octal, or quote it ('010') for text.",
        ),
        (
            "09",
            "expected an integer without a leading zero. Received '09', which YAML 1.1 reads as text and "
            "YAML 1.2 as 9: write 9, or quote it ('09') for text.",
        ),
        (
            "-010",
            "expected an integer without a leading zero. Received '-010', which YAML 1.1 reads as the octal -8 and "
            "YAML 1.2 as -10: write -10, or quote it ('-010') for text.",
        ),
        (
            "1:3:0.5",
            "expected a number or text. Received '1:3:0.5', which YAML 1.1 reads as the base-60 number 3780.5: "
            "write the number itself, or quote it ('1:3:0.5') for text (a sweep over a range is written "
            "range(1,4) or linspace(0.5,2,4)).",
        ),
        (
            "1_5",
            "expected a number without underscores. Received '1_5', which YAML 1.1 reads as 15 and YAML 1.2 as "
            "text: write 15, or quote it ('1_5') for text.",
        ),
        (
            "yes",
            "expected true or false. Received 'yes', which YAML 1.1 reads as true and YAML 1.2 as text: write "
            "true, or quote it ('yes') for text.",
        ),
        (
            "Off",
            "expected true or false. Received 'Off', which YAML 1.1 reads as false and YAML 1.2 as text: write "
            "false, or quote it ('Off') for text.",
        ),
        (
            "0b101",
            "expected a YAML 1.2 value. Received '0b101', which YAML 1.1 reads as 5 and YAML 1.2 as text: "
            "write 5, or quote it ('0b101') for text.",
        ),
        (
            "-0x1F",
            "expected a YAML 1.2 value. Received '-0x1F', which YAML 1.1 reads as -31 and YAML 1.2 as text: "
            "write -31, or quote it ('-0x1F') for text.",
        ),
    ],
)
def test_forms_yaml_1_1_reads_otherwise_are_refused(text, message):
    with pytest.raises(AmbiguousScalarError) as caught:
        read_plain_scalar(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["no", "ON", "on", "NO", "1_000.5", "12:30", "00"])
def test_more_ambiguous_forms_are_refused(text):
    with pytest.raises(AmbiguousScalarError):
        read_plain_scalar(text)


@pytest.mark.parametrize(
    "override, value",
    [
        ("seed=10", 10),
        ("seed=0o17", 15),
        ("seed=0x1F", 31),
        ("train.optimizer.learning_rate=1e-4", 1e-4),
        ("manifold.turns=1.5", 1.5),
        ("runtime.deterministic=True", True),
        ("name='010'", "010"),
        ('name="yes"', "yes"),
        ("model.encoder.widths=[8, 0x10]", [8, 16]),
        ("train.optimizer={type: adam, learning_rate: 1e-3}", {"type": "adam", "learning_rate": 0.001}),
        ("model.decoder=null", None),
        ("model.decoder=", None),
    ],
)
def test_override_values(override, value):
    assert parse_override(override)[1] == value


@pytest.mark.parametrize(
    "override, where",
    [
        ("seed=010", "line 1, column 1"),
        ("manifold.turns=1:3:0.5", "line 1, column 1"),
        ("manifold.turns=1_5", "line 1, column 1"),
        ("runtime.deterministic=yes", "line 1, column 1"),
        ("model.encoder.widths=[8, 010]", "line 1, column 5"),
        ("train.optimizer={type: adam, amsgrad: on}", "line 1, column 23"),
    ],
)
def test_ambiguous_override_values_are_refused_naming_the_override(override, where):
    with pytest.raises(SpecError) as caught:
        parse_override(override)
    error = caught.value
    assert error.location == f"<command line> {override!r}"
    assert error.message.startswith(f"the value of this override is not valid at {where}: expected ")
    assert str(error).startswith(f"<command line> {override!r}: {override.partition('=')[0]}: ")


def test_a_sexagesimal_override_never_reaches_training(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    error = load_error(path, ["manifold.turns=1:3:0.5"])
    assert "base-60 number 3780.5" in error.message


def test_a_spec_file_with_a_leading_zero_is_refused_at_its_line(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("seed: 3", "seed: 010"))
    error = load_error(path)
    assert str(error) == (
        f"{path}:2:7: seed: expected an integer without a leading zero. Received '010', which YAML 1.1 reads as "
        f"the octal 8 and YAML 1.2 as 10: write 10, 0o10 for octal, or quote it ('010') for text."
    )


def test_a_spec_file_with_a_yaml_1_1_boolean_is_refused_at_its_line(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL + "runtime: {deterministic: yes}\n")
    error = load_error(path)
    assert (error.path, error.location) == (("runtime", "deterministic"), f"{path}:7:26")


def test_an_explicit_tag_does_not_hide_an_ambiguous_form(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("seed: 3", "seed: !!int 010"))
    assert load_error(path).message.startswith("expected an integer without a leading zero.")


def test_yaml_1_2_numbers_in_a_spec_file(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("seed: 3", "seed: 0o17"))
    assert load_spec(path).seed == 15


def test_dumped_yaml_reads_back_as_the_same_data():
    """PyYAML writes '09' and '1e3' plain (text in YAML 1.1); the spec's dumper quotes them."""
    from geokeras.spec.yaml_scalars import dump_yaml
    from geokeras.spec.yaml_source import parse_yaml

    data = {
        "texts": ["09", "1e3", "0o17", "yes", "010", "12:30", "1_5", "", "relu", "2024-01-01"],
        "numbers": [3, -1, 1e-05, 0.5, 1e300],
        "other": [True, False, None],
    }
    text = dump_yaml(data, sort_keys=False)
    assert parse_yaml(text, "dumped")[0] == data
    assert "- relu\n" in text and "- '09'\n" in text and "- '1e3'\n" in text
