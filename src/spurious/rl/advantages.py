"""Group-relative advantages (GRPO), as pure tensor functions.

``rewards`` is a flat tensor of ``n_groups * group_size`` rewards laid out group by group (the order
TRL's sampler produces: the G rollouts of a prompt are consecutive).

Conventions, all selectable:

* **scale** - ``"group"``: z = (r - mean_g) / (std_g + eps); ``"batch"``: divide by the std of the whole
  batch; ``"none"``: only centre (Dr. GRPO). A group whose std is 0 gets advantage 0 in every mode.
* **unbiased** - the official code (docs/paper.md §3.4) and TRL 1.16 (``trl.trainer.utils.nanstd``, Bessel's
  correction) both use the unbiased (N - 1) std. ``unbiased=False`` gives the population std.
* **eps** - the official code adds 1e-9, TRL adds 1e-4. Irrelevant for binary rewards at G >= 2 except
  in the std = 0 case, which is handled explicitly.
* **whiten** - the official code's extra step (docs/paper.md §3.4 step 2): a token-weighted whitening of the
  per-sequence advantages over every response token of the whole rollout batch (all ranks). It gives
  zero-variance groups the non-zero advantage -m/s. See :func:`whiten_token_weighted`.

Estimators beside GRPO's z-score (the "faithful gradient" controls of the follow-up literature):

* ``rloo`` - leave-one-out baseline: A_i = r_i - mean_{j != i} r_j (TRL 1.16 ``RLOOTrainer`` with
  ``normalize_advantages=False``). It equals G / (G - 1) x ``reinforce``.
* ``reinforce`` - REINFORCE with the group-mean baseline: A_i = r_i - mean_g (the same values as ``none``).

Sign masks (arXiv 2506.01347's positive / negative sample reinforcement): ``sign="positive"`` keeps only
A > 0 (the others become 0), ``"negative"`` only A < 0, ``"both"`` (default) keeps all.
"""

from __future__ import annotations

import torch

SCALES = ("group", "batch", "none")
ADVANTAGE_SIGNS = ("both", "positive", "negative")


def group_advantages(rewards: torch.Tensor, group_size: int, *, scale: str = "group", unbiased: bool = True,
                     eps: float = 1e-4, clamp: float | None = None) -> torch.Tensor:
    """Per-rollout advantages from a flat ``(n_groups * group_size,)`` reward tensor.

    ``clamp`` bounds |A| (the official code clamps z to [-10, 10]; it never binds at G = 16).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown advantage scale {scale!r}: choose from {SCALES}")
    if rewards.dim() != 1 or rewards.numel() % group_size:
        raise ValueError(f"rewards must be flat with a multiple of group_size={group_size} entries, "
                         f"got shape {tuple(rewards.shape)}")
    r = rewards.float().view(-1, group_size)
    centred = r - r.mean(dim=1, keepdim=True)
    correction = 1 if unbiased and group_size > 1 else 0
    group_std = r.std(dim=1, keepdim=True, correction=correction) if group_size > 1 else torch.zeros_like(r[:, :1])
    zero_var = torch.isclose(group_std, torch.zeros_like(group_std)).expand_as(r)
    if scale == "group":
        adv = centred / (group_std + eps)
    elif scale == "batch":
        n = r.numel()
        batch_std = r.std(correction=1 if unbiased and n > 1 else 0) if n > 1 else torch.zeros(())
        adv = centred / (batch_std + eps)
    else:
        adv = centred
    adv = torch.where(zero_var, torch.zeros_like(adv), adv)
    if clamp is not None:
        adv = adv.clamp(-clamp, clamp)
    return adv.reshape(-1)


def whiten_token_weighted(advantages: torch.Tensor, lengths: torch.Tensor, *, eps: float = 1e-8) -> torch.Tensor:
    """The official global whitening: A = (z - m) / s, m and s token-weighted over the whole batch.

    ``advantages`` (B,) are per-sequence values copied to every token; ``lengths`` (B,) are the response
    token counts. m = sum(len * z) / sum(len); s = sqrt(sum(len * (z - m)^2) / sum(len)) (population),
    clamped to >= ``eps``. Pass the advantages and lengths of *all* ranks (docs/paper.md §3.4).
    """
    w = lengths.to(advantages.dtype)
    total = w.sum().clamp(min=1.0)
    m = (w * advantages).sum() / total
    s = ((w * (advantages - m) ** 2).sum() / total).sqrt().clamp(min=eps)
    return (advantages - m) / s


def rloo_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """Leave-one-out advantages r_i - (sum_g - r_i) / (G - 1) from a flat group-by-group reward tensor."""
    if group_size < 2:
        raise ValueError("the leave-one-out baseline needs group_size >= 2")
    if rewards.dim() != 1 or rewards.numel() % group_size:
        raise ValueError(f"rewards must be flat with a multiple of group_size={group_size} entries, "
                         f"got shape {tuple(rewards.shape)}")
    r = rewards.float().view(-1, group_size)
    baseline = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)
    return (r - baseline).reshape(-1)


def mask_advantage_sign(advantages: torch.Tensor, sign: str = "both") -> torch.Tensor:
    """Keep only the positive (``"positive"``) or negative (``"negative"``) advantages; ``"both"``: unchanged."""
    if sign == "both":
        return advantages
    if sign == "positive":
        return advantages.clamp(min=0.0)
    if sign == "negative":
        return advantages.clamp(max=0.0)
    raise ValueError(f"unknown advantage sign {sign!r}: choose from {ADVANTAGE_SIGNS}")


def compute_advantages(rewards: torch.Tensor, group_size: int, *, mode: str = "group", unbiased: bool = True,
                       eps: float = 1e-4, lengths: torch.Tensor | None = None, sign: str = "both") -> torch.Tensor:
    """Advantages for one rollout batch by named mode, then :func:`mask_advantage_sign`.

    Modes: ``group`` / ``batch`` / ``none`` (see :func:`group_advantages`), ``official`` (group z-score
    with the official eps 1e-9 and clamp 10, then :func:`whiten_token_weighted`; needs ``lengths``),
    ``rloo`` (:func:`rloo_advantages`) and ``reinforce`` (group-mean baseline, = ``none``).
    """
    if mode == "official":
        if lengths is None:
            raise ValueError("advantage mode 'official' needs the response lengths")
        z = group_advantages(rewards, group_size, scale="group", unbiased=unbiased, eps=1e-9, clamp=10.0)
        adv = whiten_token_weighted(z, lengths)
    elif mode == "rloo":
        adv = rloo_advantages(rewards, group_size)
    else:
        scale = "none" if mode == "reinforce" else mode
        adv = group_advantages(rewards, group_size, scale=scale, unbiased=unbiased, eps=eps)
    return mask_advantage_sign(adv, sign)


ADVANTAGE_MODES = SCALES + ("official", "rloo", "reinforce")
