"""Adapter: a :class:`Reward` as a TRL 1.16 ``GRPOTrainer`` reward function.

TRL calls ``f(prompts=..., completions=..., completion_ids=..., trainer_state=..., **columns)`` once per
generation batch on every process, where ``columns`` are the dataset's other columns as per-sample lists (plus
``log_extra``, ``log_metric`` and maybe ``environments``). Conversational completions are lists of message dicts;
the assistant contents are scored. The function's ``__name__`` is the reward's name, so TRL logs
``rewards/<name>/mean``.

How each :class:`Sample` is filled:

* ``answer``: the ``answer_column`` column (required if the reward needs a label);
* ``prompt_index``, ``sample_index`` and ``group``: :func:`spurious.rollout.rollout_keys` over the whole
  generation batch, keyed by the ``prompt_index_column`` column if the dataset has one (recommended: the row
  index), else by the prompt text (so duplicated prompts in one batch share a group); ``sample_index`` counts
  the earlier occurrences of the same prompt (TRL's RepeatSampler puts a prompt's G completions next to each
  other, split contiguously over processes); ``group`` is the prompt index;
* ``step``: ``trainer_state.global_step // steps_per_generation``, i.e. the rollout phase when
  ``steps_per_generation`` is the number of optimizer steps per generation batch (TRL's
  ``steps_per_generation * num_iterations / gradient_accumulation_steps``).

Each call first builds one :class:`spurious.rollout.Rollout` per completion. A ``measure`` callable, when given
(the trainer passes :func:`spurious.measure.measure_rollouts`), grades and flags them before the reward runs, and
the grades reach the reward through ``Sample.grades`` so a ground-truth reward does not grade twice. After the
call, ``last_rollouts`` holds this process's rollouts of the batch with their ``reward``: the one piece of state,
which the trainer reads to write its rollout records.

With several processes, group-level rewards (majority vote) gather the whole generation batch with
``accelerate.utils.gather_object``, score complete groups, and keep this process's contiguous slice; other
rewards gather only prompt keys (for ``sample_index``) and score their own samples.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from spurious.measure import grade_of
from spurious.rewards.base import Reward, Sample
from spurious.rewards.registry import get_reward
from spurious.rollout import Rollout, prompt_index_of, rollout_keys

_NOT_COLUMNS = frozenset({"trainer_state", "log_extra", "log_metric", "environments", "completion_ids"})
Measure = Callable[[list[Rollout]], "tuple[str, str | None] | None"]


def message_text(x: Any, role: str | None = None) -> str:
    """Plain text of a string, a message dict, or a list of message dicts (only ``role`` messages if given)."""
    if isinstance(x, str):
        return x
    if isinstance(x, dict):
        content = x.get("content", "")
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return "" if content is None else str(content)
    if isinstance(x, (list, tuple)):
        msgs = [m for m in x if not (role and isinstance(m, dict) and m.get("role", role) != role)]
        return ("\n" if role is None else "").join(message_text(m) for m in msgs)
    return str(x)


def prompt_key(prompt: Any) -> int:
    """A stable non-negative 63-bit key for a prompt (text or messages), equal across processes and runs."""
    return prompt_index_of(prompt if isinstance(prompt, str) else list(prompt))


def _distributed() -> tuple[int, int]:
    """(number of processes, this process's index), (1, 0) without an initialised accelerate state."""
    from accelerate import PartialState

    state = PartialState()
    return state.num_processes, state.process_index


def _gather(obj: Any) -> list:
    from accelerate.utils import gather_object

    return gather_object(obj)


class TRLRewardFunction:
    """A picklable callable with TRL's reward-function signature; built by :func:`trl_reward_func`."""

    def __init__(self, reward: Reward, *, seed: int | None = 0, answer_column: str = "answer",
                 prompt_index_column: str = "prompt_index", steps_per_generation: int = 1,
                 measure: Measure | None = None):
        if steps_per_generation < 1:
            raise ValueError(f"steps_per_generation must be >= 1, got {steps_per_generation}")
        self.reward = reward if seed is None else reward.with_seed(seed)  # None: keep the reward's own seed
        self.seed, self.answer_column = seed, answer_column
        self.prompt_index_column, self.steps_per_generation = prompt_index_column, steps_per_generation
        self.measure = measure
        self.last_rollouts: list[Rollout] = []
        self.last_seconds = 0.0  # time the last call took (keys, measure, reward)
        self.__name__ = reward.name

    def __call__(self, prompts: list, completions: list, completion_ids: list | None = None,
                 trainer_state: Any = None, **kwargs: Any) -> list[float]:
        start = time.perf_counter()
        n = len(completions)
        if len(prompts) != n:
            raise ValueError(f"{len(prompts)} prompts but {n} completions")
        phase = (int(trainer_state.global_step) if trainer_state is not None else 0) // self.steps_per_generation
        rollouts, metas, keys = self._rollouts(prompts, completions, kwargs, phase)
        num_processes, rank = _distributed()
        offset = 0
        if num_processes > 1:  # sample indices count over the whole batch, not per process
            per_process = _gather([keys])
            offset = sum(len(p) for p in per_process[:rank])
            keys = [k for p in per_process for k in p]
        for r, (p, j) in zip(rollouts, rollout_keys(keys)[offset:offset + n]):
            r.prompt_index, r.sample_index = p, j
        spec = self.measure(rollouts) if self.measure is not None else None
        if num_processes > 1 and self.reward.group_level:  # score whole groups; keep this process's slice
            everyone = [rm for p in _gather([list(zip(rollouts, metas))]) for rm in p]
            values = self.reward(_samples([r for r, _ in everyone], [m for _, m in everyone], spec))[offset:offset + n]
        else:
            values = self.reward(_samples(rollouts, metas, spec))
        for r, v in zip(rollouts, values):
            r.reward = v
        self.last_rollouts = rollouts
        self.last_seconds = time.perf_counter() - start
        self._log_stats(kwargs.get("log_metric"))
        return values

    def _rollouts(self, prompts: list, completions: list, columns: dict[str, Any], phase: int
                  ) -> tuple[list[Rollout], list[dict[str, Any]], list[Any]]:
        """This process's rollouts (identity filled later), each one's dataset columns (``Sample.meta``) and its
        prompt key. A ``prompt_text`` column, when the dataset has one, is the prompt as the model read it."""
        n = len(completions)
        per_sample = {k: v for k, v in columns.items()
                      if k not in _NOT_COLUMNS and isinstance(v, (list, tuple)) and len(v) == n}
        if self.reward.needs_label and self.answer_column not in per_sample:
            raise ValueError(f"reward {self.reward.name!r} needs labels, but the dataset has no "
                             f"{self.answer_column!r} column (columns: {sorted(per_sample)})")
        indices = per_sample.get(self.prompt_index_column)
        rollouts, metas, keys = [], [], []
        for i in range(n):
            answer = per_sample[self.answer_column][i] if self.answer_column in per_sample else None
            meta = {k: v[i] for k, v in per_sample.items() if k not in (self.answer_column, "prompt_text")}
            problem_id = meta.get("problem_id")
            text = per_sample["prompt_text"][i] if "prompt_text" in per_sample else message_text(prompts[i])
            rollouts.append(Rollout(prompt=text, response=message_text(completions[i], "assistant"),
                                    answer=None if answer is None else str(answer),
                                    problem_id=None if problem_id is None else str(problem_id), benchmark="train",
                                    phase=phase))
            metas.append(meta)
            keys.append(int(indices[i]) if indices is not None else prompt_key(prompts[i]))
        return rollouts, metas, keys

    def _log_stats(self, log_metric: Callable | None) -> None:
        stats = getattr(self.reward, "last_stats", None)
        if log_metric is not None and stats:
            for k, v in stats.items():
                log_metric(f"rewards/{self.__name__}/{k}", v)


def _samples(rollouts: Sequence[Rollout], metas: Sequence[dict[str, Any]], spec: tuple[str, str | None] | None
             ) -> list[Sample]:
    """The reward's view of each rollout; its grading (made with ``spec``) travels in ``Sample.grades``."""
    out = []
    for r, meta in zip(rollouts, metas):
        grade = grade_of(r) if spec is not None else None
        out.append(Sample(prompt=r.prompt, response=r.response, answer=r.answer, group=r.prompt_index,
                          step=r.phase or 0, prompt_index=r.prompt_index, sample_index=r.sample_index,
                          meta=meta, grades={spec: grade} if grade is not None else {}))
    return out


def trl_reward_func(reward: Reward | str, *, seed: int | None = 0, answer_column: str = "answer",
                    prompt_index_column: str = "prompt_index", steps_per_generation: int = 1,
                    measure: Measure | None = None) -> TRLRewardFunction:
    """Wrap a reward (or a spec for :func:`spurious.rewards.get_reward`) for ``GRPOTrainer(reward_funcs=...)``."""
    if isinstance(reward, str):
        reward = get_reward(reward)
    return TRLRewardFunction(reward, seed=seed, answer_column=answer_column,
                             prompt_index_column=prompt_index_column, steps_per_generation=steps_per_generation,
                             measure=measure)
