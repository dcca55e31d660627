"""The old policy's log-probs read off the sampler, instead of a second forward pass after generation.

GRPO's ratio is π_θ(y_t) / π_old(y_t), where π_old is the policy that sampled the rollouts. TRL computes
π_old with a no-grad forward pass over every rollout after generation; but the transformers sampler has
already computed the same distribution, ``softmax(logits / T)``, at every step it drew a token. A forward
hook on the generating model keeps, per step, the log-probs of that distribution and reads off the token
the next step is fed (the token just drawn), so the log-prob of every sampled token costs one
``log_softmax`` per step and O(batch x vocab) memory.

In exact arithmetic the two are equal; in float32 they differ by rounding (the cached incremental
forward sums in another order than the full-sequence one), about 1e-6 in a log-prob. Half precision and
vLLM sample from a visibly different distribution, so ``TrainConfig.old_logps = "sampler"`` is allowed only
for the transformers backend in float32. As in TRL, the log-prob ignores top-k / top-p truncation (the
trainer's π_θ is the temperature-scaled softmax).
"""

from __future__ import annotations

from typing import Any

import torch


class SampledTokenLogps:
    """Forward hook collecting ``log softmax(logits / temperature)`` of each sampled token.

    Use as a context manager around one ``model.generate`` call, then :meth:`per_sequence` with the
    completions it returned (each a prefix of the generated tokens, e.g. cut at EOS).
    """

    def __init__(self, model: torch.nn.Module, temperature: float) -> None:
        self.model = model
        self.temperature = float(temperature)
        self._previous: torch.Tensor | None = None   # (batch, vocab) log-probs of the step not yet read off
        self._steps: list[torch.Tensor] = []          # (batch,) log-prob of the token drawn at each step
        self._handle = None

    def __enter__(self) -> "SampledTokenLogps":
        self._handle = self.model.register_forward_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _hook(self, module, args, kwargs, output) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if self._previous is not None:   # this call is fed the token drawn from the previous step
            self._steps.append(self._previous.gather(1, ids[:, -1:]).squeeze(1))
        logits = output.logits[:, -1, :].float()
        self._previous = torch.log_softmax(logits / self.temperature, dim=-1)

    def per_sequence(self, completions: list[list[int]]) -> list[list[float]]:
        """The log-prob of every token of each completion (row i of the generated batch)."""
        longest = max((len(c) for c in completions), default=0)
        steps = list(self._steps)
        if len(steps) < longest and self._previous is not None:   # the last token drawn is never fed back
            last = torch.tensor([c[len(steps)] if len(c) > len(steps) else 0 for c in completions],
                                device=self._previous.device)
            steps.append(self._previous.gather(1, last[:, None]).squeeze(1))
        if len(steps) < longest:
            raise RuntimeError(f"the sampler ran {len(steps)} steps for a completion of {longest} tokens")
        table = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in completions]
        return [row[:len(c)] for row, c in zip(table, completions)]
