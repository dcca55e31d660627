"""The paper's curve smoothing (docs/paper.md §5.3).

* moving window of 10 steps, trailing: the smoothed value at index k is the mean of the raw values
  at indices max(0, k-9) .. k (the paper does not say trailing or centred; trailing is the only
  reading defined at the last step without padding);
* step 0 is not smoothed (it is its own one-point window, so it equals the raw value);
* the reported final number is the smoothed value at the last step; a "gain" is that minus step 0.

The window counts logged points. With the paper's ``eval_steps 1`` that is 10 steps; with sparser
evaluation it spans more steps. NaN values (a step where the quantity was not logged) are skipped
inside a window; a window with no finite value yields NaN.
"""

from __future__ import annotations

import math
from typing import Sequence

WINDOW = 10


def smooth_curve(values: Sequence[float], window: int = WINDOW) -> list[float]:
    """Trailing moving average over the last ``window`` points; index 0 stays raw."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    out: list[float] = []
    for k in range(len(values)):
        chunk = [float(v) for v in values[max(0, k - window + 1): k + 1] if v is not None and not math.isnan(v)]
        out.append(math.fsum(chunk) / len(chunk) if chunk else math.nan)
    return out


def final_value(values: Sequence[float], window: int = WINDOW) -> float:
    """The paper's reported number: the smoothed value at the last step."""
    if len(values) == 0:
        raise ValueError("final_value of an empty curve")
    return smooth_curve(values, window)[-1]


def gain(values: Sequence[float], window: int = WINDOW) -> float:
    """Final smoothed value minus the (raw) step-0 value, as in docs/paper.md §7.1."""
    return final_value(values, window) - float(values[0])
