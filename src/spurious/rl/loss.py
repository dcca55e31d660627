"""The GRPO policy loss as a pure function of per-token log-probabilities (docs/paper.md §3.1, §3.5, §8.5).

Inputs are (B, T) tensors over completion tokens, ``mask`` 1 on real response tokens, ``advantages`` (B,)
(one value per sequence, copied to its tokens) or (B, T).

Surrogates (per token, rho = exp(logp - old_logp)):

* ``clip`` - PPO: -min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A). The paper's default.
* ``no-clip`` - -rho A on the same schedule (ablation arm 2, "ratio, no clip").
* ``official-no-old-logprob`` - -exp(logp) A: the official code's only no-clip option
  (``use_policy_loss_wo_old_log_probs``); its gradient is the no-clip one times pi_old (§8.5).
* ``cispo`` - -sg(min(rho, cispo_max_ratio)) A log pi_theta: clips the importance weight, never the gradient
  (MiniMax-M1's CISPO as TRL 1.16 ``loss_type="cispo"`` writes it, with its ``epsilon_high`` = our
  ``cispo_max_ratio``, recommended 5.0; no lower bound).
* ``gspo`` - PPO-clip on the sequence-level ratio s = exp(mean over the sequence's tokens of (logp - old_logp)),
  the same s for every token of a sequence (GSPO, arXiv 2507.18071; TRL 1.16 ``importance_sampling_level=
  "sequence"`` with the ``grpo`` loss, which TRL pairs with the ``seq-mean-token-mean`` aggregation).

An entropy term ``- entropy_coef * H`` per token (TRL's sign: L = L_policy - coef * H; a negative coefficient
minimises entropy) is aggregated like the policy term (TRL instead takes its token mean per micro-batch).

Aggregations (how per-token losses become one number):

* ``token-mean`` - mean over all response tokens of the mini-batch (DAPO; TRL's ``dapo``/``bnpo``).
* ``seq-mean-token-mean`` - token mean per sequence, then mean over sequences (original GRPO; TRL ``grpo``).
* ``dr-grpo`` - token sum / (B * max_completion_length) (Dr. GRPO's constant normaliser; TRL ``dr_grpo``).
* ``official`` - token mean within consecutive micro-batches of ``micro_batch_size`` (4) sequences,
  then mean over micro-batches (the packed OpenRLHF loss, §3.5). Sequences should arrive shuffled,
  as TRL does; a last short micro-batch counts as one micro-batch.

KL against a reference policy (off when ``beta == 0``): ``k1`` = logp - ref, ``k3`` = exp(ref - logp) -
(ref - logp) - 1 (TRL's estimator), added per token as ``beta * kl`` before aggregation.

Ours on purpose, not TRL's ``GRPOTrainer.compute_loss``: TRL has neither the ``official`` micro-batch aggregation
nor the ``official-no-old-logprob`` surrogate, and its loss is a trainer method entangled with its batch state.
Here the loss is a pure function, tested on hand-made tensors and against TRL's own loss for the modes both
have (tests/test_rl_loss.py).
"""

from __future__ import annotations

import torch

from spurious.rl.stats import StepStats, token_stats

SURROGATES = ("clip", "no-clip", "official-no-old-logprob", "cispo", "gspo")
AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "dr-grpo", "official")
KL_ESTIMATORS = ("k1", "k3")


def per_token_surrogate(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, *,
                        eps_low: float = 0.2, eps_high: float = 0.2, surrogate: str = "clip",
                        mask: torch.Tensor | None = None, cispo_max_ratio: float = 5.0) -> torch.Tensor:
    """The (B, T) per-token loss before masking and aggregation (``gspo`` needs ``mask``)."""
    adv = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages
    if surrogate == "official-no-old-logprob":
        return -torch.exp(logps) * adv
    if surrogate == "gspo":
        if mask is None:
            raise ValueError("surrogate 'gspo' needs the response mask")
        m = mask.to(logps.dtype)
        seq = ((logps - old_logps) * m).sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp(min=1.0)
        s = torch.exp(seq).expand_as(logps)
        return -torch.min(s * adv, torch.clamp(s, 1 - eps_low, 1 + eps_high) * adv)
    ratio = torch.exp(logps - old_logps)
    if surrogate == "cispo":
        return -torch.clamp(ratio, max=cispo_max_ratio).detach() * adv * logps
    if surrogate == "no-clip":
        return -ratio * adv
    if surrogate == "clip":
        clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
        return -torch.min(ratio * adv, clipped * adv)
    raise ValueError(f"unknown surrogate {surrogate!r}: choose from {SURROGATES}")


