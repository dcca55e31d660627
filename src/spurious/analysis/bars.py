"""Figure-1-style bars: accuracy of the base model and after RL with each reward, per model family.

Each family is a cluster: a grey base bar, then one bar per reward labelled with its gain over the
base (Δ, in the same units as the values, normally percentage points), optional error bars (e.g.
the half-width of a 95 % interval across seeds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from matplotlib.figure import Figure

from spurious.analysis.plots import PALETTE

BASE_COLOR = "#9e9e9e"


@dataclass(frozen=True)
class BarEntry:
    family: str  # model family / model name: one cluster
    label: str  # reward (GT, format, random, ...)
    base: float  # step-0 value of the family
    value: float  # value after RL
    error: float | None = None  # symmetric error bar, same units

    @property
    def gain(self) -> float:
        return self.value - self.base


def gain_rows(entries: Sequence[BarEntry]) -> list[dict]:
    """Table view of the bars: family, reward, base, final, gain (and ± error)."""
    return [{"family": e.family, "reward": e.label, "base": e.base, "final": e.value, "gain": e.gain,
             "±": e.error} for e in entries]


def value_axis_top(top: float, limit: float | None = 100.0) -> float:
    """Upper end of the value axis: 15 % headroom over ``top`` (the highest bar or error bar), at least a tenth
    of ``limit`` (so an all-zero chart still reads in its units) and at most ``limit`` (100 for percentages)."""
    if limit is None:
        return top * 1.15 if top > 0 else 1.0
    return min(limit, max(top * 1.15, limit / 10))


def plot_gain_bars(entries: Sequence[BarEntry], out_path: str | os.PathLike, title: str = "Gain over the base model",
                   ylabel: str = "accuracy (%)", limit: float | None = 100.0) -> Path:
    """Save the grouped bar chart as PNG; raises ValueError for no entries or inconsistent bases.

    Values are in the units of ``ylabel`` (percent by default); the axis ends at ``limit`` at most (see
    :func:`value_axis_top`; None: no cap). The legend sits below the axes, so it never covers a bar."""
    if not entries:
        raise ValueError("plot_gain_bars needs at least one entry")
    families = list(dict.fromkeys(e.family for e in entries))
    labels = list(dict.fromkeys(e.label for e in entries))
    base_of: dict[str, float] = {}
    for e in entries:
        if base_of.setdefault(e.family, e.base) != e.base:
            raise ValueError(f"family {e.family!r} has two base values: {base_of[e.family]} and {e.base}")
    color = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    width = 0.8 / (len(labels) + 1)
    fig = Figure(figsize=(max(6.0, 1.6 + 1.2 * len(families) * (len(labels) + 1) * 0.45), 4.4), dpi=100)
    ax = fig.add_subplot()
    top = max(max(e.value + (e.error or 0) for e in entries), max(base_of.values()))
    bottom = min(0.0, min(e.value for e in entries))
    seen: set[str] = set()
    for fi, fam in enumerate(families):
        ax.bar(fi, base_of[fam], width, color=BASE_COLOR, label="base" if fi == 0 else None)
        ax.text(fi, base_of[fam], f"{base_of[fam]:.1f}", ha="center", va="bottom", fontsize=7)
        for li, lab in enumerate(labels):
            match = [e for e in entries if e.family == fam and e.label == lab]
            if not match:
                continue
            e = match[0]
            x = fi + (li + 1) * width
            ax.bar(x, e.value, width, color=color[lab], label=None if lab in seen else lab,
                   yerr=e.error, capsize=3 if e.error else 0)
            seen.add(lab)
            ax.text(x, e.value + (e.error or 0), f"{e.gain:+.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks([fi + len(labels) * width / 2 for fi in range(len(families))], families)
    ax.set_ylim(bottom, value_axis_top(top, limit))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=min(len(labels) + 1, 4))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", bbox_inches="tight")
    return out
