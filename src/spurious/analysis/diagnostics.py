"""A run's mechanism diagnostics, summarised from the phase lines of its ``metrics.jsonl``.

The diagnostics are those of :mod:`spurious.rl.stats` (docs/mechanism.md): clip fractions, the signed log-pi
change per pi_old bucket and its low-/high-clip parts (``dlogp/<b>``, ``dlogp/<b>/low_clip``,
``dlogp/<b>/high_clip``), ``cov/logp_old_adv``, ``entropy_attr/{low,high}_clip``, the fork-token split
(``fork/*/top20`` vs ``fork/*/rest``), the advantage sign shares and ``reward/frac_zero_std_groups``, plus the
token ``entropy`` they explain and the mean token probability ``pi_bar`` (docs/paper.md §8.6). Bucket and
fork-group names are read from the logged keys, in logged order.

:func:`summarize_diagnostics` turns the rows :func:`spurious.run_files.read_metrics` returns into one
:class:`KeySummary` per key that a phase line holds (step and eval lines are ignored): ``start`` = the first
phase, ``end`` = mean of the last :data:`END_PHASES` phases, ``mean`` = mean over phases, ``change`` = end -
start (None with one phase), ``n`` = phases holding the key. :func:`mean_summaries` averages several runs (the
seeds of an arm) field by field; :func:`table_row` is the compact display row the reports share.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from spurious.run_files import is_metric_number, read_metrics

END_PHASES = 5
FIXED_KEYS = ("entropy", "pi_bar", "clip/low_frac", "clip/high_frac", "cov/logp_old_adv", "entropy_attr/low_clip",
              "entropy_attr/high_clip", "dlogp/all", "adv/pos_frac", "adv/neg_frac", "adv/mean",
              "reward/frac_zero_std_groups")
BUCKET_KEY = re.compile(r"^dlogp/(?!all$)([^/]+)(?:/(?:low|high)_clip)?$")
FORK_KEY = re.compile(r"^fork/(?:clip_low_frac|clip_high_frac|dlogp)/([^/]+)$")


@dataclass(frozen=True)
class KeySummary:
    start: float
    end: float
    mean: float
    change: float | None
    n: int


def diagnostic_keys(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The summarised keys present in ``rows``: FIXED_KEYS, then the bucket keys, then the fork keys."""
    present = dict.fromkeys(k for r in rows for k, v in r.items() if is_metric_number(v))
    buckets = [k for k in present if BUCKET_KEY.match(k)]
    forks = [k for k in present if FORK_KEY.match(k)]
    return [k for k in FIXED_KEYS if k in present] + buckets + forks


def summarize_diagnostics(rows: Sequence[dict[str, Any]], end_phases: int = END_PHASES) -> dict[str, KeySummary]:
    """Start / end / mean / change of every diagnostic key over the phase lines of ``rows`` (module docstring)."""
    if end_phases < 1:
        raise ValueError(f"end_phases must be >= 1, got {end_phases}")
    phases = [r for r in rows if r.get("kind") == "phase"]
    out: dict[str, KeySummary] = {}
    for k in diagnostic_keys(phases):
        vals = [float(r[k]) for r in phases if is_metric_number(r.get(k))]
        tail = vals[-end_phases:]
        end = math.fsum(tail) / len(tail)
        out[k] = KeySummary(start=vals[0], end=end, mean=math.fsum(vals) / len(vals),
                            change=end - vals[0] if len(vals) > 1 else None, n=len(vals))
    return out


def run_diagnostics(run_dir: str | os.PathLike, end_phases: int = END_PHASES) -> dict[str, KeySummary]:
    """:func:`summarize_diagnostics` of ``<run_dir>/metrics.jsonl`` (``{}`` when the run has none)."""
    return summarize_diagnostics(read_metrics(run_dir, "phase"), end_phases)


def _mean(vals: list[float]) -> float:
    return math.fsum(vals) / len(vals)


def mean_summaries(summaries: Sequence[dict[str, KeySummary]]) -> dict[str, KeySummary]:
    """Field-wise mean over runs of each key's summary, over the runs that hold the key (``n`` = those runs;
    ``change``: over the runs that have one, None if none has)."""
    keys = list(dict.fromkeys(k for s in summaries for k in s))
    out: dict[str, KeySummary] = {}
    for k in keys:
        ss = [s[k] for s in summaries if k in s]
        changes = [x.change for x in ss if x.change is not None]
        out[k] = KeySummary(start=_mean([x.start for x in ss]), end=_mean([x.end for x in ss]),
                            mean=_mean([x.mean for x in ss]), change=_mean(changes) if changes else None, n=len(ss))
    return out


def _g(v: float | None) -> str:
    return "—" if v is None else f"{v:+.3g}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}"


def _pair(s: dict[str, KeySummary], a: str, b: str, fmt=_g) -> str:
    return f"{fmt(s[a].mean if a in s else None)} / {fmt(s[b].mean if b in s else None)}"


def table_row(s: dict[str, KeySummary]) -> dict[str, str]:
    """The compact display row of one summary (a run, or an arm's :func:`mean_summaries`): entropy start → end,
    everything else its phase mean; '—' where a key was not logged. Empty when no diagnostic was logged."""
    if not s:
        return {}
    ent = s.get("entropy")
    row = {"entropy start → end": "—" if ent is None else f"{ent.start:.3f} → {ent.end:.3f}",
           "clip low / high %": _pair(s, "clip/low_frac", "clip/high_frac", _pct)}
    for b in dict.fromkeys(m.group(1) for k in s if (m := BUCKET_KEY.match(k))):
        total = s[f"dlogp/{b}"].mean if f"dlogp/{b}" in s else None
        row[f"δ {b}: all (low-clip / high-clip part)"] = \
            f"{_g(total)} ({_pair(s, f'dlogp/{b}/low_clip', f'dlogp/{b}/high_clip')})"
    row["Cov(log π_old, A)"] = _g(s["cov/logp_old_adv"].mean if "cov/logp_old_adv" in s else None)
    row["H attr. low / high clip"] = _pair(s, "entropy_attr/low_clip", "entropy_attr/high_clip")
    for g in dict.fromkeys(m.group(1) for k in s if (m := FORK_KEY.match(k))):
        row[f"fork {g}: clip low / high %"] = _pair(s, f"fork/clip_low_frac/{g}", f"fork/clip_high_frac/{g}", _pct)
        row[f"fork {g}: δ"] = _g(s[f"fork/dlogp/{g}"].mean if f"fork/dlogp/{g}" in s else None)
    row["Â > 0 / < 0 %"] = _pair(s, "adv/pos_frac", "adv/neg_frac", _pct)
    row["zero-std groups %"] = _pct(s["reward/frac_zero_std_groups"].mean
                                    if "reward/frac_zero_std_groups" in s else None)
    return row


TABLE_NOTE = ("Phase means of the training diagnostics (docs/mechanism.md; entropy: first phase → mean of the "
              f"last {END_PHASES}). δ: mean change of log π at the token's training pass per π_old bucket, and the "
              "parts of it carried by the low-clipped (Â < 0) and high-clipped (Â > 0) tokens; H attr.: first-order "
              "entropy change per unit step that each clip side causes (> 0: raises entropy); fork top20 / rest: "
              "the top-20 % entropy tokens vs the others; Â sign shares of response tokens; zero-std groups: share "
              "of prompt groups with identical rewards.")
