"""One organism RL run ("cell"): an arm of the experiment, trained through the project's GRPO engine.

An *arm* is a reward plus the schedule/surrogate changes that define it (docs/paper.md §8.5 ablations). A run
loads the cached pre-trained organism, trains it with :func:`spurious.rl.train` (the same code path as a
real model: ``SpuriousGRPOTrainer`` on TRL), evaluates it on the held-out problems before and after
(T=1 samples and greedy, :func:`organism.evaluate.calibration`) and writes ``result.json`` beside the
engine's ``metrics.jsonl``. Before and after use the same evaluation seed (``1000 + seed``, common random
numbers): the sampler draws the same random numbers for both models, so the change measures what RL did
rather than two independent draws of sampling noise, and the arms of one seed are evaluated alike.

The recipe (recipe B of docs/organism.md): 32 prompts x 16 rollouts per phase, mini-batches of 64 (8
optimizer steps per phase: 1 on-policy + 7 off-policy), plain SGD, no momentum, lr 0.14, grad-norm clip
0.15, eps 0.2, no KL, token-mean loss over the mini-batch, group z-score advantages (unbiased std), π_old read
off the sampler (``old_logps: sampler``, float32: no second forward pass over the rollouts). It keeps
the per-step noise (lr/sqrt(batch)) of lr 0.2 with 128-rollout mini-batches, at which the clip acts, at
half the cost per phase (lr 0.5 collapses this organism and at lr <= 0.1 the clip is barely active: the
conditions map of docs/organism.md). The gradient-norm cap of 0.15 sits just above the random arms' typical
gradient norm (~0.1) and stops ground truth's larger, coherent steps (0.3-4) from destroying the arithmetic.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from spurious.errors import UsageError
from spurious.io import write_json
from spurious.organism.corpus import get_family, split_problems
from spurious.organism.evaluate import accuracy_fn, calibration
from spurious.organism.labels import OfflineLabelReward, majority_labels
from spurious.organism.pretrain import load_organism, weights_sha256
from spurious.provenance import provenance
from spurious.rewards import get_reward
from spurious.rl import TrainConfig, train


@dataclass(frozen=True)
class Arm:
    """A reward and the training settings that differ from the recipe."""

    name: str
    reward: str                                  # spurious.rewards spec, or "majority_vote"/"incorrect" (offline labels)
    reward_params: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)  # TrainConfig fields, "optimizer_steps_per_phase",
    #                                                "learning_rate_scale" (x the grid's step size)
    description: str = ""
    twin_of: str = ""                            # antithetic twin of this arm: one pair per seed in summaries


ARMS: dict[str, Arm] = {a.name: a for a in (
    Arm("gt", "ground_truth", description="ground-truth reward"),
    Arm("majority_vote", "majority_vote", description="offline majority-vote labels from the organism's samples"),
    Arm("format", "format", description="1 iff the last \\boxed{} is non-empty (box_only_format)"),
    Arm("random", "random", {"gamma": 0.5}, description="Bernoulli(0.5), clipped surrogate, 8 steps/phase"),
    Arm("incorrect", "incorrect", description="wrong majority-vote labels only (docs/paper.md §2.6)"),
    Arm("random-noclip", "random", {"gamma": 0.5}, {"surrogate": "no-clip"},
        description="ratio * A without the clip, same 8 steps/phase (arm 2)"),
    Arm("random-noclip-half", "random", {"gamma": 0.5}, {"surrogate": "no-clip", "learning_rate_scale": 0.5},
        description="no clip at half the recipe's step (the full step erodes the arithmetic)"),
    Arm("random-onpolicy", "random", {"gamma": 0.5}, {"optimizer_steps_per_phase": 1},
        description="one step on all 512 rollouts per phase: ratio = 1, the clip never acts (arm 3)"),
    Arm("random-anti", "random", {"gamma": 0.5, "antithetic": True},
        description="the random arm's antithetic twin: the same seed, every reward draw mirrored (advantages "
                    "negated); summarised with it as one pair per seed", twin_of="random"),
    Arm("random-onpolicy-anti", "random", {"gamma": 0.5, "antithetic": True}, {"optimizer_steps_per_phase": 1},
        description="the on-policy arm's antithetic twin (summarised with it as one pair per seed)",
        twin_of="random-onpolicy"),
    Arm("random-eps0.1", "random", {"gamma": 0.5}, {"eps_low": 0.1, "eps_high": 0.1}, description="clip range 0.1"),
    Arm("random-eps0.3", "random", {"gamma": 0.5}, {"eps_low": 0.3, "eps_high": 0.3}, description="clip range 0.3"),
    Arm("random-K4", "random", {"gamma": 0.5}, {"optimizer_steps_per_phase": 4},
        description="4 optimizer steps per phase (3 off-policy)"),
    # the mechanism study (spurious.organism.mechanism, docs/mechanism.md)
    Arm("random-eps0.1-0.3", "random", {"gamma": 0.5}, {"eps_low": 0.1, "eps_high": 0.3},
        description="eps_low 0.1 / eps_high 0.3: the low clip acts more, the high clip less"),
    Arm("random-eps0.3-0.1", "random", {"gamma": 0.5}, {"eps_low": 0.3, "eps_high": 0.1},
        description="eps_low 0.3 / eps_high 0.1: the high clip acts more, the low clip less"),
    Arm("random-rloo", "random", {"gamma": 0.5}, {"advantage": "rloo", "learning_rate_scale": 2.0},
        description="leave-one-out advantages (no std scaling; 2x step for the ~2x smaller |A|), clipped"),
    Arm("random-reinforce", "random", {"gamma": 0.5}, {"advantage": "reinforce", "learning_rate_scale": 2.0},
        description="group-mean-baseline advantages (no std scaling; 2x step), clipped"),
    *(Arm(f"gt-flip{p:g}", "flip", {"reward": "ground_truth", "p": p}, {"phases": 20},
          description=f"ground truth flipped w.p. {p:g}, 20 phases") for p in (0.0, 0.2, 0.4, 0.5)),
    Arm("entropy-min", "constant", {}, {"entropy_coef": -0.05},
        description="no reward signal (constant reward, A = 0) and the loss term +0.05 x token entropy"),
    Arm("noise", "noise", {}, description="N(0, 1) reward independent of the response (noise-only control)"),
    Arm("constant-kl", "constant", {}, {"beta": 0.04},
        description="no reward signal (constant reward, A = 0) and the KL penalty (beta 0.04, k3) to the "
                    "pre-trained organism: the KL-only control"),
)}


def get_arm(name: str) -> Arm:
    try:
        return ARMS[name]
    except KeyError:
        raise UsageError(f"unknown arm {name!r}; choose from {sorted(ARMS)}") from None


@dataclass(frozen=True)
class RunSettings:
    """Settings shared by every cell of a grid (the recipe); arms override some of them."""

    phases: int = 100
    prompts_per_phase: int = 32
    group_size: int = 16
    minibatch_size: int = 64
    learning_rate: float = 0.14
    max_grad_norm: float = 0.15
    eps: float = 0.2
    max_completion_tokens: int = 40
    eval_samples: int = 1024
    label_samples: int = 16
    rollout_log_every: int = 10
    loss_aggregation: str = "token-mean"
    advantage: str = "group"


@dataclass(frozen=True)
class Cell:
    family: str
    arm: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.family}__{self.arm}__s{self.seed}"


def train_config(cell: Cell, settings: RunSettings, out_root: Path, arm: Arm | None = None):
    """The :class:`spurious.rl.TrainConfig` of one cell (``arm``: an arm outside :data:`ARMS`, named ``cell.arm``)."""
    arm = arm or get_arm(cell.arm)
    reward = arm.reward if arm.reward not in ("majority_vote", "incorrect") else "ground_truth"
    cfg = TrainConfig(
        name=cell.name, output_dir=str(out_root), model="organism", dataset="organism", template="none",
        max_prompt_tokens=None, reward=reward, reward_params=dict(arm.reward_params),
        prompts_per_phase=settings.prompts_per_phase, group_size=settings.group_size,
        minibatch_size=settings.minibatch_size, phases=settings.phases, learning_rate=settings.learning_rate,
        optimizer="sgd", momentum=0.0, max_grad_norm=settings.max_grad_norm, eps_low=settings.eps, eps_high=settings.eps,
        surrogate="clip", loss_aggregation=settings.loss_aggregation, advantage=settings.advantage,
        max_completion_tokens=settings.max_completion_tokens, temperature=1.0, top_p=1.0, top_k=0,
        seed=cell.seed, save_every_phases=0, save_final=False, rollout_log_every=settings.rollout_log_every,
        report_to=[], progress=False, old_logps="sampler",
    )
    return with_arm_overrides(cfg, arm)


def with_arm_overrides(cfg: TrainConfig, arm: Arm) -> TrainConfig:
    """``cfg`` changed as ``arm.overrides`` says: TrainConfig fields as they are, ``learning_rate_scale`` times
    ``cfg``'s learning rate, ``optimizer_steps_per_phase`` K as a mini-batch of rollouts_per_phase / K."""
    over = dict(arm.overrides)
    scale = over.pop("learning_rate_scale", None)
    if scale is not None:
        over["learning_rate"] = cfg.learning_rate * scale
    k = over.pop("optimizer_steps_per_phase", None)
    if k is not None:
        over["minibatch_size"] = cfg.rollouts_per_phase // k
    return cfg.replace(**over)


