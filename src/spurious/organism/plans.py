"""The demo's grids: ``default`` (about 12 minutes on 2 quiet cores), ``full`` and ``conditions``.

The organisms are shipped with the package (no pre-training). ``default``: 89 runs x 15 phases, the
claims' arms with seeds spent where the verdicts are borderline (docs/organism.md, "Statistical design"):

* qwen-like random (claims a, c): 18 antithetic pairs (a run and its twin with every reward draw mirrored; the
  pair is the unit). The clip's bias is even in the advantages, so both twins drift toward the majority, while
  the first-order random walk cancels in part. At 15 phases a pair's accuracy change spreads by about 0.036
  around +0.039 (18 pairs measured, docs/organism.md): (a)'s accuracy interval is the binding one;
* the on-policy control (c): 6 antithetic pairs (its twins cancel most of each other's drift: a pair's mean
  spreads by about 0.007 at 15 phases);
* bad-code random (b): 12 antithetic pairs (its accuracy spreads by 0.04-0.06 per run; at 15 phases its
  twins' accuracy changes correlate at about -0.26, so a pair's mean has about 0.37 of one run's variance); no-code random (b): 10 independent seeds (its twins do not anti-correlate;
  its mean change is about 0, so its interval's upper end must fall below the +0.03 margin by width alone);
* ground truth (d): 3 seeds for qwen-like (its gain is the smallest), 2 for bad-code and no-code.

Why 15 phases: for the same interval (a) costs about a fifth more at 15 than at 30 phases (its drift is a
smaller multiple of the spread, at half the cost per run), while the controls (b, c) and ground truth need
fewer and cheaper runs when runs are short (their margins are fixed and the spread between seeds grows with
phases): about 690 s against 940 s of wall time in all (docs/organism.md, "Statistical design").

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
    pairs18, pairs6, pairs12 = tuple(range(18)), tuple(range(6)), tuple(range(12))
    return GridSpec(
        families=("qwen-like", "bad-code", "no-code"),
        arms={"random": pairs18, "random-anti": pairs18, "random-onpolicy": pairs6, "random-onpolicy-anti": pairs6,
              "gt": (0, 1, 2)},
        settings=RunSettings(phases=15),
        family_arms={"bad-code": {"random": pairs12, "random-anti": pairs12, "gt": (0, 1)},
                     "no-code": {"random": tuple(range(10)), "gt": (0, 1)}},
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
