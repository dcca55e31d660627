"""Evaluation with the paper's protocol (arXiv 2506.10947; docs/paper.md §5): metrics, sampling backends, the resumable runner.

- :mod:`spurious.eval.metrics` -- avg@k, pass@k (raw any-of-k and the unbiased estimator), maj@k.
- :mod:`spurious.eval.backends` -- ``TransformersBackend`` (batched, length-sorted, left-padded), ``VLLMBackend``,
  ``ScriptedBackend``; ``SamplingSettings``, ``Generation``.
- :mod:`spurious.eval.runner` -- :func:`evaluate` (samples.jsonl + summary.json, resumable), the protocol table.
- :mod:`spurious.eval.checkpoints` -- :func:`evaluate_run`: every checkpoint of a run, curves, smoothed finals.

See ``docs/evaluation.md``.
"""

from spurious.eval.backends import Generation, SamplingSettings, ScriptedBackend, TransformersBackend, VLLMBackend
from spurious.eval.metrics import avg_at_k, maj_at_k, pass_at_k_estimator, pass_at_k_raw, pass_at_k_unbiased
from spurious.eval.runner import DEFAULT_BENCHMARKS, PAPER_PROTOCOL, Protocol, evaluate, protocol_for

__all__ = ["Generation", "SamplingSettings", "ScriptedBackend", "TransformersBackend", "VLLMBackend", "avg_at_k",
           "maj_at_k", "pass_at_k_estimator", "pass_at_k_raw", "pass_at_k_unbiased", "DEFAULT_BENCHMARKS",
           "PAPER_PROTOCOL", "Protocol", "evaluate", "protocol_for"]