def _rows(problems, min_rows: int = 64) -> list[dict[str, Any]]:
    rows = [{"prompt": p.problem, "answer": p.answer, "problem_id": p.id} for p in problems]
    if not rows:
        return rows
    while len(rows) < min_rows:  # small label sets (incorrect) are repeated, as the paper trains many epochs
        rows = rows + rows
    return rows


def run_cell(cell: Cell, organism_path: str | Path, out_root: str | Path, settings: RunSettings = RunSettings(),
             *, arm: Arm | None = None, evaluate_after: Callable[[Any, Any], dict] | None = None) -> dict[str, Any]:
    """Train and evaluate one cell; writes ``<out_root>/<cell>/result.json`` and returns its content.

    ``arm`` replaces the :data:`ARMS` entry named ``cell.arm`` (a user's reward); ``evaluate_after(model,
    tokenizer)`` adds its result under ``"evaluation"`` (the trained model is not kept after the cell)."""
    import torch

    t0, cpu0 = time.time(), time.process_time()
    out_root = Path(out_root)
    run_dir = out_root / cell.name
    if run_dir.exists():  # an unfinished earlier attempt
        shutil.rmtree(run_dir)
    torch.manual_seed(cell.seed)
    org = load_organism(organism_path)
    info = org.info
    split = info["config"]
    train_problems, eval_problems = split_problems(split["split_seed"], split["n_eval"])
    arm = arm or get_arm(cell.arm)
    cfg = train_config(cell, settings, out_root, arm)

    reward = None
    label_stats: dict[str, Any] = {}
    problems = train_problems
    if arm.reward in ("majority_vote", "incorrect"):
        labels = majority_labels(org.model, org.tokenizer, train_problems, samples=settings.label_samples,
                                 seed=cell.seed)
        truth = {p.id: p.answer for p in train_problems}
        wrong = [p for p in train_problems if labels[p.id] != truth[p.id]]
        label_stats = {"label_samples": settings.label_samples, "problems": len(train_problems),
                       "labels_correct": sum(labels[p.id] == truth[p.id] for p in train_problems),
                       "labels_wrong": len(wrong)}
        if arm.reward == "incorrect":
            if not wrong:
                raise RuntimeError(f"{cell.name}: every majority-vote label is correct; no incorrect set")
            problems = wrong
        reward = OfflineLabelReward(get_reward("ground_truth"), labels, name=arm.name)

    eval_seed = 1000 + cell.seed  # the same samples before and after, and in every arm of this seed
    before = calibration(org.model, org.tokenizer, eval_problems, n_samples=settings.eval_samples, seed=eval_seed)
    result = train(cfg, model=org.model, tokenizer=org.tokenizer, dataset=_rows(problems, min_rows=cfg.prompts_per_phase),
                   reward=reward, accuracy_fn=accuracy_fn, overwrite=True)
    after = calibration(result.model, org.tokenizer, eval_problems, n_samples=settings.eval_samples,
                        seed=eval_seed)
    family = get_family(cell.family)
    majority_is_code = family.p_code >= 0.5
    d_code = after["sampled"]["code_frequency"] - before["sampled"]["code_frequency"]
    out = {
        "cell": asdict(cell), "name": cell.name, "arm": asdict(arm), "settings": asdict(settings),
        "train_config": cfg.to_dict(), "organism": {"path": str(org.path), "key": info["key"],
                                                       "weights_sha256": weights_sha256(org.path)},
        "before": before, "after": after,
        "delta": {
            "accuracy": after["sampled"]["accuracy"] - before["sampled"]["accuracy"],
            "greedy_accuracy": after["greedy"]["accuracy"] - before["greedy"]["accuracy"],
            "code_frequency": d_code,
            "majority_frequency": d_code if majority_is_code else -d_code,
            "boxed_rate": after["sampled"]["boxed_rate"] - before["sampled"]["boxed_rate"],
        },
        "labels": label_stats, "phases_run": len(result.phases),
        "final_phase": result.final, "wall_seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(time.process_time() - cpu0, 1),  # this process's CPU: the run's cost on a quiet core
        "provenance": provenance(seed=cell.seed, cell=asdict(cell)),
    }
    if evaluate_after is not None:
        out["evaluation"] = evaluate_after(result.model, org.tokenizer)
    for v in out["delta"].values():
        if isinstance(v, float) and math.isnan(v):
            raise RuntimeError(f"{cell.name}: NaN in the evaluation deltas")
    write_json(run_dir / "result.json", out)
    return out


def load_result(out_root: str | Path, cell: Cell) -> dict[str, Any] | None:
    p = Path(out_root) / cell.name / "result.json"
    return json.loads(p.read_text()) if p.exists() else None
