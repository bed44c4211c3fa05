"""The loader is total and bounded: hostile files and overrides end in located SpecErrors.

One test per way a spec file or an override used to escape as a traceback, a hang, memory
exhaustion or a quoted foreign file; each asserts the exact message and location.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from geokeras.errors import GeokerasInputError, SpecError, SpecErrors
from geokeras.spec import load_spec
from geokeras.spec.resolve import check_plain_values
from geokeras.spec.yaml_source import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, Positions, parse_yaml
from tests.conftest import load_error, write

MINIMAL = """\
name: tiny
manifold: {type: circle}
model:
  latent_dim: 2
  encoder: {type: mlp, widths: [8, 8]}
"""

LAYERS = """\
name: layers
manifold: {type: circle}
model:
  latent_dim: 2
  encoder:
    type: keras_layers
    layers:
      - {class_name: Dense, config: {units: UNITS}}
  decoder: {type: mlp, widths: [8]}
"""


def alias_bomb(width: int = 9, levels: int = 9) -> str:
    """The classic "billion laughs": ``levels`` lists of ``width`` aliases of the previous list."""
    lines = ["l0: &l0 [" + ",".join(["x"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- size and expansion
def test_an_alias_bomb_is_refused_at_the_value_cap_quickly_and_in_little_memory(tmp_path):
    bomb = alias_bomb()
    assert len(bomb) < 460  # 9**9 = 387 million values if expanded
    path = write(tmp_path, "bomb.yaml", bomb)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        error = load_error(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - start < 10
    assert peak < 200 * 2**20
    assert error.message == (
        f"expected at most {MAX_NODES} values in a spec, counting each use of an alias. "
        f"Received more (aliases expanding to too many values)."
    )
    assert error.path == ("l5", 0, 3, 3, 7, 2, 1)
    assert error.location == f"{path}:1:12"  # l0[1]: the 100,001st value


def test_a_recursive_alias_is_an_error_not_a_recursion_error(tmp_path):
    error = load_error(write(tmp_path, "loop.yaml", "a: &n [*n]\n"))
    assert str(error) == (
        f"{tmp_path / 'loop.yaml'}:1:4: a[0]: malformed YAML: a recursive alias (a value that contains itself)."
    )


def test_nesting_past_the_depth_cap_is_refused_where_it_starts(tmp_path):
    depth = "expected a nesting depth of at most 64 (mappings and lists inside each other). Received deeper nesting."
    path = write(tmp_path, "deep.yaml", "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
    assert str(load_error(path)) == f"{path}:1:{3 + MAX_DEPTH}: {depth}"  # the mapping is the first level
    parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "ok")  # 64 levels, the mapping included
    chained = "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 70))
    error = load_error(write(tmp_path, "chain.yaml", "a0: &a0 [1]\n" + chained))
    assert error.message.startswith("expected a nesting depth of at most 64") and "through aliases" in error.message


BLOCK_NESTING = "a:\n" + "".join(" " * i + "-\n" for i in range(1, 1000))


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000, BLOCK_NESTING], ids=["flow", "block"])
def test_thousands_of_nested_levels_are_a_located_error(tmp_path, text):
    path = write(tmp_path, "deep.yaml", text)
    error = load_error(path)
    assert error.location.startswith(f"{path}:")  # libyaml stops at its own limit of 1000 while looking ahead
    expected = f"expected a nesting depth of at most {MAX_DEPTH} (mappings and lists inside each other)."
    assert error.message == f"{expected} Received deeper nesting."


def test_a_file_past_the_size_cap_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, "big.yaml", b"#" * MAX_FILE_BYTES + b"\n")
    assert str(load_error(path)) == (
        f"{path}: expected a spec file of at most 1048576 bytes (1 MiB). Received a larger file."
    )
    write(tmp_path, "fits.yaml", MINIMAL + "#" * (MAX_FILE_BYTES - len(MINIMAL) - 1) + "\n")
    assert load_spec(tmp_path / "fits.yaml").name == "tiny"


def test_too_many_values_without_aliases_are_refused_while_composing(tmp_path):
    path = write(tmp_path, "flat.yaml", "a: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n")
    error = load_error(path)
    assert error.message == f"expected at most {MAX_NODES} values in a spec. Received more."
    assert error.location == f"{path}:1:{4 + 2 * (MAX_NODES - 3) + 1}"  # node 100,001: the list's 99,998th item


# ----------------------------------------------------------------------------- characters and bytes
@pytest.mark.parametrize("character, code", [("\x07", "0007"), ("\x00", "0000"), ("\x1b", "001B")])
def test_a_control_character_is_an_error_at_its_line_and_column(tmp_path, character, code):
    path = write(tmp_path, "ctrl.yaml", MINIMAL.replace("tiny", f"ti{character}ny"))
    assert str(load_error(path)) == (
        f"{path}:1:9: malformed YAML: expected printable text. Received the unprintable character U+{code}."
    )


def test_invalid_utf8_is_an_error_at_its_line_and_column(tmp_path):
    path = write(tmp_path, "latin1.yaml", MINIMAL.replace("tiny", "tin\xe9").encode("latin-1"))
    assert (
        str(load_error(path)) == f"{path}:1:10: expected UTF-8 text. Received the byte 0xe9, which is not UTF-8 here."
    )
    binary = write(tmp_path, "binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00")
    assert str(load_error(binary)) == (
        f"{binary}:1:1: expected UTF-8 text. Received the byte 0x89, which is not UTF-8 here."
    )


def test_a_lone_surrogate_is_refused(tmp_path):
    with pytest.raises(SpecErrors) as caught:
        check_plain_values({"a": "x\ud800", "b\udcff": 1}, Positions({(): "s.yaml:1:1"}))
    assert [str(error) for error in caught.value.errors] == [
        "s.yaml:1:1: a: expected text encodable as UTF-8. Received text holding the lone surrogate U+D800.",
        "s.yaml:1:1: b\udcff: expected text encodable as UTF-8. Received text holding the lone surrogate U+DCFF.",
    ]
    path = write(tmp_path, "s.yaml", MINIMAL)
    error = load_error(path, ["name=x\udcff"])
    assert str(error) == (
        "<command line> 'name=x\\udcff': name: the value of this override is not valid at line 1, column 2: "
        "malformed YAML: expected printable text. Received the unprintable character U+DCFF."
    )


def test_spec_paths_that_are_not_files(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    assert str(load_error(tmp_path / "dir.yaml")) == (
        f"{tmp_path / 'dir.yaml'}: expected a YAML file. Received a directory: {str(tmp_path / 'dir.yaml')!r}."
    )
    assert str(load_error(Path("a\x00b.yaml"))) == (
        "expected a file path. Received a path holding a NUL byte: 'a\\x00b.yaml'."
    )
    assert str(load_error(tmp_path / "absent.yaml")).endswith(f"no such spec file: {str(tmp_path / 'absent.yaml')!r}.")


# ----------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused_in_free_form_mappings(tmp_path, value):
    path = write(tmp_path, "s.yaml", LAYERS.replace("UNITS", value))
    error = load_error(path)
    assert error.path == ("model", "encoder", "layers", 0, "config", "units")
    received = {".nan": "nan", ".inf": "inf", "-.inf": "-inf"}[value]
    assert error.message == f"expected a finite number (NaN and infinities are refused). Received: {received}."
    assert error.location == f"{path}:8:38"


def test_nan_and_null_no_longer_share_a_hash(tmp_path):
    null = load_spec(write(tmp_path, "null.yaml", LAYERS.replace("UNITS", "null")))
    assert null.model.encoder.layers[0].config == {"units": None}
    with pytest.raises(SpecError, match="expected a finite number"):
        load_spec(write(tmp_path, "nan.yaml", LAYERS.replace("UNITS", ".nan")))


def test_non_finite_overrides_and_several_at_once(tmp_path):
    path = write(tmp_path, "s.yaml", LAYERS.replace("UNITS", "8"))
    error = load_error(path, ["seed=.inf"])
    finite = "expected a finite number (NaN and infinities are refused)."
    assert str(error) == f"<command line> 'seed=.inf': seed: {finite} Received: inf."
    with pytest.raises(SpecErrors) as caught:
        load_spec(path, ["model.encoder.layers.0.config={a: .nan, b: [1, -.inf]}"])
    assert [(item.path, item.message) for item in caught.value.errors] == [
        (("model", "encoder", "layers", 0, "config", "a"), f"{finite} Received: nan."),
        (("model", "encoder", "layers", 0, "config", "b", 1), f"{finite} Received: -inf."),
    ]


def test_integers_past_64_bits_and_past_python_digit_limit(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    error = load_error(path, ["seed=0x" + "f" * 16])
    bound = "expected an integer of at most 64 bits (-2**63 to 2**63 - 1)."
    assert error.message == f"{bound} Received an integer of 64 bits."
    long = write(tmp_path, "long.yaml", MINIMAL + "seed: " + "9" * 5000 + "\n")
    error = load_error(long)
    assert (error.path, error.location) == (("seed",), f"{long}:6:7")
    assert error.message == f"{bound} Received an integer of 5000 characters."
    assert load_error(path, [f"seed={2**63 - 1}"]).message.startswith("expected a seed of at most 4,294,967,295")


# ----------------------------------------------------------------------------- tags
@pytest.mark.parametrize(
    "value, tag",
    [
        ("!!binary gICA", "binary"),
        ("!!timestamp 2001-12-14", "timestamp"),
        ("!!float abc", None),
        ("!!set {a: null}", "set"),
        ("!foo x", None),
        ("!!python/name:os.system ''", "python/name:os.system"),
    ],
)
def test_tags_other_than_plain_data_are_refused(tmp_path, value, tag):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("name: tiny", f"name: {value}"))
    error = load_error(path)
    assert (error.path, error.location) == (("name",), f"{path}:1:7")
    if value == "!!float abc":
        assert error.message == "expected a number. Received 'abc', which cannot be read as one."
    elif value == "!foo x":
        assert error.message.startswith("malformed YAML: unsupported tag '!foo'")
    else:
        assert error.message.startswith(f"malformed YAML: unsupported tag 'tag:yaml.org,2002:{tag}'; a spec holds")


def test_validate_prints_nothing_on_stdout_for_a_refused_binary(tmp_path):
    path = write(tmp_path, "bin.yaml", MINIMAL.replace("name: tiny", "name: !!binary gICA"))
    command = [sys.executable, "-m", "geokeras.cli", "validate", str(path)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"geokeras: error: {path}:1:7: name: malformed YAML: unsupported tag")
    assert len(result.stderr.splitlines()) == 1


def test_plain_dates_are_strings_and_keys_must_be_plain_strings(tmp_path):
    data, _ = parse_yaml("when: 2001-12-14\nequals: =\n", "s")
    assert data == {"when": "2001-12-14", "equals": "="}
    path = write(tmp_path, "s.yaml", MINIMAL + "? [a, b]\n: 1\n")
    assert str(load_error(path)) == f"{path}:6:3: expected keys to be strings. Received a list as a key."


# ----------------------------------------------------------------------------- merge keys
def test_merge_keys_merge_and_written_keys_win(tmp_path):
    text = """\
    defaults: &defaults {latent_dim: 3, encoder: {type: mlp, widths: [4]}}
    name: merged
    manifold: {type: circle}
    model:
      latent_dim: 2
      <<: *defaults
    """
    data, positions = parse_yaml(textwrap.dedent(text), "m.yaml")
    assert data["model"] == {"encoder": {"type": "mlp", "widths": [4]}, "latent_dim": 2}
    assert positions.locate(("model", "encoder")) == "m.yaml:1:37"
    assert positions.locate(("model", "latent_dim")) == "m.yaml:5:3"
    data, _ = parse_yaml("a: {<<: [{x: 1, y: 1}, {x: 2, z: 2}], y: 3}", "m")
    assert data == {"a": {"x": 1, "z": 2, "y": 3}}  # the earlier merged mapping wins, written keys win over both


@pytest.mark.parametrize(
    "text, message, location",
    [
        ("a: {<<: {x: 1}, x: 2, x: 3}", "duplicate key 'x': each key may appear once in a mapping.", "1:23"),
        ("a: {<<: 3}", "expected a mapping or a list of mappings after the merge key '<<'.", "1:9"),
        ("a: &m {x: 1, <<: *m}", "malformed YAML: a recursive alias (a mapping that merges itself).", "1:4"),
    ],
)
def test_merge_key_errors(text, message, location):
    with pytest.raises(SpecError) as caught:
        parse_yaml(text, "m")
    assert (caught.value.message, caught.value.location) == (message, f"m:{location}")


def test_a_spec_with_merged_defaults_loads(tmp_path):
    path = write(
        tmp_path,
        "s.yaml",
        "x-enc: &enc {type: mlp, widths: [8, 8]}\n"
        + MINIMAL.replace("encoder: {type: mlp, widths: [8, 8]}", "encoder: {<<: *enc, widths: [4]}"),
    )
    error = load_error(path)  # the anchor's holder is an unknown top-level key; the merge itself worked
    assert error.path == ("x-enc",)
    spec = load_spec(
        write(
            tmp_path,
            "t.yaml",
            MINIMAL.replace(
                "encoder: {type: mlp, widths: [8, 8]}", "encoder: {<<: {type: mlp, widths: [8]}, widths: [4]}"
            ),
        )
    )
    assert spec.model.encoder.widths == [4]


# ----------------------------------------------------------------------------- extends
SECRET = "SECRET-TOKEN-1234"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("/etc/passwd", None, "expected a YAML spec file (.yaml or .yml) as the base. Received '/etc/passwd'."),
        (
            "secret.txt",
            f"{SECRET}: 1\n",
            "expected a YAML spec file (.yaml or .yml) as the base. Received 'secret.txt'.",
        ),
        (
            "list.yaml",
            f"- {SECRET}\n",
            "expected a YAML mapping of spec sections as the base. Received 'BASE', which holds a list.",
        ),
        (
            "text.yaml",
            f"{SECRET}\n",
            "expected a YAML mapping of spec sections as the base. Received 'BASE', which holds a str.",
        ),
        ("empty.yaml", "", "expected a YAML mapping of spec sections as the base. Received 'BASE', which is empty."),
        (
            "broken.yaml",
            f"{SECRET}: [\n",
            "expected a readable YAML spec as the base. Received 'BASE', which fails to "
            "load at line 2, column 1 (`geokeras validate` on it says why).",
        ),
        (
            "tagged.yaml",
            f"a: !{SECRET} x\n",
            "expected a readable YAML spec as the base. Received 'BASE', which fails "
            "to load at line 1, column 4 (`geokeras validate` on it says why).",
        ),
        (
            "ctrl.yaml",
            f"a: {SECRET}\x07\n",
            "expected a readable YAML spec as the base. Received 'BASE', which fails "
            "to load at line 1, column 21 (`geokeras validate` on it says why).",
        ),
    ],
)
def test_extends_never_quotes_a_file_that_is_not_a_spec(tmp_path, name, content, message):
    if content is not None:
        write(tmp_path, name, content)
    path = write(tmp_path, "child.yaml", f"extends: {name}\n" + MINIMAL)
    error = load_error(path)
    assert (error.path, error.location) == (("extends",), f"{path}:1:1")
    assert error.message == message.replace("BASE", str(tmp_path / name))
    assert SECRET not in str(error)


def test_extends_paths_that_cannot_name_a_spec(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    missing = str(tmp_path / ("x/" * 200 + "y.yaml"))
    cases = {
        "dir.yaml": f"expected a YAML spec file as the base. Received a directory: {str(tmp_path / 'dir.yaml')!r}.",
        '"a\\0b.yaml"': "expected a file path. Received a path holding a NUL byte.",
        "a" * 5000 + ".yaml": "expected a file path of at most 4096 characters. Received 5005.",
        "[1, 2]": "expected a file path. Received: [1, 2].",
        "x/" * 200 + "y.yaml": f"extends names a file that does not exist: {missing!r}.",
    }
    for index, (value, message) in enumerate(cases.items()):
        error = load_error(write(tmp_path, f"c{index}.yaml", f"{MINIMAL}extends: {value}\n"))
        location = f"{tmp_path / f'c{index}.yaml'}:6:1"
        assert (error.path, error.message, error.location) == (("extends",), message, location)


def test_errors_inside_a_base_spec_keep_their_location(tmp_path):
    write(tmp_path, "base.yaml", MINIMAL.replace("latent_dim: 2", "latent_dim: 2\n  latnet: 3"))
    error = load_error(write(tmp_path, "child.yaml", "extends: base.yml\n".replace(".yml", ".yaml")))
    assert (error.path, error.location) == (("model", "latnet"), f"{tmp_path / 'base.yaml'}:5:3")


def test_a_long_extends_chain_is_refused(tmp_path):
    write(tmp_path, "s0.yaml", MINIMAL)
    for index in range(1, 40):
        write(tmp_path, f"s{index}.yaml", f"extends: s{index - 1}.yaml\n")
    assert load_spec(tmp_path / "s31.yaml").name == "tiny"
    error = load_error(tmp_path / "s39.yaml")
    assert error.message == "expected an extends chain of at most 32 files. Received a longer one."
    assert error.location == f"{tmp_path / 's8.yaml'}:1:1"  # s39 ... s8 are 32 files


# ----------------------------------------------------------------------------- overrides
@pytest.mark.parametrize(
    "override, text",
    [
        ("a=" + "[" * 5000, None),
        (
            "seed=&a [*a]",
            "<command line> 'seed=&a [*a]': seed: the value of this override is not valid at line 1, "
            "column 1: malformed YAML: a recursive alias (a value that contains itself).",
        ),
        (
            "1" * 30 + "=1",
            f"<command line> '{'1' * 30}=1': expected a list index of at most 18 digits. Received 30 digits.",
        ),
        ("a." * 70 + "b=1", None),
        ("\u00b2=1", None),  # a unicode digit is a key, not an index
        ("seed=!!binary gICA", None),
    ],
)
def test_hostile_overrides_are_located_at_the_command_line(tmp_path, override, text):
    path = write(tmp_path, "s.yaml", MINIMAL)
    with pytest.raises(GeokerasInputError) as caught:
        load_spec(path, [override])
    errors = caught.value.errors if isinstance(caught.value, SpecErrors) else [caught.value]
    assert all(error.location.startswith("<command line> '") for error in errors)
    if text is not None:
        assert str(caught.value) == text
    if override.startswith("a."):
        assert str(caught.value).endswith("expected a key path of at most 64 parts. Received 71.")
    if override.startswith("a=["):
        assert len(errors[0].location) < 100  # the override is shortened in the location


def test_an_override_of_a_scalar_section_points_at_the_override(tmp_path):
    error = load_error(write(tmp_path, "s.yaml", MINIMAL), ["seed.x=1"])
    assert (error.path, error.location) == (("seed",), "<command line> 'seed.x=1'")


# ----------------------------------------------------------------------------- found by scripts/fuzz_specs.py
def test_a_number_field_that_reads_a_string_as_infinite_is_refused(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("{type: circle}", "{type: circle, radius: '1e999'}"))
    error = load_error(path)  # a quoted '1e999' is a string; the number field reads it as inf
    finite = "expected a finite number (NaN and infinities are refused)"
    assert str(error) == f"{path}:2:26: manifold.radius: {finite}. Received: '1e999'."


def test_a_plain_number_too_large_for_a_float_is_refused_as_infinite(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("{type: circle}", "{type: circle, radius: 1e999}"))
    error = load_error(path)  # YAML 1.2 reads 1e999 as a number, which overflows to inf
    finite = "expected a finite number (NaN and infinities are refused)"
    assert str(error) == f"{path}:2:26: manifold.radius: {finite}. Received: inf."
