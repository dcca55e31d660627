"""What an audit runs: the user's arm and the control arms, under one recipe, seeds and evaluation.

Arms are :class:`spurious.organism.runner.Arm` objects, so the user's reward and every control go through the
same engine (:func:`spurious.rl.train`) with the same recipe, seeds and phase budget. A control is one of
:data:`CONTROLS` (the random reward and its no-clip / on-policy variants are the organism grid's arms) or any
other reward spec (a registry name, expression or import path), which becomes a user-named control.

Two targets: an organism family (:class:`AuditSpec`: the organism recipe, :class:`~spurious.organism.runner.
RunSettings`, run by :func:`spurious.organism.runner.run_cell`) and a real model (:class:`ModelAuditSpec`: a
:class:`~spurious.rl.TrainConfig` recipe from a preset and overrides, each cell one ``spurious.rl.train`` run).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from spurious.assignments import parse_value
from spurious.audit.evaluation import EvalSpec, ModelEvalSpec
from spurious.organism.corpus import get_family
from spurious.organism.runner import ARMS, Arm, Cell, RunSettings, with_arm_overrides
from spurious.rewards import get_reward
from spurious.rl import TrainConfig

USER_ARM = "user"
CONTROLS: dict[str, str] = {          # audit control name -> organism arm
    "random": "random",
    "format": "format",
    "incorrect": "incorrect",
    "no-clip": "random-noclip",
    "on-policy": "random-onpolicy",
}
DEFAULT_CONTROLS = ("random", "format")
# TrainConfig fields that each cell of a model audit sets itself (the rest is the recipe)
CELL_FIELDS = ("name", "output_dir", "reward", "reward_params", "seed", "progress")


def control_arm(name: str) -> Arm:
    """The arm of a control: a named control of :data:`CONTROLS`, else a reward spec (checked here)."""
    if name in CONTROLS:
        return replace(ARMS[CONTROLS[name]], name=name)

    get_reward(name)  # ValueError/UsageError on an unknown reward
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "reward"
    return Arm(f"reward-{slug}", name, description=f"user-named control: reward {name!r}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "model"


def _arms(reward: str, reward_params: dict, controls: tuple[str, ...]) -> dict[str, Arm]:
    """User arm first, then the controls in the order given."""
    out = {USER_ARM: Arm(USER_ARM, reward, dict(reward_params), description=f"the user's reward {reward!r}")}
    for c in controls:
        arm = control_arm(c)
        out[arm.name] = arm
    return out


def _check_common(spec) -> None:
    get_reward(spec.reward, **spec.reward_params)
    if not spec.controls:
        raise ValueError("an audit needs at least one control")
    if len(set(spec.controls)) != len(spec.controls):
        raise ValueError("a control is listed twice")
    if not spec.seeds or len(set(spec.seeds)) != len(spec.seeds):
        raise ValueError("seeds must be distinct and at least one")
    names = [a.name for a in spec.arms().values()]
    if len(set(names)) != len(names):
        raise ValueError(f"two arms share a name: {names}")


@dataclass(frozen=True)
class AuditSpec:
    """An audit of one organism family: ``reward`` (+ ``reward_params``) against ``controls``; ``baselines``:
    also evaluate the base organism under every template it can read (:mod:`spurious.eval.baselines`)."""

    family: str
    reward: str
    reward_params: dict = field(default_factory=dict)
    controls: tuple[str, ...] = DEFAULT_CONTROLS
    seeds: tuple[int, ...] = (0, 1, 2)
    settings: RunSettings = RunSettings(phases=40)
    evaluation: EvalSpec = EvalSpec()
    pretrain: dict = field(default_factory=dict)       # PretrainConfig overrides
    baselines: bool = False

    kind = "organism"
    template = "none"       # the organism recipe's prompt: the raw problem text

    def __post_init__(self) -> None:
        get_family(self.family)
        _check_common(self)

    @property
    def target(self) -> str:
        return self.family

    def arms(self) -> dict[str, Arm]:
        """User arm first, then the controls in the order given."""
        return _arms(self.reward, self.reward_params, self.controls)

    def cells(self) -> list[tuple[Cell, Arm]]:
        """Every (cell, arm), seed first so that an interrupted audit covers all arms evenly."""
        return [(Cell(self.family, arm.name, s), arm) for s in self.seeds for arm in self.arms().values()]

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "reward": self.reward, "reward_params": dict(self.reward_params),
                "controls": list(self.controls), "seeds": list(self.seeds), "settings": asdict(self.settings),
                "evaluation": asdict(self.evaluation), "pretrain": dict(self.pretrain), "baselines": self.baselines,
                "arms": {k: asdict(a) for k, a in self.arms().items()}}


@dataclass(frozen=True)
class ModelAuditSpec:
    """An audit of a real model: the ``recipe`` (TrainConfig fields from a preset and overrides, without the
    per-cell :data:`CELL_FIELDS`) trained under the user's reward and each control, evaluated by ``evaluation``
    under the recipe's template. ``baselines``: also evaluate the base model under every shipped template."""

    recipe: dict
    reward: str
    reward_params: dict = field(default_factory=dict)
    controls: tuple[str, ...] = DEFAULT_CONTROLS
    seeds: tuple[int, ...] = (0, 1, 2)
    evaluation: ModelEvalSpec = ModelEvalSpec()
    preset: str | None = None
    baselines: bool = False

    kind = "model"

    def __post_init__(self) -> None:
        fixed = sorted(set(self.recipe) & set(CELL_FIELDS))
        if fixed:
            raise ValueError(f"recipe key {fixed[0]!r} is set by the audit for each arm and seed; give the reward "
                             f"with --reward and the seeds with --seeds")
        if "incorrect" in self.controls:
            raise ValueError("the incorrect control needs wrong majority-vote labels of the base model: build them "
                             "with `spurious label --incorrect-only` and train on them with `spurious train --dataset "
                             "<labels.jsonl> --reward incorrect`; the audit trains every arm on the recipe's dataset")
        self.base_config().validate()
        _check_common(self)

    @property
    def target(self) -> str:
        return _slug(self.recipe.get("model", TrainConfig.model).rstrip("/").rsplit("/", 1)[-1])

    @property
    def template(self) -> str:
        return self.recipe.get("template", TrainConfig.template)

    def base_config(self, output_dir: str = "runs") -> TrainConfig:
        """The recipe as a TrainConfig (the user's reward, seed 0)."""
        return TrainConfig.from_dict({**self.recipe, "reward": self.reward, "reward_params": dict(self.reward_params),
                                      "output_dir": output_dir, "progress": False})

    def arms(self) -> dict[str, Arm]:
        return _arms(self.reward, self.reward_params, self.controls)

    def cells(self) -> list[tuple[Cell, Arm]]:
        """Every (cell, arm), seed first; a cell's name is ``<model>__<arm>__s<seed>``."""
        return [(Cell(self.target, arm.name, s), arm) for s in self.seeds for arm in self.arms().values()]

    def cell_config(self, cell: Cell, arm: Arm, runs_dir: str) -> TrainConfig:
        """The TrainConfig of one cell: the recipe, the arm's reward and overrides, the cell's seed and folder."""
        cfg = self.base_config(runs_dir).replace(name=cell.name, reward=arm.reward,
                                                 reward_params=dict(arm.reward_params), seed=cell.seed)
        return with_arm_overrides(cfg, arm)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.recipe.get("model", TrainConfig.model), "preset": self.preset,
                "reward": self.reward, "reward_params": dict(self.reward_params), "controls": list(self.controls),
                "seeds": list(self.seeds), "recipe": dict(self.recipe), "evaluation": asdict(self.evaluation),
                "baselines": self.baselines, "arms": {k: asdict(a) for k, a in self.arms().items()}}


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
