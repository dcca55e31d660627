"""Clipping-bias instrumentation (docs/paper.md §8.6-8.7) as mergeable sums over tokens and sequences.

:func:`token_stats` turns one micro-batch into a :class:`StepStats` of *sums, minima and maxima*, so
micro-batches, accumulation steps and data-parallel ranks combine exactly (:meth:`StepStats.merge`,
:meth:`StepStats.reduce`); :meth:`StepStats.metrics` turns them into the logged fractions.

Definitions (token level, response tokens only, ratio rho = pi_theta / pi_old):

* ``clip/low_frac``: share of tokens with A < 0 and rho < 1 - eps_low: the clip removes their gradient.
* ``clip/high_frac``: share of tokens with A > 0 and rho > 1 + eps_high: likewise.
  Both are shares of *all* response tokens (TRL's ``clip_ratio/low_mean``/``high_mean`` convention).
  Under the ``no-clip`` surrogates they count tokens *outside the band*, i.e. what a clip would remove.
* ``clip/{low,high}_frac/<bucket>``: the same, among the tokens whose pi_old falls in the bucket
  ``p<0.1``, ``p0.1-0.5``, ``p0.5-thr``, ``p>thr`` with thr = 1 / (1 + eps_high): above thr a token can
  never exceed the band (docs/paper.md §8.4).
* ``pi_bar``: mean over sequences of the mean per-token probability under the current policy (§8.6).
* ``entropy``: token-mean entropy of the current policy; ``ratio/{mean,min,max}`` over tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

BUCKETS = ("p<0.1", "p0.1-0.5", "p0.5-thr", "p>thr")


def bucket_edges(eps_high: float) -> tuple[float, float, float]:
    """Edges between the pi_old buckets: 0.1, 0.5 and the band threshold 1 / (1 + eps_high)."""
    return 0.1, 0.5, 1.0 / (1.0 + eps_high)


@dataclass
class StepStats:
    """Sums / minima / maxima of per-token quantities; combine with :meth:`merge`, read with :meth:`metrics`."""

    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    mins: dict[str, torch.Tensor] = field(default_factory=dict)
    maxs: dict[str, torch.Tensor] = field(default_factory=dict)

    def merge(self, other: "StepStats") -> "StepStats":
        for k, v in other.sums.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        for k, v in other.mins.items():
            self.mins[k] = torch.minimum(self.mins[k], v) if k in self.mins else v
        for k, v in other.maxs.items():
            self.maxs[k] = torch.maximum(self.maxs[k], v) if k in self.maxs else v
        return self

    def reduce(self, accelerator) -> "StepStats":
        """Combine across data-parallel ranks (a collective: every rank must call it, with the same keys,
        which :func:`token_stats` guarantees whatever the mask)."""
        if accelerator is None or accelerator.num_processes == 1:
            return self
        out = StepStats()
        keys = sorted(self.sums)
        if keys:
            total = accelerator.reduce(torch.stack([self.sums[k].float() for k in keys]), reduction="sum")
            out.sums = dict(zip(keys, total))
        for src, dst, fn in ((self.mins, out.mins, torch.min), (self.maxs, out.maxs, torch.max)):
            ks = sorted(src)
            if ks:
                g = accelerator.gather(torch.stack([src[k].float() for k in ks]).unsqueeze(0))
                dst.update(zip(ks, fn(g.view(-1, len(ks)), dim=0).values))
        return out

    def metrics(self) -> dict[str, float]:
        """The logged values (see the module docstring for the key names)."""
        s = {k: float(v) for k, v in self.sums.items()}
        tokens = max(s.get("tokens", 0.0), 1.0)
        out = {
            "clip/low_frac": s.get("low_clipped", 0.0) / tokens,
            "clip/high_frac": s.get("high_clipped", 0.0) / tokens,
            "ratio/mean": s.get("ratio_sum", 0.0) / tokens,
            "pi_bar": s.get("pi_seq_sum", 0.0) / max(s.get("seqs", 0.0), 1.0),
            "tokens": s.get("tokens", 0.0),
        }
        for b in BUCKETS:
            n = s.get(f"tokens/{b}", 0.0)
            out[f"clip/low_frac/{b}"] = s.get(f"low_clipped/{b}", 0.0) / n if n else 0.0
            out[f"clip/high_frac/{b}"] = s.get(f"high_clipped/{b}", 0.0) / n if n else 0.0
            out[f"tokens_frac/{b}"] = n / tokens
        if "entropy_sum" in s:
            out["entropy"] = s["entropy_sum"] / tokens
        if "kl_sum" in s:
            out["kl"] = s["kl_sum"] / tokens
        if "ratio" in self.mins and s.get("tokens", 0.0) > 0:
            out["ratio/min"] = float(self.mins["ratio"])
        if "ratio" in self.maxs and s.get("tokens", 0.0) > 0:
            out["ratio/max"] = float(self.maxs["ratio"])
        return out


@torch.no_grad()
def token_stats(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *,
                eps_low: float, eps_high: float, entropies: torch.Tensor | None = None) -> StepStats:
    """Instrumentation sums for one micro-batch.

    ``logps``/``old_logps``/``mask`` (B, T); ``advantages`` (B,) or (B, T); ``entropies`` (B, T) or None.
    """
    logps, old_logps = logps.detach().float(), old_logps.detach().float()
    m = mask.to(torch.bool)
    mf = m.float()
    adv = advantages.detach().float()
    adv = adv.unsqueeze(1).expand_as(logps) if adv.dim() == 1 else adv
    ratio = torch.exp(logps - old_logps)
    low = (adv < 0) & (ratio < 1 - eps_low) & m
    high = (adv > 0) & (ratio > 1 + eps_high) & m
    p_old = torch.exp(old_logps)
    e1, e2, e3 = bucket_edges(eps_high)
    in_bucket = {
        BUCKETS[0]: p_old < e1,
        BUCKETS[1]: (p_old >= e1) & (p_old < e2),
        BUCKETS[2]: (p_old >= e2) & (p_old <= e3),
        BUCKETS[3]: p_old > e3,
    }
    lengths = mf.sum(1)
    has_tokens = lengths > 0
    seq_mean_prob = (torch.exp(logps) * mf).sum(1) / lengths.clamp(min=1.0)
    st = StepStats()
    st.sums = {
        "tokens": mf.sum(),
        "low_clipped": low.float().sum(),
        "high_clipped": high.float().sum(),
        "ratio_sum": (ratio * mf).sum(),
        "pi_seq_sum": seq_mean_prob[has_tokens].sum(),
        "seqs": has_tokens.float().sum(),
    }
    for b, sel in in_bucket.items():
        sel = sel & m
        st.sums[f"tokens/{b}"] = sel.float().sum()
        st.sums[f"low_clipped/{b}"] = (low & sel).float().sum()
        st.sums[f"high_clipped/{b}"] = (high & sel).float().sum()
    if entropies is not None:
        st.sums["entropy_sum"] = (entropies.detach().float() * mf).sum()
    # Always present (+inf / -inf when no token is unmasked): every rank must send the same keys to the
    # collectives of StepStats.reduce, or the ranks that have tokens wait forever for the ones that have none.
    inf = torch.tensor(float("inf"), device=ratio.device)
    st.mins["ratio"] = ratio[m].min() if m.any() else inf
    st.maxs["ratio"] = ratio[m].max() if m.any() else -inf
    return st
