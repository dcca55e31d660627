"""The demo's grids: ``default`` (about 11 minutes on 2 quiet cores, measured), ``full`` and ``conditions``.

The organisms are shipped with the package (no pre-training). ``default``: 45 runs x 30 phases, the
claims' arms with seeds spent where the verdicts are borderline (docs/organism.md, "Statistical design"):

* qwen-like random (claims a, c): 7 antithetic pairs (a run and its twin with every reward draw mirrored; the
  pair is the unit). The clip's bias is even in the advantages, so both twins drift toward the majority, while
  the first-order random walk cancels in part: at 30 phases the twins' changes correlate at about -0.55 and a
  pair's mean has a quarter of the variance of one run (measured, docs/organism.md), 2.5x the information per
  run of independent seeds;
* the on-policy control (c): 5 antithetic pairs (its twins cancel most of each other's drift; a pair's mean
  spreads by about 0.013 at 30 phases, so 3 pairs, t = 4.30, leave its interval too wide for the +-0.03 margin);
* bad-code random (b): 6 independent seeds; no-code random (b): 8 independent seeds (their twins barely
  anti-correlate, so pairs would only halve the degrees of freedom; no-code's mean change is about 0, so its
  interval's upper end must fall below the +0.03 margin by width alone);
* ground truth (d): 3 seeds for qwen-like (its gain, about +0.19, is the smallest: with 2 seeds, t = 12.7
  needs the two runs within about 0.03 of each other), 2 for bad-code and no-code (gains +0.5 to +0.7).

Before and after RL every run is evaluated on the same samples (common random numbers, organism.runner).
The plan is fixed: no adaptive stopping; ``--budget`` cuts runs by elapsed time only, never by results.

``full``: the same claims and design at 100 phases (5 qwen-like pairs, 5 on-policy pairs, 4 pairs for the
paper's own 0.65 prior, 6 bad-code and 6 no-code seeds, 3 qwen-like gt seeds): 49 runs.
``conditions``: the other rewards (format, majority vote, incorrect) and the conditions map (no clip at the
recipe's and at half its step, clip range 0.1/0.3, 4 instead of 8 steps per phase, the 0.90 prior).
"""

from __future__ import annotations

from dataclasses import replace

from spurious.errors import UsageError
from spurious.organism.grid import GridSpec
from spurious.organism.mechanism import mechanism_plan
from spurious.organism.runner import RunSettings

PLANS = ("default", "full", "conditions", "mechanism")  # mechanism: spurious.organism.mechanism


def default_plan() -> GridSpec:
    pairs7, pairs5 = tuple(range(7)), tuple(range(5))
    return GridSpec(
        families=("qwen-like", "bad-code", "no-code"),
        arms={"random": pairs7, "random-anti": pairs7, "random-onpolicy": pairs5, "random-onpolicy-anti": pairs5,
              "gt": (0, 1, 2)},
        settings=RunSettings(phases=30),
        family_arms={"bad-code": {"random": tuple(range(6)), "gt": (0, 1)},
                     "no-code": {"random": tuple(range(8)), "gt": (0, 1)}},
    )


def full_plan() -> GridSpec:
    pairs5, pairs4 = tuple(range(5)), tuple(range(4))
    return GridSpec(
        families=("qwen-like", "qwen-like-65", "bad-code", "no-code"),
        arms={"random": pairs5, "random-anti": pairs5, "random-onpolicy": pairs5, "random-onpolicy-anti": pairs5,
              "gt": (0, 1, 2)},
        settings=RunSettings(phases=100),
        family_arms={"qwen-like-65": {"random": pairs4, "random-anti": pairs4, "gt": (0, 1)},
                     "bad-code": {"random": tuple(range(6)), "gt": (0, 1)},
                     "no-code": {"random": tuple(range(6)), "gt": (0, 1)}},
    )


def conditions_plan() -> GridSpec:
    s3, s2 = (0, 1, 2), (0, 1)
    others = {"format": s2, "majority_vote": s2, "incorrect": s2}
    return GridSpec(
        families=("qwen-like", "qwen-like-90", "bad-code", "no-code"),
        arms={"random-noclip-half": s3, "random-noclip": s2, **others, "random-eps0.1": s2, "random-eps0.3": s2,
              "random-K4": s2},
        settings=RunSettings(phases=100),
        family_arms={"qwen-like-90": {"random": (0, 1, 2, 3), "random-onpolicy": s2},
                     "bad-code": others, "no-code": others},
    )


def get_plan(name: str) -> GridSpec:
    plans = {"default": default_plan, "full": full_plan, "conditions": conditions_plan, "mechanism": mechanism_plan}
    if name not in plans:
        raise UsageError(f"unknown plan {name!r}; choose from {list(plans)}")
    return plans[name]()


def with_overrides(spec: GridSpec, *, phases: int | None = None, seeds: int | None = None,
                   first_seed: int = 0, families: tuple[str, ...] | None = None,
                   arms: tuple[str, ...] | None = None, pretrain_steps: int | None = None,
                   lr: float | None = None) -> GridSpec:
    """A plan with other phases, at most ``seeds`` seeds per arm, seeds shifted by ``first_seed`` (an arm
    with n seeds runs ``first_seed .. first_seed + n - 1``), a subset of families/arms, another
    pre-training length."""
    if first_seed < 0:
        raise UsageError(f"first seed must be >= 0, got {first_seed}")

    def keep(mapping: dict) -> dict:
        out = {a: tuple(x + first_seed for x in (tuple(s)[:seeds] if seeds else tuple(s)))
               for a, s in mapping.items() if not arms or a in arms}
        return {a: s for a, s in out.items() if s}

    fams = tuple(families or spec.families)
    settings = replace(spec.settings, phases=phases) if phases else spec.settings
    settings = replace(settings, learning_rate=lr) if lr else settings
    pre = {**spec.pretrain, **({"steps": pretrain_steps} if pretrain_steps else {})}
    return replace(spec, families=fams, arms=keep(spec.arms), settings=settings, pretrain=pre,
                   family_arms={f: keep(m) for f, m in spec.family_arms.items()})
