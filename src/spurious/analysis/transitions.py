"""Strategy-transition buckets and the partial contribution score (docs/paper.md §7.7, Fig. 7, Table 2).

Two evaluations of the same problems, at step 0 and at step t, are matched by (benchmark, problem_id).
Each problem gets one strategy and one correctness per evaluation:

* k = 1 (greedy, the paper's MATH-500 setting): the response's code flag and its 0/1 correctness;
* k > 1 samples: the **majority strategy** (code iff strictly more than half of its samples are code;
  a tie counts as language) and the **mean correctness** over its samples, so "newly correct" counts
  are expected counts and may be fractional. The paper only uses k = 1 here.

Problems are split into Code→Code, Code→Lang, Lang→Code, Lang→Lang. For a bucket d of the test set D,

    C_d = Σ_{x∈d} (correct_t(x) − correct_0(x)) / Σ_{x∈D} (correct_t(x) − correct_0(x)),

d's share of the net number of newly correct problems. C_d can be negative and the four sum to 1; it
is undefined (None) when the net change over D is 0. Table 2 is the unweighted mean of C_d over
rewards (:func:`mean_contributions`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

from spurious.rollout import Rollout

BUCKETS = ("Code→Code", "Code→Lang", "Lang→Code", "Lang→Lang")
_EPS = 1e-12


@dataclass(frozen=True)
class ProblemOutcome:
    code: bool
    correct: float  # 0/1 for one sample, the mean over k samples otherwise
    k: int


def problem_outcomes(samples: Iterable[Rollout], rule: str = "python") -> dict[tuple[str, str], ProblemOutcome]:
    """Per (benchmark, problem_id): majority strategy and mean correctness over its samples."""
    grouped: dict[tuple[str, str], list[Rollout]] = {}
    for s in samples:
        grouped.setdefault((s.benchmark, s.problem_id), []).append(s)
    out = {}
    for key, group in grouped.items():
        n_code = sum(s.code_flag(rule) for s in group)
        out[key] = ProblemOutcome(code=n_code * 2 > len(group), correct=sum(s.correct for s in group) / len(group),
                                  k=len(group))
    return out


def bucket_name(code_before: bool, code_after: bool) -> str:
    return f"{'Code' if code_before else 'Lang'}→{'Code' if code_after else 'Lang'}"


def contribution_scores(net_by_bucket: dict[str, float]) -> dict[str, float | None]:
    """C_d = net_d / Σ net; every value None when the total net change is 0 (undefined)."""
    total = math.fsum(net_by_bucket.values())
    if abs(total) < _EPS:
        return {d: None for d in net_by_bucket}
    return {d: v / total for d, v in net_by_bucket.items()}


@dataclass(frozen=True)
class BucketStats:
    bucket: str
    n: int
    accuracy_before: float | None  # None for an empty bucket
    accuracy_after: float | None
    net_newly_correct: float
    contribution: float | None


@dataclass
class TransitionTable:
    """Fig. 7 / Table 2 ingredients for one (step 0, step t) pair on one benchmark."""

    benchmark: str
    rule: str
    before: str
    after: str
    n: int
    accuracy_before: float
    accuracy_after: float
    net_newly_correct: float
    code_before: int
    code_after: int
    buckets: list[BucketStats]
    n_only_before: int = 0
    n_only_after: int = 0
    extra: dict = field(default_factory=dict)

    def bucket(self, name: str) -> BucketStats:
        return next(b for b in self.buckets if b.bucket == name)

    @property
    def contributions(self) -> dict[str, float | None]:
        return {b.bucket: b.contribution for b in self.buckets}

    def as_dict(self) -> dict:
        return asdict(self)


def transition_table(before: Sequence[Rollout], after: Sequence[Rollout], rule: str = "python", *,
                     benchmark: str | None = None, before_name: str = "step 0", after_name: str = "step t"
                     ) -> TransitionTable:
    """Buckets and contribution scores between two evaluations of the same problems.

    ``benchmark`` restricts both sides to one benchmark (required when they hold several).
    Problems present on one side only are left out and counted in ``n_only_before/after``.
    Raises ValueError when no problem is shared.
    """
    if benchmark is not None:
        before = [s for s in before if s.benchmark == benchmark]
        after = [s for s in after if s.benchmark == benchmark]
    benches = {s.benchmark for s in before} | {s.benchmark for s in after}
    if len(benches) > 1:
        raise ValueError(f"samples span several benchmarks {sorted(benches)}; pass benchmark=")
    o0, o1 = problem_outcomes(before, rule), problem_outcomes(after, rule)
    shared = sorted(set(o0) & set(o1))
    if not shared:
        raise ValueError(f"{before_name} and {after_name} share no (benchmark, problem_id)")
    members: dict[str, list[tuple[ProblemOutcome, ProblemOutcome]]] = {d: [] for d in BUCKETS}
    for key in shared:
        members[bucket_name(o0[key].code, o1[key].code)].append((o0[key], o1[key]))
    net = {d: math.fsum(a.correct - b.correct for b, a in pairs) for d, pairs in members.items()}
    share = contribution_scores(net)
    stats = []
    for d, pairs in members.items():
        n = len(pairs)
        stats.append(BucketStats(
            bucket=d, n=n,
            accuracy_before=math.fsum(b.correct for b, _ in pairs) / n if n else None,
            accuracy_after=math.fsum(a.correct for _, a in pairs) / n if n else None,
            net_newly_correct=net[d], contribution=share[d]))
    n = len(shared)
    return TransitionTable(
        benchmark=next(iter(benches)), rule=rule, before=before_name, after=after_name, n=n,
        accuracy_before=math.fsum(o0[k].correct for k in shared) / n,
        accuracy_after=math.fsum(o1[k].correct for k in shared) / n,
        net_newly_correct=math.fsum(net.values()),
        code_before=sum(o0[k].code for k in shared), code_after=sum(o1[k].code for k in shared),
        buckets=stats, n_only_before=len(set(o0) - set(o1)), n_only_after=len(set(o1) - set(o0)))


@dataclass(frozen=True)
class MeanContributions:
    """Table 2's column: unweighted mean of C_d over the tables whose C_d is defined."""

    contributions: dict[str, float | None]
    average_total_gain: float | None  # mean of (accuracy_after - accuracy_before) over the used tables
    used: list[str]
    skipped: list[str]  # tables with zero net change (C undefined)


