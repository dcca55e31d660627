"""The demo's two grids: the default (about 15 minutes on 2 cores) and ``--full`` (hours of one core).

Budget of the default, on a quiet 2-core machine (organism-notes; ~1.4 s per phase on one thread):
pre-training 3 organisms (~1 min each, in parallel), then 19 runs x 40 phases (~65 s each incl. evaluation)
on 2 single-thread workers: about 12 minutes. ``--full`` runs the recipe's 150 phases, more seeds, the
paper's 0.65 prior and every ablation arm.
"""

from __future__ import annotations

from dataclasses import replace

from spurious.organism.grid import GridSpec
from spurious.organism.runner import RunSettings


def default_plan() -> GridSpec:
    return GridSpec(
        families=("qwen-like", "bad-code", "no-code"),
        arms={"random": (0, 1, 2, 3), "random-onpolicy": (0, 1, 2), "gt": (0, 1)},
        settings=RunSettings(phases=40),
        family_arms={"bad-code": ("random", "gt"), "no-code": ("random", "gt")},
    )


def full_plan() -> GridSpec:
    seeds8 = tuple(range(8))
    return GridSpec(
        families=("qwen-like", "qwen-like-65", "bad-code", "no-code"),
        arms={"random": seeds8, "random-onpolicy": (0, 1, 2, 3), "random-noclip-lr0.1": (0, 1, 2),
              "random-noclip": (0, 1), "gt": (0, 1, 2), "format": (0, 1), "majority_vote": (0, 1),
              "incorrect": (0, 1), "random-eps0.1": (0, 1, 2), "random-eps0.3": (0, 1, 2), "random-K4": (0, 1, 2)},
        settings=RunSettings(phases=150),
        family_arms={
            "qwen-like": ("random", "random-onpolicy", "random-noclip-lr0.1", "random-noclip", "gt", "format",
                          "majority_vote", "incorrect", "random-eps0.1", "random-eps0.3", "random-K4"),
            "qwen-like-65": ("random", "random-onpolicy", "gt"),
            "bad-code": ("random", "gt", "format", "majority_vote", "incorrect"),
            "no-code": ("random", "gt", "format", "majority_vote", "incorrect"),
        },
    )


def with_overrides(spec: GridSpec, *, phases: int | None = None, seeds: int | None = None,
                   families: tuple[str, ...] | None = None, arms: tuple[str, ...] | None = None,
                   pretrain_steps: int | None = None) -> GridSpec:
    """A plan with fewer/more phases, the first ``seeds`` seeds of every arm, a subset of families/arms,
    another pre-training length."""
    new_arms = {a: (tuple(range(seeds)) if seeds else s) for a, s in spec.arms.items() if not arms or a in arms}
    settings = replace(spec.settings, phases=phases) if phases else spec.settings
    fams = tuple(f for f in (families or spec.families))
    pre = {**spec.pretrain, **({"steps": pretrain_steps} if pretrain_steps else {})}
    return replace(spec, families=fams, arms=new_arms, settings=settings, pretrain=pre)
