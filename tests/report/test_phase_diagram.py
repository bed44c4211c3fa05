"""The phase diagram of a two-key sweep: categorical and numeric metrics, bad input."""

from __future__ import annotations

import pytest

from geokeras.report.phase_diagram import plot_phase_diagram

CELLS = [("1", "a", "encoded"), ("2", "a", "not_encoded"), ("1", "b", "provably_not_encodable"), ("2", "b", "failed")]


@pytest.mark.parametrize(
    "cells",
    [CELLS, [("1", "a", 0.5), ("2", "a", 1.5), ("1", "b", "failed"), ("2", "b", None)], [("1", "a", True)]],
)
def test_phase_diagram_writes_a_png(tmp_path, cells):
    path = plot_phase_diagram(cells, ["x", "y"], "metric", tmp_path / "phase.png")
    assert path == tmp_path / "phase.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phase_diagram_rejects_other_than_two_keys(tmp_path):
    with pytest.raises(ValueError, match=r"exactly two swept keys. Received: keys=\['x'\]"):
        plot_phase_diagram(CELLS, ["x"], "metric", tmp_path / "phase.png")
    with pytest.raises(ValueError, match="at least one grid point"):
        plot_phase_diagram([], ["x", "y"], "metric", tmp_path / "phase.png")


def test_verdicts_keep_their_colours_and_others_get_distinct_ones():
    from geokeras.report.figures import OKABE_ITO
    from geokeras.report.phase_diagram import VERDICT_COLOURS, class_palette

    alone = class_palette(["not_encoded"])
    both = class_palette(["provably_not_encodable", "not_encoded", "encoded"])
    assert alone["not_encoded"] == both["not_encoded"] == VERDICT_COLOURS["not_encoded"]
    assert len(set(both.values())) == 3
    other = class_palette(["True", "False", "failed", "encoded"])
    assert other["failed"] == "#BBBBBB" and other["encoded"] == VERDICT_COLOURS["encoded"]
    assert other["True"] != other["False"] and {other["True"], other["False"]} <= set(OKABE_ITO)
    assert not {other["True"], other["False"]} & set(VERDICT_COLOURS.values())
