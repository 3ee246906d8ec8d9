"""The clean plan a plain ``overmix stitch`` of a clip renders with (recorded, not rebuilt)."""

from __future__ import annotations

from pathlib import Path

import pytest

import overmix.commands.clean_plan as clean_plan
from overmix.commands.options import StitchOptions
from overmix.commands.stitch import stitch


def stitched_plan(monkeypatch: pytest.MonkeyPatch, clip: Path) -> clean_plan.CleanPlan:
    """The last :class:`~overmix.commands.clean_plan.CleanPlan` whose frame weights a plain
    stitch of ``clip`` asked for: the plan the still was rendered with."""
    plans: list[clean_plan.CleanPlan] = []
    orig = clean_plan.CleanPlan.frame_weights

    def recorded(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        plans.append(self)
        return orig(self, *args, **kwargs)

    monkeypatch.setattr(clean_plan.CleanPlan, "frame_weights", recorded)
    stitch(clip, StitchOptions())
    assert plans
    return plans[-1]
