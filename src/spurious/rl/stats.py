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

Mechanism diagnostics (:func:`diagnostic_sums`, :func:`diagnostic_metrics`; docs/mechanism.md). With
delta = log pi_theta - log pi_old of a token at its training pass (the change that the phase's earlier
optimizer steps made: each rollout is trained on once per phase, so the on-policy step contributes 0):

* ``dlogp/<bucket>``: mean delta over the bucket's tokens; ``dlogp/<bucket>/low_clip`` and ``.../high_clip``:
  the part of that mean contributed by the low-clipped / high-clipped tokens (their delta summed, divided by
  the bucket's token count), so ``dlogp/<bucket>`` = low + high + unclipped part. ``dlogp/all``: every token.
* ``cov/logp_old_adv``: Cov(log pi_old, A) over response tokens (arXiv 2505.22617, whose first-order result
  for a softmax policy under natural policy gradient is dH ~ -eta Cov(log pi, A)).
* ``entropy_attr/low_clip``, ``entropy_attr/high_clip``: the first-order entropy change the clip causes by
  removing the updates of the low- / high-clipped tokens (arXiv 2509.26114's attribution), in units of the
  step size: each token contributes -(x - mean x)(A - mean A) / N to dH/eta (x = log pi_old, means over all
  the step's tokens), so removing a clipped set changes dH/eta by +sum over the set of (x - mean x)(A - mean A)
  / N. Positive: that clip raises entropy. (A batch estimate of a covariance that the paper states per state.)
* ``fork/*``: clip fractions and mean delta among the top-20 % entropy tokens (``top20``; entropy of the
  current policy, threshold = the 0.8 quantile within each micro-batch, ties included as TRL's
  ``top_entropy_quantile`` does) and the rest (``rest``), after arXiv 2506.01939; ``fork/tokens_frac/top20``.
* ``adv/pos_frac``, ``adv/neg_frac``: shares of response tokens with A > 0 / A < 0; ``adv/mean``: token mean of A
  (beside the rollout record's ``reward/frac_zero_std_groups``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

BUCKETS = ("p<0.1", "p0.1-0.5", "p0.5-thr", "p>thr")
FORK_GROUPS = ("top20", "rest")
FORK_QUANTILE = 0.8
# step metrics the phase record averages over the phase's optimizer steps (beside clip/* and the named keys)
DIAGNOSTIC_PREFIXES = ("dlogp/", "cov/", "entropy_attr/", "fork/", "adv/")


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
        out.update(diagnostic_metrics(s))
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
    st.sums.update(diagnostic_sums(logps - old_logps, old_logps, adv, m, low, high, in_bucket,
                                   None if entropies is None else entropies.detach().float()))
    # Always present (+inf / -inf when no token is unmasked): every rank must send the same keys to the
    # collectives of StepStats.reduce, or the ranks that have tokens wait forever for the ones that have none.
    inf = torch.tensor(float("inf"), device=ratio.device)
    st.mins["ratio"] = ratio[m].min() if m.any() else inf
    st.maxs["ratio"] = ratio[m].max() if m.any() else -inf
    return st


def diagnostic_sums(delta: torch.Tensor, old_logps: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor,
                    low: torch.Tensor, high: torch.Tensor, in_bucket: dict[str, torch.Tensor],
                    entropies: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Mergeable sums behind the mechanism diagnostics (module docstring), all (B, T): ``delta`` = log pi -
    log pi_old, ``adv`` per token, boolean ``mask`` / ``low`` / ``high`` (clipped sets, already masked) and
    ``in_bucket`` (pi_old buckets, not masked). The key set depends only on whether ``entropies`` is given."""
    mf = mask.float()
    x, y = old_logps * mf, adv * mf
    out: dict[str, torch.Tensor] = {"cov/x": x.sum(), "cov/y": y.sum(), "cov/xy": (x * y).sum(),
                                    "dlogp/all": (delta * mf).sum(),
                                    "adv/pos": ((adv > 0) & mask).float().sum(),
                                    "adv/neg": ((adv < 0) & mask).float().sum()}
    for name, sel in (("low", low), ("high", high)):
        sf = sel.float()
        out[f"cov/n_{name}"] = sf.sum()
        out[f"cov/x_{name}"] = (x * sf).sum()
        out[f"cov/y_{name}"] = (y * sf).sum()
        out[f"cov/xy_{name}"] = (x * y * sf).sum()
    for b, sel in in_bucket.items():
        sel = sel & mask
        out[f"dlogp/{b}"] = (delta * sel.float()).sum()
        out[f"dlogp_low/{b}"] = (delta * (sel & low).float()).sum()
        out[f"dlogp_high/{b}"] = (delta * (sel & high).float()).sum()
    if entropies is not None:
        values = entropies[mask]
        cut = torch.quantile(values, FORK_QUANTILE) if values.numel() else values.new_tensor(float("inf"))
        top = mask & (entropies >= cut)
        for g, sel in (("top20", top), ("rest", mask & ~top)):
            out[f"fork/tokens/{g}"] = sel.float().sum()
            out[f"fork/low/{g}"] = (low & sel).float().sum()
            out[f"fork/high/{g}"] = (high & sel).float().sum()
            out[f"fork/dlogp/{g}"] = (delta * sel.float()).sum()
    return out


def _centred_product(s: dict[str, float], suffix: str, mx: float, my: float) -> float:
    """sum over a token set of (x - mx)(y - my), from the set's sums."""
    return (s[f"cov/xy{suffix}"] - mx * s[f"cov/y{suffix}"] - my * s[f"cov/x{suffix}"]
            + mx * my * s[f"cov/n{suffix}" if suffix else "tokens"])


def diagnostic_metrics(s: dict[str, float]) -> dict[str, float]:
    """The logged mechanism diagnostics from merged :func:`diagnostic_sums` (plus ``tokens`` and the bucket
    token counts of :func:`token_stats`); empty when the sums are absent."""
    if "cov/xy" not in s:
        return {}
    n = s.get("tokens", 0.0)
    if n <= 0:
        return {}
    mx, my = s["cov/x"] / n, s["cov/y"] / n
    out = {"cov/logp_old_adv": _centred_product(s, "", mx, my) / n,
           "entropy_attr/low_clip": _centred_product(s, "_low", mx, my) / n,
           "entropy_attr/high_clip": _centred_product(s, "_high", mx, my) / n,
           "dlogp/all": s["dlogp/all"] / n,
           "adv/pos_frac": s["adv/pos"] / n, "adv/neg_frac": s["adv/neg"] / n, "adv/mean": my}
    for b in BUCKETS:
        nb = s.get(f"tokens/{b}", 0.0)
        if nb:
            out[f"dlogp/{b}"] = s[f"dlogp/{b}"] / nb
            out[f"dlogp/{b}/low_clip"] = s[f"dlogp_low/{b}"] / nb
            out[f"dlogp/{b}/high_clip"] = s[f"dlogp_high/{b}"] / nb
    if "fork/tokens/top20" in s:
        out["fork/tokens_frac/top20"] = s["fork/tokens/top20"] / n
        for g in FORK_GROUPS:
            ng = s[f"fork/tokens/{g}"]
            if ng:
                out[f"fork/clip_low_frac/{g}"] = s[f"fork/low/{g}"] / ng
                out[f"fork/clip_high_frac/{g}"] = s[f"fork/high/{g}"] / ng
                out[f"fork/dlogp/{g}"] = s[f"fork/dlogp/{g}"] / ng
    return out
