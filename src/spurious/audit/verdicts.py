"""The audit's verdict, by fixed rules (never by hand).

Evidence per arm: each seed's accuracy gain (after minus before, one evaluation fingerprint). For every
control c, ``d_c`` = the user's mean gain minus c's, with its 95% Welch interval across seeds
(:func:`spurious.analysis.stats.welch_difference`). ``MARGIN`` is the smallest excess that counts
(+0.03 accuracy, the organism verdicts' ``PRACTICAL_GAIN``).

Per control:
    exceeds     the interval of d_c lies above 0;
    within      its upper end is below MARGIN: the control gives at least about as much (or more);
    unresolved  anything else, or fewer than ``MIN_SEEDS`` seeds on either side.
Verdict:
    "not distinguishable from a spurious control"  if some control is *within* (that control explains
                                                    the gain, whatever the others say);
    "exceeds every spurious control"                if every control is *exceeded*;
    "inconclusive: run more seeds (estimated n)"    otherwise. n is the smallest number of seeds per arm at
        which, with the observed means and spreads, every unresolved interval would be decided (its half-width
        below max(d_c, MARGIN - d_c)); "more than MAX_SEEDS" if none is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from spurious.analysis.stats import t_quantile, welch_difference
from spurious.organism.verdicts import PRACTICAL_GAIN

MARGIN = PRACTICAL_GAIN
MIN_SEEDS = 2
MAX_SEEDS = 200

EXCEEDS = "exceeds every spurious control"
NOT_DISTINGUISHABLE = "not distinguishable from a spurious control"
INCONCLUSIVE = "inconclusive: run more seeds"


@dataclass(frozen=True)
class Comparison:
    control: str
    n_user: int
    n_control: int
    difference: float | None        # user mean gain - control mean gain
    low: float | None
    high: float | None
    status: str                     # exceeds | within | unresolved
    seeds_needed: int | None        # for unresolved comparisons with a spread to extrapolate


@dataclass(frozen=True)
class AuditVerdict:
    verdict: str                    # EXCEEDS | NOT_DISTINGUISHABLE | INCONCLUSIVE
    text: str                       # the verdict with its reason, one line
    comparisons: tuple[Comparison, ...]
    seeds_needed: int | None        # with INCONCLUSIVE: the estimated seeds per arm (None: > MAX_SEEDS/unknown)


def _var(xs: Sequence[float]) -> float:
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def seeds_needed(user: Sequence[float], control: Sequence[float]) -> int | None:
    """Seeds per arm at which the observed difference would be decided (see the module rules); None if not
    within MAX_SEEDS or without a spread to extrapolate (fewer than 2 values on a side)."""
    if len(user) < 2 or len(control) < 2:
        return None
    vu, vc = _var(user), _var(control)
    d = sum(user) / len(user) - sum(control) / len(control)
    target = max(d, MARGIN - d)
    if vu + vc == 0:
        return max(len(user), len(control), MIN_SEEDS)
    for n in range(max(MIN_SEEDS, 2), MAX_SEEDS + 1):
        df = (vu + vc) ** 2 * (n - 1) / (vu ** 2 + vc ** 2)
        if t_quantile(0.975, df) * math.sqrt((vu + vc) / n) < target:
            return n
    return None


def compare(control: str, user: Sequence[float], other: Sequence[float]) -> Comparison:
    diff = welch_difference(list(user), list(other)) if min(len(user), len(other)) >= MIN_SEEDS else None
    if diff is None:
        return Comparison(control, len(user), len(other), None, None, None, "unresolved", seeds_needed(user, other))
    d, lo, hi = diff
    status = "exceeds" if lo > 0 else "within" if hi < MARGIN else "unresolved"
    need = seeds_needed(user, other) if status == "unresolved" else None
    return Comparison(control, len(user), len(other), d, lo, hi, status, need)


def _fmt(c: Comparison) -> str:
    if c.difference is None:
        return f"{c.control}: n={c.n_user}/{c.n_control}, no interval"
    return f"{c.control}: {c.difference:+.3f} [{c.low:+.3f}, {c.high:+.3f}]"


def judge(user_gains: Sequence[float], control_gains: dict[str, Sequence[float]]) -> AuditVerdict:
    """The verdict for the user's per-seed gains against each control's per-seed gains."""
    if not control_gains:
        raise ValueError("no control arms to compare with")
    comps = tuple(compare(name, user_gains, gains) for name, gains in control_gains.items())
    within = [c for c in comps if c.status == "within"]
    if within:
        return AuditVerdict(NOT_DISTINGUISHABLE, f"{NOT_DISTINGUISHABLE} (user - control: "
                            + "; ".join(_fmt(c) for c in within) + ")", comps, None)
    if all(c.status == "exceeds" for c in comps):
        return AuditVerdict(EXCEEDS, f"{EXCEEDS} (user - control: " + "; ".join(_fmt(c) for c in comps) + ")",
                            comps, None)
    open_ = [c for c in comps if c.status == "unresolved"]
    needs = [c.seeds_needed for c in open_]
    n = None if any(v is None for v in needs) else max(needs)
    est = f"estimated n = {n} seeds per arm" if n is not None else f"estimated n > {MAX_SEEDS} or unknown"
    return AuditVerdict(INCONCLUSIVE, f"{INCONCLUSIVE} ({est}; unresolved: " + "; ".join(_fmt(c) for c in open_)
                        + ")", comps, n)
