"""Sweep axis values: lists, flow lists, range, linspace and logspace, and their errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import geokeras.sweep as sweep_module
from geokeras.errors import GeokerasInputError, SpecError
from geokeras.limits import MAX_SWEEP_POINTS
from geokeras.sweep import GridAxis, lists_as_values, parse_grid, sweep
from geokeras.sweep_values import axis_values


@pytest.mark.parametrize(
    "text, values",
    [
        ("1,2,3", ["1", "2", "3"]),
        ("range(1,4)", ["1", "2", "3"]),
        ("range(3)", ["0", "1", "2"]),
        ("range(10, 0, -3)", ["10", "7", "4", "1"]),
        ("range(0x10,0x12)", ["16", "17"]),
        ("linspace(0.5,2,4)", ["0.5", "1.0", "1.5", "2.0"]),
        ("linspace(0,1,4)", ["0.0", "0.3333333333333333", "0.6666666666666666", "1.0"]),
        ("linspace(3,3,1)", ["3.0"]),
        ("logspace(-3,-1,3)", ["0.001", "0.01", "0.1"]),
        ("logspace(0,3,4,2)", ["1.0", "2.0", "4.0", "8.0"]),
        ("0,range(5,7),9", ["0", "5", "6", "9"]),
        ("[8,8],[16]", ["[8,8]", "[16]"]),
    ],
)
def test_axis_values(text, values):
    assert axis_values(text) == values


@pytest.mark.parametrize(
    "text, function, arguments",
    [("linspace(0,1,7)", np.linspace, (0, 1, 7)), ("logspace(-4,0,9)", np.logspace, (-4, 0, 9))],
)
def test_spaced_values_are_numpy_s_and_round_trip(text, function, arguments):
    assert [float(value) for value in axis_values(text)] == list(function(*arguments))


@pytest.mark.parametrize(
    "text, message",
    [
        ("range(1,1)", "expected a range of at least one value. Received 'range(1,1)', which is empty."),
        ("range(3,1)", "expected a range of at least one value. Received 'range(3,1)', which is empty."),
        ("linspace(0,1,0)", "expected a linspace of at least one value. Received 'linspace(0,1,0)', which is empty."),
        (
            "range(1.5,3)",
            "expected range(start, stop[, step]) with 1 to 3 integer arguments (linspace(start, stop, num) spaces "
            "numbers). Received 'range(1.5,3)'.",
        ),
        (
            "range()",
            "expected range(start, stop[, step]) with 1 to 3 integer arguments (linspace(start, stop, num) spaces "
            "numbers). Received 'range()'.",
        ),
        ("range(1,3,0)", "expected a range step other than 0. Received 'range(1,3,0)'."),
        ("linspace(0,1)", "expected linspace(start, stop, num) with an integer num >= 1. Received 'linspace(0,1)'."),
        (
            "linspace(0,1,2.5)",
            "expected linspace(start, stop, num) with an integer num >= 1. Received 'linspace(0,1,2.5)'.",
        ),
        (
            "range(a,3)",
            "expected range(start, stop[, step]) with finite numbers as arguments. Received 'range(a,3)', with "
            "the argument 'a'.",
        ),
        (
            "range(true,3)",
            "expected range(start, stop[, step]) with finite numbers as arguments. Received 'range(true,3)', "
            "with the argument 'true'.",
        ),
        (
            "range(010,20)",
            "in 'range(010,20)': expected an integer without a leading zero. Received '010', which YAML 1.1 reads "
            "as the octal 8 and YAML 1.2 as 10: write 10, 0o10 for octal, or quote it ('010') for text.",
        ),
        (
            "logspace(0,400,2)",
            "expected logspace to give finite numbers. Received 'logspace(0,400,2)', which overflows.",
        ),
        (
            "range(0,100000)",
            f"expected at most {MAX_SWEEP_POINTS:,} values on one sweep axis (each is a run). Received "
            "'range(0,100000)', which gives 100,000.",
        ),
    ],
)
def test_malformed_ranges_are_refused(text, message):
    with pytest.raises(GeokerasInputError) as caught:
        axis_values(text)
    assert str(caught.value) == message


def test_a_grid_of_too_many_points_is_refused_before_any_is_resolved():
    with pytest.raises(GeokerasInputError) as caught:
        parse_grid(["seed=range(0,1000)", "manifold.turns=range(1,101)"])
    assert str(caught.value) == (
        f"expected a grid of at most {MAX_SWEEP_POINTS:,} points (each is a run). Received 1000 x 100 = 100,000."
    )


def test_a_flow_list_is_the_values_unless_the_key_holds_a_list(sweep_spec_path):
    axes = lists_as_values(
        sweep_spec_path, [GridAxis("seed", ("[1, 2, range(5,7)]",)), GridAxis("model.encoder.widths", ("[8, 8]",))]
    )
    assert axes == [GridAxis("seed", ("1", "2", "5", "6")), GridAxis("model.encoder.widths", ("[8, 8]",))]


def test_a_sweep_over_ranges_resolves_each_point(sweep_spec_path, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_module, "point_command", lambda spec, point: [sys.executable, "-c", "exit(2)"])
    result = sweep(sweep_spec_path, ["seed=[3,4]", "manifold.radius=linspace(0.5,1,2)"], runs_root=tmp_path / "runs")
    assert [point.values for point in result.points] == [
        {"seed": "3", "manifold.radius": "0.5"},
        {"seed": "3", "manifold.radius": "1.0"},
        {"seed": "4", "manifold.radius": "0.5"},
        {"seed": "4", "manifold.radius": "1.0"},
    ]
    assert [(point.spec.seed, point.spec.manifold.radius) for point in result.points] == [
        (3, 0.5),
        (3, 1.0),
        (4, 0.5),
        (4, 1.0),
    ]


def test_an_ambiguous_sweep_value_is_refused_naming_the_override(sweep_spec_path, tmp_path):
    with pytest.raises(SpecError) as caught:
        sweep(sweep_spec_path, ["manifold.radius=1:3:0.5"], runs_root=tmp_path / "runs")
    assert caught.value.location == "<command line> 'manifold.radius=1:3:0.5'"
    assert "base-60 number 3780.5" in caught.value.message
    assert not (tmp_path / "runs").exists()
