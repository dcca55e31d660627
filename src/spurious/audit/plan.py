"""What an audit runs: the user's arm and the control arms, under one recipe, seeds and evaluation.

Arms are :class:`spurious.organism.runner.Arm` objects run by :func:`spurious.organism.runner.run_cell`, so the
user's reward and every control go through the same engine (:func:`spurious.rl.train`) with the same
:class:`~spurious.organism.runner.RunSettings`, seeds and phase budget. A control is one of :data:`CONTROLS`
(the random reward and its no-clip / on-policy variants are the organism grid's arms) or any other reward spec
(a registry name, expression or import path), which becomes a user-named control.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from spurious.audit.evaluation import EvalSpec
from spurious.organism.runner import ARMS, Arm, Cell, RunSettings
from spurious.organism.corpus import get_family
from spurious.rewards import get_reward
from spurious.assignments import parse_value

USER_ARM = "user"
CONTROLS: dict[str, str] = {          # audit control name -> organism arm
    "random": "random",
    "format": "format",
    "incorrect": "incorrect",
    "no-clip": "random-noclip",
    "on-policy": "random-onpolicy",
}
DEFAULT_CONTROLS = ("random", "format")


def control_arm(name: str) -> Arm:
    """The arm of a control: a named control of :data:`CONTROLS`, else a reward spec (checked here)."""
    if name in CONTROLS:
        return replace(ARMS[CONTROLS[name]], name=name)

    get_reward(name)  # ValueError/UsageError on an unknown reward
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "reward"
    return Arm(f"reward-{slug}", name, description=f"user-named control: reward {name!r}")


@dataclass(frozen=True)
class AuditSpec:
    """An audit of one organism family: ``reward`` (+ ``reward_params``) against ``controls``."""

    family: str
    reward: str
    reward_params: dict = field(default_factory=dict)
    controls: tuple[str, ...] = DEFAULT_CONTROLS
    seeds: tuple[int, ...] = (0, 1, 2)
    settings: RunSettings = RunSettings(phases=40)
    evaluation: EvalSpec = EvalSpec()
    pretrain: dict = field(default_factory=dict)       # PretrainConfig overrides

    def __post_init__(self) -> None:
        get_family(self.family)
        get_reward(self.reward, **self.reward_params)
        if not self.controls:
            raise ValueError("an audit needs at least one control")
        if len(set(self.controls)) != len(self.controls):
            raise ValueError("a control is listed twice")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct and at least one")
        names = [a.name for a in self.arms().values()]
        if len(set(names)) != len(names):
            raise ValueError(f"two arms share a name: {names}")

    def arms(self) -> dict[str, Arm]:
        """User arm first, then the controls in the order given."""
        user = Arm(USER_ARM, self.reward, dict(self.reward_params), description=f"the user's reward {self.reward!r}")
        out = {USER_ARM: user}
        for c in self.controls:
            arm = control_arm(c)
            out[arm.name] = arm
        return out

    def cells(self) -> list[tuple[Cell, Arm]]:
        """Every (cell, arm), seed first so that an interrupted audit covers all arms evenly."""
        return [(Cell(self.family, arm.name, s), arm) for s in self.seeds for arm in self.arms().values()]

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "reward": self.reward, "reward_params": dict(self.reward_params),
                "controls": list(self.controls), "seeds": list(self.seeds), "settings": asdict(self.settings),
                "evaluation": asdict(self.evaluation), "pretrain": dict(self.pretrain),
                "arms": {k: asdict(a) for k, a in self.arms().items()}}


def settings_with(base: RunSettings, assignments: list[str]) -> RunSettings:
    """``key=value`` overrides of the recipe's fields (values read by :func:`spurious.assignments.parse_value`)."""

    names = {f.name: f.type for f in fields(RunSettings)}
    values: dict[str, Any] = {}
    for a in assignments:
        key, sep, raw = a.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"expected key=value, got {a!r}")
        if key not in names:
            raise ValueError(f"unknown recipe key {key!r}; choose from {sorted(names)}")
        value = parse_value(raw)
        current = getattr(base, key)
        if isinstance(current, bool) or not isinstance(value, type(current)):
            if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            else:
                raise ValueError(f"recipe key {key!r}: expected {type(current).__name__}, got {raw!r}")
        values[key] = value
    return replace(base, **values)