def kl_penalty(logps: torch.Tensor, ref_logps: torch.Tensor, estimator: str = "k3") -> torch.Tensor:
    """Per-token KL(pi_theta || pi_ref) estimate."""
    if estimator == "k1":
        return logps - ref_logps
    if estimator == "k3":
        d = ref_logps - logps
        return torch.exp(d) - d - 1
    raise ValueError(f"unknown KL estimator {estimator!r}: choose from {KL_ESTIMATORS}")


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, aggregation: str, *,
              max_completion_length: int | None = None, micro_batch_size: int = 4,
              token_normalizer: torch.Tensor | float | None = None) -> torch.Tensor:
    """Reduce (B, T) per-token losses to a scalar.

    ``token_normalizer`` overrides the token count for ``token-mean`` (the trainer passes the token count
    of the whole optimizer step when it is split over accumulation steps and ranks).
    """
    m = mask.to(per_token.dtype)
    masked = per_token * m
    if aggregation == "token-mean":
        norm = m.sum() if token_normalizer is None else token_normalizer
        return masked.sum() / torch.as_tensor(norm, dtype=per_token.dtype).clamp(min=1.0)
    if aggregation == "seq-mean-token-mean":
        return (masked.sum(1) / m.sum(1).clamp(min=1.0)).mean()
    if aggregation == "dr-grpo":
        if not max_completion_length:
            raise ValueError("aggregation 'dr-grpo' needs max_completion_length")
        return masked.sum() / (per_token.size(0) * max_completion_length)
    if aggregation == "official":
        chunks = [(masked[i:i + micro_batch_size].sum(), m[i:i + micro_batch_size].sum())
                  for i in range(0, per_token.size(0), micro_batch_size)]
        return torch.stack([s / n.clamp(min=1.0) for s, n in chunks]).mean()
    raise ValueError(f"unknown loss aggregation {aggregation!r}: choose from {AGGREGATIONS}")


def policy_loss(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *,
                eps_low: float = 0.2, eps_high: float = 0.2, surrogate: str = "clip",
                aggregation: str = "token-mean", max_completion_length: int | None = None,
                micro_batch_size: int = 4, token_normalizer: torch.Tensor | float | None = None,
                ref_logps: torch.Tensor | None = None, beta: float = 0.0, kl_estimator: str = "k3",
                entropies: torch.Tensor | None = None, cispo_max_ratio: float = 5.0,
                entropy_coef: float = 0.0) -> tuple[torch.Tensor, StepStats]:
    """GRPO loss (to minimise) and its instrumentation (:func:`spurious.rl.stats.token_stats`).

    ``old_logps`` may equal ``logps.detach()`` (on-policy step: rho == 1, nothing is clipped).
    ``entropy_coef != 0`` needs differentiable ``entropies``.
    """
    per_token = per_token_surrogate(logps, old_logps, advantages, eps_low=eps_low, eps_high=eps_high,
                                    surrogate=surrogate, mask=mask, cispo_max_ratio=cispo_max_ratio)
    if entropy_coef != 0.0:
        if entropies is None:
            raise ValueError("entropy_coef != 0 needs the per-token entropies")
        per_token = per_token - entropy_coef * entropies
    stats = token_stats(logps, old_logps, advantages, mask, eps_low=eps_low, eps_high=eps_high, entropies=entropies)
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("beta != 0 needs ref_logps")
        kl = kl_penalty(logps, ref_logps, kl_estimator)
        per_token = per_token + beta * kl
        mf = mask.to(kl.dtype)
        stats.sums["kl_sum"] = (kl.detach() * mf).sum()
    loss = aggregate(per_token, mask, aggregation, max_completion_length=max_completion_length,
                     micro_batch_size=micro_batch_size, token_normalizer=token_normalizer)
    return loss, stats
