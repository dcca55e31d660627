"""Adapter: a :class:`Reward` as a TRL 1.16 ``GRPOTrainer`` reward function.

TRL calls ``f(prompts=..., completions=..., completion_ids=..., trainer_state=..., **columns)`` once per
generation batch on every process, where ``columns`` are the dataset's other columns as per-sample lists (plus
``log_extra``, ``log_metric`` and maybe ``environments``). Conversational completions are lists of message dicts;
the assistant contents are scored. The function's ``__name__`` is the reward's name, so TRL logs
``rewards/<name>/mean``.

How each :class:`Sample` is filled:

* ``answer``: the ``answer_column`` column (required if the reward needs a label);
* ``prompt_index`` and ``group``: the ``prompt_index_column`` column if the dataset has one (recommended: the row
  index), else a stable 63-bit hash of the prompt text (so duplicated prompts in one batch share a group);
* ``sample_index``: how many times the same prompt occurred earlier in the whole generation batch (TRL's
  RepeatSampler puts a prompt's G completions next to each other, split contiguously over processes);
* ``step``: ``trainer_state.global_step // steps_per_generation``, i.e. the rollout phase when
  ``steps_per_generation`` is the number of optimizer steps per generation batch (TRL's
  ``steps_per_generation * num_iterations / gradient_accumulation_steps``).

With several processes, group-level rewards (majority vote) gather the whole generation batch with
``accelerate.utils.gather_object``, score complete groups, and keep this process's contiguous slice; other
rewards gather only prompt keys (for ``sample_index``) and score their own samples.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Sequence

from spurious.rewards.base import Reward, Sample

_NOT_COLUMNS = frozenset({"trainer_state", "log_extra", "log_metric", "environments", "completion_ids"})


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
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, default=str)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def occurrence_indices(keys: Sequence[Any]) -> list[int]:
    """For each position, how many earlier positions have the same key."""
    seen: dict[Any, int] = {}
    out = []
    for k in keys:
        out.append(seen.get(k, 0))
        seen[k] = out[-1] + 1
    return out


def _distributed() -> tuple[int, int]:
    """(number of processes, this process's index), (1, 0) without an initialised accelerate state."""
    try:
        from accelerate import PartialState
    except ImportError:  # pragma: no cover - accelerate is a dependency
        return 1, 0
    state = PartialState()
    return state.num_processes, state.process_index


def _gather(obj: Any) -> list:
    from accelerate.utils import gather_object

    return gather_object(obj)


class TRLRewardFunction:
    """A picklable callable with TRL's reward-function signature; built by :func:`trl_reward_func`."""

    def __init__(self, reward: Reward, *, seed: int = 0, answer_column: str = "answer",
                 prompt_index_column: str = "prompt_index", steps_per_generation: int = 1):
        if steps_per_generation < 1:
            raise ValueError(f"steps_per_generation must be >= 1, got {steps_per_generation}")
        self.reward = reward.with_seed(seed)
        self.seed, self.answer_column = seed, answer_column
        self.prompt_index_column, self.steps_per_generation = prompt_index_column, steps_per_generation
        self.__name__ = reward.name

    def __call__(self, prompts: list, completions: list, completion_ids: list | None = None,
                 trainer_state: Any = None, **kwargs: Any) -> list[float]:
        n = len(completions)
        if len(prompts) != n:
            raise ValueError(f"{len(prompts)} prompts but {n} completions")
        step = (int(trainer_state.global_step) if trainer_state is not None else 0) // self.steps_per_generation
        rows = self._rows(prompts, completions, kwargs)
        keys = [r["key"] for r in rows]
        num_processes, rank = _distributed()
        if num_processes == 1:
            samples = self._samples(rows, occurrence_indices(keys), step)
            values = self.reward(samples)
        elif self.reward.group_level:
            per_process = _gather([rows])
            offset = sum(len(p) for p in per_process[:rank])
            everything = [r for p in per_process for r in p]
            all_values = self.reward(self._samples(everything, occurrence_indices([r["key"] for r in everything]),
                                                   step))
            values = all_values[offset:offset + n]
        else:
            per_process = _gather([keys])
            offset = sum(len(p) for p in per_process[:rank])
            occurrences = occurrence_indices([k for p in per_process for k in p])[offset:offset + n]
            values = self.reward(self._samples(rows, occurrences, step))
        self._log_stats(kwargs.get("log_metric"))
        return values

    def _rows(self, prompts: list, completions: list, columns: dict[str, Any]) -> list[dict[str, Any]]:
        n = len(completions)
        per_sample = {k: v for k, v in columns.items()
                      if k not in _NOT_COLUMNS and isinstance(v, (list, tuple)) and len(v) == n}
        if self.reward.needs_label and self.answer_column not in per_sample:
            raise ValueError(f"reward {self.reward.name!r} needs labels, but the dataset has no "
                             f"{self.answer_column!r} column (columns: {sorted(per_sample)})")
        indices = per_sample.get(self.prompt_index_column)
        rows = []
        for i in range(n):
            answer = per_sample[self.answer_column][i] if self.answer_column in per_sample else None
            key = int(indices[i]) if indices is not None else prompt_key(prompts[i])
            meta = {k: v[i] for k, v in per_sample.items() if k not in (self.answer_column,)}
            rows.append({"prompt": message_text(prompts[i]), "response": message_text(completions[i], "assistant"),
                         "answer": None if answer is None else str(answer), "key": key, "meta": meta})
        return rows

    @staticmethod
    def _samples(rows: list[dict[str, Any]], occurrences: list[int], step: int) -> list[Sample]:
        return [Sample(prompt=r["prompt"], response=r["response"], answer=r["answer"], group=r["key"], step=step,
                       prompt_index=r["key"], sample_index=j, meta=r["meta"]) for r, j in zip(rows, occurrences)]

    def _log_stats(self, log_metric: Callable | None) -> None:
        stats = getattr(self.reward, "last_stats", None)
        if log_metric is not None and stats:
            for k, v in stats.items():
                log_metric(f"rewards/{self.__name__}/{k}", v)


def trl_reward_func(reward: Reward | str, *, seed: int = 0, answer_column: str = "answer",
                    prompt_index_column: str = "prompt_index", steps_per_generation: int = 1) -> TRLRewardFunction:
    """Wrap a reward (or a spec for :func:`spurious.rewards.get_reward`) for ``GRPOTrainer(reward_funcs=...)``."""
    if isinstance(reward, str):
        from spurious.rewards.registry import get_reward

        reward = get_reward(reward)
    return TRLRewardFunction(reward, seed=seed, answer_column=answer_column,
                             prompt_index_column=prompt_index_column, steps_per_generation=steps_per_generation)
