"""A :class:`CleanPlan` built straight from known moving masks, for render tests that
judge the weights without the mask-finding stages."""

from __future__ import annotations

import numpy as np

from overmix.commands.clean_plan import CleanPlan
from overmix.geometry import Offsets
from overmix.render.consensus import Consensus, _seen_alone, downsample_mask
from overmix.render.fixed_edges import Crop


def moving_plan(xy: np.ndarray, masks: list[np.ndarray], r: int) -> CleanPlan:
    """The plan of frames at offsets ``xy`` ((n, 2) px) whose moving-foreground masks are
    ``masks`` (n bool (H, W)), analysed at 1/``r`` resolution (the seen-alone places and
    the consensus' masks from the masks reduced by ``r``)."""
    n = len(masks)
    h, w = masks[0].shape
    small = [downsample_mask(m, r, (h // r, w // r)) for m in masks]
    off = Offsets(xy / r, list(range(n)), w // r, h // r)
    alone = _seen_alone(small, [None] * n, xy / r, off.canvas, (h // r, w // r))
    cons = Consensus(r, (h, w), list(small), 0.01, 0.05, np.zeros((h, w), bool),
                     alone=alone, moving=list(small))
    return CleanPlan(cons, moving=[Crop(0, 0, m) for m in masks])
