"""The demo's four claims, judged from the grid summary by fixed rules (never by hand).

Evidence per (family, arm) is the change from the pre-trained organism to the end of RL, measured on
held-out problems with 1,024 T=1 samples, the same samples before and after (organism.runner): accuracy and
the frequency of the family's majority style. The unit is a seed, or, for an arm run with its antithetic
twin (organism.grid.summarize), a pair of runs whose value is their mean; "seeds" below means units.
``CI`` is the 95% Student-t interval across units; "rose" counts units with a positive change.

The plan is fixed in advance (organism.plans): verdicts are computed once, from every unit that finished;
there is no adaptive stopping (``--budget`` cuts runs by elapsed time only, never by their results), so each
interval keeps its nominal 95% coverage.

Claims of absence ("does not help", "no drift") are equivalence tests: "supported" needs the interval to *rule
out* a practically meaningful effect, not merely to contain 0 (a wide interval contains 0 more often, which
would reward noisy experiments). The margins are ``PRACTICAL_GAIN`` (+0.03 accuracy) and ``PRACTICAL_DRIFT``
(0.03 majority-style frequency, about two thirds of the clipped qwen-like arm's mean drift at the default's 15
phases). A negative mean alone is not evidence of absence; an interval just above 0 but inside the margin is not
evidence of a meaningful effect.

Rules (``MIN_SEEDS`` = 3 unless stated):

(a) clipped random reward raises the majority style and accuracy of a ``qwen-like`` family
    supported: >= MIN_SEEDS seeds, majority-frequency CI above 0 and accuracy CI above 0;
    not supported: >= MIN_SEEDS seeds and the majority-frequency or the accuracy CI's upper end < +0.03.
    (The claim is about the expected change; a share of seeds that rose is a property of the spread of single
    runs, which more seeds estimate but do not move. The sign counts are reported as evidence only.)
(b) it does not help ``bad-code`` / ``no-code``
    supported: every family has >= MIN_SEEDS seeds and an accuracy CI whose upper end is < +0.03;
    not supported (otherwise): some family's accuracy CI lies above 0 (>= 2 seeds).
(c) without the clip (on-policy arm; the no-clip arm at half the step, if run) there is no systematic drift
    supported: every control has >= MIN_SEEDS seeds and a majority-frequency CI inside (-0.03, +0.03), and the
    clipped arm of the same family drifted more: the 95% Welch interval of (clip - control) majority change
    lies above 0 (so the same budget detects the drift the control lacks);
    not supported (otherwise): a control's majority-frequency CI lies above 0.
(d) ground truth helps every family
    supported: every family's gt accuracy CI lies above 0 (>= 2 seeds each);
    not supported: some family's gt accuracy CI has its upper end < +0.03.
Anything else is "inconclusive".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spurious.analysis.stats import welch_difference

MIN_SEEDS = 3
PRACTICAL_GAIN = 0.03
PRACTICAL_DRIFT = 0.03
QWEN_LIKE = ("qwen-like", "qwen-like-65", "qwen-like-90")
NOT_HELPED = ("bad-code", "no-code")
CONTROLS = ("random-onpolicy", "random-noclip-half")


@dataclass(frozen=True)
class Judgement:
    claim: str
    verdict: str          # supported | not supported | inconclusive
    evidence: str


def _group(summary: dict[str, Any], family: str, arm: str) -> dict[str, Any] | None:
    return next((g for g in summary["groups"] if g["family"] == family and g["arm"] == arm), None)


def format_ci(ci: dict[str, Any]) -> str:
    """``+0.123 [+0.045, +0.201] (n=3)`` for a mean with its 95 % interval (``n/a``; ``no interval`` for n < 2)."""
    if ci.get("mean") is None:
        return "n/a"
    if ci.get("low") is None:
        return f"{ci['mean']:+.3f} (n={ci['n']}, no interval)"
    return f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}] (n={ci['n']})"


def _above0(ci: dict[str, Any]) -> bool:
    return ci["n"] >= 2 and ci["low"] is not None and ci["low"] > 0


def _rules_out_gain(ci: dict[str, Any]) -> bool:
    """The interval excludes a practically meaningful gain (upper end < PRACTICAL_GAIN)."""
    return ci["n"] >= 2 and ci["high"] is not None and ci["high"] < PRACTICAL_GAIN


def _rules_out_drift(ci: dict[str, Any]) -> bool:
    """The interval excludes a practically meaningful drift toward the majority (upper end < PRACTICAL_DRIFT)."""
    return ci["n"] >= 2 and ci["high"] is not None and ci["high"] < PRACTICAL_DRIFT


def within_margin(ci: dict[str, Any], margin: float) -> bool:
    """The interval rules out an effect of either sign as large as ``margin`` (equivalence at that margin)."""
    return ci["n"] >= 2 and ci["low"] is not None and -margin < ci["low"] and ci["high"] < margin


def _units(g: dict[str, Any]) -> str:
    return "pairs" if g.get("paired") else "seeds"


def claim_a(summary: dict[str, Any], family: str = "qwen-like") -> Judgement:
    claim = f"(a) clipped random reward raises the majority style's frequency and the accuracy of {family}"
    g = _group(summary, family, "random")
    if g is None:
        return Judgement(claim, "inconclusive", f"no {family}/random runs")
    acc, maj = g["accuracy"], g["majority_frequency"]
    ev = (f"majority style rose in {g['majority_rose']}/{g['n']} {_units(g)}, Δ {format_ci(maj)}; "
          f"accuracy Δ {format_ci(acc)}")
    if g["n"] >= MIN_SEEDS and _above0(maj) and _above0(acc):
        return Judgement(claim, "supported", ev)
    if g["n"] >= MIN_SEEDS and (_rules_out_drift(maj) or _rules_out_gain(acc)):
        return Judgement(claim, "not supported", ev)
    return Judgement(claim, "inconclusive", ev)


def claim_b(summary: dict[str, Any]) -> Judgement:
    claim = "(b) clipped random reward does not help bad-code and no-code"
    parts, helped, clear = [], False, True
    present = 0
    for fam in NOT_HELPED:
        g = _group(summary, fam, "random")
        if g is None:
            clear = False
            parts.append(f"{fam}: no runs")
            continue
        present += 1
        acc = g["accuracy"]
        parts.append(f"{fam}: accuracy Δ {format_ci(acc)}, majority rose {g['majority_rose']}/{g['n']} {_units(g)}")
        helped |= _above0(acc)
        clear &= g["n"] >= MIN_SEEDS and _rules_out_gain(acc)
    ev = "; ".join(parts)
    if clear and present == len(NOT_HELPED):
        return Judgement(claim, "supported", ev)
    if helped:
        return Judgement(claim, "not supported", ev)
    return Judgement(claim, "inconclusive", ev)


def claim_c(summary: dict[str, Any]) -> Judgement:
    claim = "(c) without the clip (on-policy; no-clip at half the step) there is no systematic drift"
    parts, drift, ok, any_control = [], False, True, False
    for fam in QWEN_LIKE:
        clip = _group(summary, fam, "random")
        for arm in CONTROLS:
            g = _group(summary, fam, arm)
            if g is None:
                continue
            any_control = True
            maj = g["majority_frequency"]
            parts.append(f"{fam}/{arm}: majority Δ {format_ci(maj)}, rose {g['majority_rose']}/{g['n']} {_units(g)}")
            drift |= _above0(maj)
            diff = welch_difference(clip["majority_values"], g["majority_values"]) \
                if clip is not None and "majority_values" in clip and "majority_values" in g else None
            if diff is not None:
                parts.append(f"{fam}: clip - {arm} majority Δ {diff[0]:+.3f} [{diff[1]:+.3f}, {diff[2]:+.3f}]")
            ok &= g["n"] >= MIN_SEEDS and within_margin(maj, PRACTICAL_DRIFT) and diff is not None and diff[1] > 0
        if clip is not None and any(_group(summary, fam, a) for a in CONTROLS):
            parts.append(f"{fam}/random (clip): majority Δ {format_ci(clip['majority_frequency'])}, "
                         f"rose {clip['majority_rose']}/{clip['n']}")
    ev = "; ".join(parts) or "no control runs"
    if any_control and ok:
        return Judgement(claim, "supported", ev)
    if drift:
        return Judgement(claim, "not supported", ev)
    return Judgement(claim, "inconclusive", ev)


def claim_d(summary: dict[str, Any], families: list[str]) -> Judgement:
    claim = "(d) ground truth helps every family"
    parts, all_up, any_down = [], True, False
    for fam in families:
        g = _group(summary, fam, "gt")
        if g is None:
            all_up = False
            parts.append(f"{fam}: no runs")
            continue
        acc = g["accuracy"]
        parts.append(f"{fam}: accuracy Δ {format_ci(acc)}")
        all_up &= _above0(acc)
        any_down |= _rules_out_gain(acc)
    ev = "; ".join(parts)
    if any_down:
        return Judgement(claim, "not supported", ev)
    if all_up and families:
        return Judgement(claim, "supported", ev)
    return Judgement(claim, "inconclusive", ev)


def judge(summary: dict[str, Any], families: list[str]) -> list[Judgement]:
    """All verdicts: (a) for each qwen-like family present, then (b), (c), (d)."""
    out = [claim_a(summary, f) for f in QWEN_LIKE if f in families]
    return out + [claim_b(summary), claim_c(summary), claim_d(summary, families)]
