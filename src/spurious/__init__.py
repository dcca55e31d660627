"""spurious: RLVR with verifiable and spurious rewards (arXiv 2506.10947).

Follow one sample: ``data`` (problem) -> ``data.templates`` (prompt) -> ``rl`` / ``eval`` (rollout)
-> ``rewards`` (reward, via ``grading``) -> ``rl.advantages`` / ``rl.loss`` (advantage, loss)
-> ``eval.metrics`` and ``analysis`` (metric).
"""

__version__ = "0.1.0"
