"""The content hash covers what decides the numbers, not how a run is shown."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from geokeras.registry import DISPLAY_ONLY, SpecModel
from geokeras.spec import load_spec
from geokeras.spec.schema import Spec

QUICKSTART = "specs/quickstart.yaml"


@pytest.mark.parametrize(
    ("base", "changed"),
    [
        ([], ["report.dpi=300"]),
        ([], ["report.figures=false"]),
        ([], ["report.max_points=10"]),
        ([], ["train.verbose=0"]),
        ([], ["report.dpi=50", "train.verbose=1"]),
        (["evaluate=[{type: denoising, figure_points: 300}]"], ["evaluate=[{type: denoising, figure_points: 10}]"]),
        (
            ["evaluate=[{type: rlc_on_manifold, box_margin: 0.1}]"],
            ["evaluate=[{type: rlc_on_manifold, box_margin: 1}]"],
        ),
    ],
)
def test_display_only_keys_keep_the_hash(base, changed):
    base_spec, changed_spec = load_spec(QUICKSTART, base), load_spec(QUICKSTART, changed)
    assert changed_spec.to_dict() != base_spec.to_dict()
    assert changed_spec.content_hash == base_spec.content_hash
    assert changed_spec.run_name == base_spec.run_name


@pytest.mark.parametrize(
    "override",
    ["train.epochs=3", "seed=1", "train.batch_size=32", "manifold.samples=100", "evaluate=[manifold_stats]"],
)
def test_other_keys_change_the_hash(override):
    assert load_spec(QUICKSTART, [override]).content_hash != load_spec(QUICKSTART).content_hash


def test_resolved_spec_still_records_display_only_keys():
    spec = load_spec(QUICKSTART, ["report.dpi=300", "train.verbose=0"])
    assert spec.to_dict()["report"]["dpi"] == 300 and spec.to_dict()["train"]["verbose"] == 0
    identity = spec.identity_dict()
    assert "report" not in identity and "verbose" not in identity["train"]
    assert "dpi: 300" in spec.to_yaml()


def test_display_only_paths_lists_the_marked_keys():
    assert set(Spec.display_only_paths()) == {
        ("report",),
        ("tracking",),
        ("train", "verbose"),
        ("evaluate", "figure_points"),
        ("evaluate", "box_margin"),
    }


class _Inner(SpecModel):
    kept: int = 1
    shown: Annotated[int, DISPLAY_ONLY] = 2


class _Outer(SpecModel):
    inner: _Inner = Field(default_factory=_Inner)
    items: list[_Inner] = Field(default_factory=lambda: [_Inner(), _Inner(kept=3)])
    section: Annotated[_Inner, DISPLAY_ONLY] = Field(default_factory=_Inner)


def test_identity_dump_drops_marked_fields_at_every_depth():
    assert _Outer().identity_dump() == {"inner": {"kept": 1}, "items": [{"kept": 1}, {"kept": 3}]}
    assert _Outer().model_dump()["section"] == {"kept": 1, "shown": 2}
    assert _Outer.display_only_paths() == [("inner", "shown"), ("items", "shown"), ("section",)]
