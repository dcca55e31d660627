"""The demo's grids: ``default`` (about 15 minutes on 2 cores), ``full-core`` and ``full``.

Budget of the default, measured on the project's 2-core machine: pre-training 3 organisms takes ~4.7 min
(two at a time, ~140 s each); a 30-phase run ~80 s with evaluation (~2.5 s per phase per worker). 22 runs x
30 phases took 19 min, so the default is 19 runs x 25 phases (ground truth with 2 seeds; its gains are
consistent to ~0.01): about 15 minutes.

``full-core``: the four claims' arms (random, on-policy control, ground truth) at the recipe's 150 phases,
8 seeds of the qwen-like random arm, and the paper's own 0.65 prior: 30 runs (~3.5 h of one core, ~8 min
on 15 cores). ``full`` adds the other rewards (format, majority vote, incorrect) and the conditions map
(no clip at two step sizes, clip range 0.1/0.3, 4 instead of 8 steps per phase).
"""

from __future__ import annotations

from dataclasses import replace

from spurious.organism.grid import GridSpec
from spurious.organism.runner import RunSettings

PLANS = ("default", "full-core", "full")


def default_plan() -> GridSpec:
    return GridSpec(
        families=("qwen-like", "bad-code", "no-code"),
        arms={"random": (0, 1, 2, 3), "random-onpolicy": (0, 1, 2), "gt": (0, 1)},
        settings=RunSettings(phases=25),
        family_arms={"bad-code": {"random": (0, 1, 2), "gt": (0, 1)},
                     "no-code": {"random": (0, 1, 2), "gt": (0, 1)}},
    )


def full_core_plan() -> GridSpec:
    return GridSpec(
        families=("qwen-like", "qwen-like-65", "bad-code", "no-code"),
        arms={"random": tuple(range(8)), "random-onpolicy": (0, 1, 2, 3), "gt": (0, 1)},
        settings=RunSettings(phases=150),
        family_arms={"qwen-like-65": {"random": tuple(range(6))},
                     "bad-code": {"random": (0, 1, 2), "gt": (0, 1)},
                     "no-code": {"random": (0, 1, 2), "gt": (0, 1)}},
    )


def full_plan() -> GridSpec:
    core = full_core_plan()
    s3, s2 = (0, 1, 2), (0, 1)
    others = {"format": s2, "majority_vote": s2, "incorrect": s2}
    return replace(
        core,
        arms={**core.arms, "random-noclip-lr0.1": s3, "random-noclip": s2, **others,
              "random-eps0.1": s2, "random-eps0.3": s2, "random-K4": s2},
        family_arms={"qwen-like-65": {"random": tuple(range(8)), "random-onpolicy": s3, "gt": s2},
                     "bad-code": {"random": tuple(range(5)), "gt": s3, **others},
                     "no-code": {"random": tuple(range(5)), "gt": s3, **others}},
    )


def get_plan(name: str) -> GridSpec:
    plans = {"default": default_plan, "full-core": full_core_plan, "full": full_plan}
    if name not in plans:
        raise ValueError(f"unknown plan {name!r}; choose from {list(plans)}")
    return plans[name]()


def with_overrides(spec: GridSpec, *, phases: int | None = None, seeds: int | None = None,
                   families: tuple[str, ...] | None = None, arms: tuple[str, ...] | None = None,
                   pretrain_steps: int | None = None, lr: float | None = None) -> GridSpec:
    """A plan with other phases, at most ``seeds`` seeds per arm, a subset of families/arms, another
    pre-training length."""
    def keep(mapping: dict) -> dict:
        out = {a: (tuple(s)[:seeds] if seeds else tuple(s)) for a, s in mapping.items() if not arms or a in arms}
        return {a: s for a, s in out.items() if s}

    fams = tuple(families or spec.families)
    settings = replace(spec.settings, phases=phases) if phases else spec.settings
    settings = replace(settings, learning_rate=lr) if lr else settings
    pre = {**spec.pretrain, **({"steps": pretrain_steps} if pretrain_steps else {})}
    return replace(spec, families=fams, arms=keep(spec.arms), settings=settings, pretrain=pre,
                   family_arms={f: keep(m) for f, m in spec.family_arms.items()})