def mean_contributions(tables: Sequence[TransitionTable]) -> MeanContributions:
    """Unweighted mean over rewards (one table per reward), as the paper's Table 2.

    Which rewards enter is the caller's choice: the paper averages over "rewards that successfully
    steered the model's reasoning strategy" without saying which those were for the smaller models.
    """
    used = [t for t in tables if t.buckets[0].contribution is not None]
    skipped = [t.after for t in tables if t.buckets[0].contribution is None]
    if not used:
        return MeanContributions({d: None for d in BUCKETS}, None, [], skipped)
    contrib = {d: math.fsum(t.bucket(d).contribution for t in used) / len(used) for d in BUCKETS}
    gain = math.fsum(t.accuracy_after - t.accuracy_before for t in used) / len(used)
    return MeanContributions(contrib, gain, [t.after for t in used], skipped)


# ---- row views for reports, JSON and CSV (percent units, as printed in the paper) ----

def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def bucket_rows(table: TransitionTable) -> list[dict]:
    """Fig. 7 view: one row per bucket with size, accuracy at 0 and at t, net newly correct, C_d."""
    return [{"bucket": b.bucket, "n": b.n, "acc_before_%": _pct(b.accuracy_before),
             "acc_after_%": _pct(b.accuracy_after), "net_newly_correct": b.net_newly_correct,
             "contribution_%": _pct(b.contribution)} for b in table.buckets]


def contribution_rows(tables: Sequence[TransitionTable]) -> list[dict]:
    """Derived-shares view: one row per table (reward), C_d in %, plus the unweighted mean row."""
    rows = []
    for t in tables:
        row = {"run": t.after, "benchmark": t.benchmark, "n": t.n,
               "acc_before_%": _pct(t.accuracy_before), "acc_after_%": _pct(t.accuracy_after),
               "net_newly_correct": t.net_newly_correct}
        row.update({f"C {d} %": _pct(t.bucket(d).contribution) for d in BUCKETS})
        rows.append(row)
    mean = mean_contributions(tables)
    if len(tables) > 1:
        row = {"run": "unweighted mean", "benchmark": "", "n": None, "acc_before_%": None,
               "acc_after_%": None, "net_newly_correct": None}
        row.update({f"C {d} %": _pct(mean.contributions[d]) for d in BUCKETS})
        rows.append(row)
    return rows
