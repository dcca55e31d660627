r"""Grading: extracted answer vs gold label, fast exact paths first, SymPy only in a deadline-bounded pool.

Two graders:

- ``"default"``: extraction ``"boxed"`` unless told otherwise; :func:`spurious.grading.normalize.fast_verdict`
  (string clean-up, exact rationals, percentages, numeric tuples) decides most pairs; the rest go to
  math-verify (``verify(parse("$" + gold + "$"), parse(r"\boxed{" + answer + "}"))``) in a worker process,
  after :func:`spurious.grading.guards.symbolic_hazard` has refused pathological inputs. A still-wrong answer
  gets one more chance under the multi-box rule (:func:`multi_box_candidate`: the set of boxed answers against
  a gold with several parts, which must match exactly).
- ``"official"``: the paper's parser and PRM800K grader (:mod:`spurious.grading.official`) with every quirk;
  its string stages run here, only its SymPy stage runs in the pool. An empty extraction still matches an
  empty label (W4). With the ``official``/``r1`` extraction modes a label that is exactly ``A``-``D`` switches
  to the official letter extraction (docs/paper.md §2.2), as the official reward does.

Every result has a status: ``"ok"`` (decided), ``"no_answer"`` (nothing extracted), ``"timeout"`` (the symbolic
step spent its CPU-time budget or hit the wall-clock cap; the worker was killed) or ``"error"`` (a refused pathological input, an exception,
or a crashed worker). Only ``"ok"`` (and, for the official grader, the W4 case of ``"no_answer"``) can be
correct. Symbolic verdicts, timeouts included, are cached by ``(grader, gold, extracted)``.

Where the default and official graders disagree (examples and reasons in ``docs/grading.md``):

- official wrong, default right: unit letters deleted (W1: ``a+b``, ``1 \pm \sqrt{19}``); unreduced fractions
  (W5: ``4/2`` vs ``2``); a non-integer form of an integer label (``\sqrt{4}`` vs ``2``, SymPy never asked);
  percentages read as ``p/100`` (``0.5`` vs ``50\%``); unordered bare lists (``2,1`` vs ``1,2``); decimals that
  round to the label at 6 places (``0.333333`` vs ``1/3``); expressions SymPy is refused for (more than two
  letters, multi-digit/chained exponents: ``(x^5)^2`` vs ``x^{10}``);
- official rewards, default does not: an answer-less response against an empty label (W4); unboxed answers
  through the "answer is" / last-number fallbacks (W3); an unclosed last box;
- official extracts junk where default finds no answer: ``The answer is 18. So we are done.`` (W2);
- default reads a final-answer statement after the last box and an answer spread over several boxes (the
  multi-box rule); official reads the last box (W6);
- pathological inputs: default refuses them up front (``error``); official refuses SymPy or times out here.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence

from spurious.grading.extract import EXTRACT_MODES, all_boxed, extract_answer, r1_answer
from spurious.grading.guards import symbolic_hazard
from spurious.grading.normalize import answer_parts, clean_answer, fast_verdict, glue_mixed_numbers
from spurious.grading.official import (
    official_extract,
    official_normalize,
    official_prefilter,
)
from spurious.grading.pool import WorkerPool, default_worker_count

__all__ = [
    "GradeResult",
    "GraderStats",
    "GRADERS",
    "STATUSES",
    "grade",
    "grade_many",
    "answers_equivalent",
    "grader_stats",
    "grader_metrics",
    "reset_grader_stats",
    "shutdown_pool",
    "clear_cache",
]

GRADERS = ("default", "official")
STATUSES = ("ok", "no_answer", "timeout", "error")
NATURAL_EXTRACT = {"default": "boxed", "official": "official"}
CACHE_SIZE = 200_000


@dataclass(frozen=True)
class GradeResult:
    """One graded response: the extracted answer (None if none), the verdict and how it was reached."""

    extracted: Optional[str]
    correct: bool
    status: str  # "ok" | "no_answer" | "timeout" | "error"


@dataclass
class GraderStats:
    """Counters over every graded item since the last :func:`reset_grader_stats` (process-wide)."""

    items: int = 0
    correct: int = 0
    by_status: Counter = field(default_factory=Counter)
    fast_path: int = 0  # decided without SymPy (string/number rules, no answer)
    symbolic: int = 0  # symbolic tasks actually run in the pool
    cache_hits: int = 0  # symbolic verdicts reused
    guarded: int = 0  # refused before SymPy (pathological input)
    timeouts: int = 0  # symbolic tasks that spent their CPU budget (or hit the wall-clock cap)
    errors: int = 0
    worker_restarts: int = 0
    deadline_extensions: int = 0  # symbolic tasks that ran past the timeout in wall clock, CPU budget left
    multi_box: int = 0  # items paid by the multi-box rule (see docs/grading.md)
    seconds: float = 0.0  # wall-clock time spent inside grade_many

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {
            "items": self.items, "correct": self.correct,
            "by_status": {s: self.by_status.get(s, 0) for s in STATUSES},
            "fast_path": self.fast_path, "symbolic": self.symbolic, "cache_hits": self.cache_hits,
            "guarded": self.guarded, "timeouts": self.timeouts, "errors": self.errors,
            "worker_restarts": self.worker_restarts, "deadline_extensions": self.deadline_extensions,
            "multi_box": self.multi_box, "seconds": round(self.seconds, 4),
            "items_per_second": round(self.items_per_second, 2),
        }

    def copy(self) -> "GraderStats":
        return dataclasses.replace(self, by_status=Counter(self.by_status))

    def since(self, before: "GraderStats") -> "GraderStats":
        """The counts added after the snapshot ``before`` (``grader_stats()`` taken earlier)."""
        out = dataclasses.replace(self, by_status=Counter(self.by_status))
        for f in dataclasses.fields(self):
            if f.name != "by_status":
                setattr(out, f.name, getattr(self, f.name) - getattr(before, f.name))
        out.by_status = Counter({k: self.by_status.get(k, 0) - before.by_status.get(k, 0) for k in STATUSES})
        return out


def grader_metrics(before: GraderStats, after: GraderStats, prefix: str = "grader/") -> dict[str, float]:
    """Flat metrics of the grading done between two :func:`grader_stats` snapshots, for a training log.

    Keys (with ``prefix``): ``items``, ``timeouts``, ``errors`` (crashed or failed symbolic tasks), ``guarded``
    (refused pathological inputs), ``no_answer``, ``cache_hits``, ``symbolic``, ``fast_path``,
    ``deadline_extensions``, ``worker_restarts``, ``multi_box``, ``seconds``, and the shares of the items
    ``timeout_rate``, ``error_rate`` (status ``error``) and ``no_answer_rate`` (0 when nothing was graded). A
    run whose rewards are silently zero shows here as a high timeout, error or no-answer rate.
    """
    d = after.since(before)
    n = d.items
    out: dict[str, float] = {
        "items": n, "timeouts": d.timeouts, "errors": d.errors, "guarded": d.guarded,
        "no_answer": d.by_status.get("no_answer", 0), "cache_hits": d.cache_hits, "symbolic": d.symbolic,
        "fast_path": d.fast_path, "deadline_extensions": d.deadline_extensions,
        "worker_restarts": d.worker_restarts, "multi_box": d.multi_box, "seconds": round(d.seconds, 4),
        "timeout_rate": d.by_status.get("timeout", 0) / n if n else 0.0,
        "error_rate": d.by_status.get("error", 0) / n if n else 0.0,
        "no_answer_rate": d.by_status.get("no_answer", 0) / n if n else 0.0,
    }
    return {prefix + k: v for k, v in out.items()}


_LOCK = threading.RLock()
_STATS = GraderStats()
# (grader, gold, extracted, raw) -> verdict, least recently used first. Not ``functools.lru_cache``: verdicts are
# looked up one by one in :func:`_verdicts` but filled in batches by the worker pool (:func:`_run_symbolic`), and a
# decorator cache can only store what one call of one function returns.
_CACHE: "OrderedDict[tuple, tuple[bool, str]]" = OrderedDict()
_POOL: Optional[WorkerPool] = None


def grader_stats() -> GraderStats:
    """A snapshot of the process-wide grading counters."""
    with _LOCK:
        return _STATS.copy()


def reset_grader_stats() -> None:
    global _STATS
    with _LOCK:
        _STATS = GraderStats()


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def shutdown_pool() -> None:
    """Stop the worker processes (they restart on demand)."""
    global _POOL
    with _LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None


atexit.register(shutdown_pool)


def _pool(workers: Optional[int]) -> WorkerPool:
    global _POOL
    size = default_worker_count() if workers is None else workers
    if size < 1:
        raise ValueError(f"workers must be at least 1, got {size}")
    if _POOL is not None and not _POOL.owned_here:
        _POOL = None  # inherited through fork: the workers belong to the parent process; leave them alone
    if _POOL is None or _POOL.size != size or not _POOL.alive:
        if _POOL is not None:
            _POOL.close()
        _POOL = WorkerPool(size)
    return _POOL


def _check_args(grader: str, extract: Optional[str], timeout: float) -> str:
    if grader not in GRADERS:
        raise ValueError(f"unknown grader {grader!r}; choose one of {', '.join(GRADERS)}")
    mode = extract or NATURAL_EXTRACT[grader]
    if mode not in EXTRACT_MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; choose one of {', '.join(EXTRACT_MODES)}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    return mode


def _extract_for(response: str, grader: str, mode: str, gold: str = "") -> tuple[Optional[str], bool]:
    """The extracted answer as the chosen grader sees it (official: normalised by ``official_normalize``),
    and whether it is raw prose (an unboxed ``r1`` answer, which math-verify must search rather than parse)."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    if grader == "default":
        if mode == "r1":
            answer, boxed = r1_answer(response)
            return answer, answer is not None and not boxed
        return extract_answer(response, mode), False
    if mode in ("official", "r1"):
        return official_extract(response, r1_style=(mode == "r1"), label=gold) or None, False  # A-D: letters
    boxed = extract_answer(response, mode)
    return ((official_normalize(boxed) or None) if boxed is not None else None), False


def _cache_get(key: tuple) -> Optional[tuple[bool, str]]:
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
    return hit


def _cache_put(key: tuple, verdict: tuple[bool, str]) -> None:
    _CACHE[key] = verdict
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def _decide(extracted: Optional[str], gold: str, grader: str, stats: GraderStats, raw: bool = False
            ) -> tuple[Optional[tuple[bool, str]], Optional[tuple[str, tuple]]]:
    """Either a verdict ``(correct, status)`` or a symbolic task ``(kind, args)`` for the pool."""
    if grader == "official":
        if extracted is None:  # W4: an empty label is matched by "no answer"
            return (bool(official_prefilter("", gold)[0]), "no_answer"), None
        verdict, pending = official_prefilter(extracted, gold)
        if verdict is not None:
            return (verdict, "ok"), None
        return None, ("official_sympy", (pending,))
    if extracted is None:
        return (False, "no_answer"), None
    if not gold.strip():
        return (False, "ok"), None  # the default grader does not reward anything against an empty label
    verdict = fast_verdict(gold, extracted)
    if verdict is not None:
        return (verdict, "ok"), None
    if symbolic_hazard(extracted) or symbolic_hazard(gold):
        stats.guarded += 1
        return (False, "error"), None
    return None, ("math_verify", (glue_mixed_numbers(gold), glue_mixed_numbers(extracted), raw))


def grade_many(responses: Sequence[str], golds: Sequence[str], *, grader: str = "default",
               extract: Optional[str] = None, timeout: float = 5.0, workers: Optional[int] = None,
               progress: bool = False) -> list[GradeResult]:
    """Grade ``responses[i]`` against ``golds[i]``; see the module docstring for the pipeline.

    ``timeout`` is the CPU-time budget of each symbolic comparison (it is stopped after
    ``pool.WALL_CAP_FACTOR * timeout`` seconds of wall clock whatever happens); ``workers`` the size of the
    process pool (default: usable cores, at most 8); ``progress`` shows a rich progress bar.
    """
    mode = _check_args(grader, extract, timeout)
    if len(responses) != len(golds):
        raise ValueError(f"{len(responses)} responses but {len(golds)} gold answers")
    start = time.monotonic()
    with _LOCK:
        stats = _STATS
        golds = [str(g) for g in golds]
        pairs = [_extract_for(r, grader, mode, g) for r, g in zip(responses, golds)]
        extracted = [p[0] for p in pairs]
        verdicts = _verdicts(pairs, golds, grader, timeout, workers, stats, progress)
        if grader == "default" and mode == "boxed":
            _multi_box_pass(responses, golds, extracted, verdicts, timeout, workers, stats)
        results = [GradeResult(ans, v[0], v[1]) for ans, v in zip(extracted, verdicts)]
        for r in results:
            stats.items += 1
            stats.correct += r.correct
            stats.by_status[r.status] += 1
        stats.seconds += time.monotonic() - start
    return results


def _verdicts(pairs: Sequence[tuple[Optional[str], bool]], golds: Sequence[str], grader: str, timeout: float,
              workers: Optional[int], stats: GraderStats, progress: bool = False) -> list[tuple[bool, str]]:
    """``(correct, status)`` for each ``(extracted, raw)`` pair against its gold: cache, fast paths, then the pool
    (identical pairs are graded once; the pool is started as soon as the first symbolic task is found, so its
    workers boot while the remaining pairs are decided)."""
    verdicts: list[Optional[tuple[bool, str]]] = [None] * len(pairs)
    jobs: dict[tuple, list[int]] = {}
    job_tasks: dict[tuple, tuple[str, tuple]] = {}
    for i, ((ans, raw), gold) in enumerate(zip(pairs, golds)):
        key = (grader, gold, ans, raw) if ans is not None else None
        if key is not None and (hit := _cache_get(key)) is not None:
            stats.cache_hits += 1
            verdicts[i] = hit
            continue
        if key is not None and key in jobs:
            stats.cache_hits += 1
            jobs[key].append(i)
            continue
        verdict, task = _decide(ans, gold, grader, stats, raw)
        if verdict is not None:
            stats.fast_path += 1
            verdicts[i] = verdict
        else:
            assert key is not None and task is not None
            if not jobs:
                _pool(workers)  # start (or check) the workers now; they warm up while we go on
            jobs[key] = [i]
            job_tasks[key] = task
    if jobs:
        with _progress_bar(progress, len(pairs)) as advance:
            advance(len(pairs) - sum(len(v) for v in jobs.values()))
            _run_symbolic(jobs, job_tasks, verdicts, timeout, workers, stats,
                          on_key=lambda key: advance(len(jobs[key])))
    return verdicts  # type: ignore[return-value]


def multi_box_candidate(response: str, gold: str) -> Optional[str]:
    """The boxed answers of ``response`` joined as one list (``"a, b"``) when the multi-box rule applies: the gold
    has several parts (:func:`spurious.grading.normalize.answer_parts`) and the response has at least two
    distinct boxes, all closed. Else None. The joined list is then graded against the whole gold, so it pays
    only when the set of boxed answers equals the set of gold parts (an extra or a missing box fails)."""
    if response.count("box") < 2 or len(answer_parts(gold)) < 2:
        return None
    boxes = list(dict.fromkeys(all_boxed(response)))  # distinct, first occurrence first
    if len({clean_answer(b) for b in boxes}) < 2:
        return None
    return ", ".join(boxes)


def _multi_box_pass(responses: Sequence[str], golds: Sequence[str], extracted: list, verdicts: list,
                    timeout: float, workers: Optional[int], stats: GraderStats) -> None:
    """Regrade the wrong answers that the multi-box rule applies to; keep the new verdict where it pays."""
    todo = []
    for i, (correct, status) in enumerate(verdicts):
        if status == "ok" and not correct:
            joined = multi_box_candidate(responses[i], golds[i])
            if joined is not None and joined != extracted[i]:
                todo.append((i, joined))
    if not todo:
        return
    second = _verdicts([(joined, False) for _, joined in todo], [golds[i] for i, _ in todo], "default",
                       timeout, workers, stats)
    for (i, joined), verdict in zip(todo, second):
        if verdict[0]:
            verdicts[i], extracted[i] = verdict, joined
            stats.multi_box += 1


@contextlib.contextmanager
def _progress_bar(show: bool, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar over ``total`` items (yields ``advance(n)``); a no-op when ``show`` is False."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=Console(stderr=True)) as bar:  # stdout stays machine-readable
        task = bar.add_task("grading", total=total)
        yield lambda n: bar.advance(task, n)


def _run_symbolic(jobs: dict, job_tasks: dict, verdicts: list, timeout: float, workers: Optional[int],
                  stats: GraderStats, on_key: Optional[Callable[[tuple], None]] = None) -> None:
    """Run the symbolic tasks in the pool; fill ``verdicts`` for every index that waits on each key."""
    keys = list(jobs)
    pool = _pool(workers)
    restarts_before = pool.counters.restarts

    def on_result(idx: int, _result) -> None:
        if on_key is not None:
            on_key(keys[idx])

    extended_before = pool.counters.extended
    outcomes = pool.run([job_tasks[k] for k in keys], timeout, on_result=on_result)
    stats.worker_restarts += pool.counters.restarts - restarts_before
    stats.deadline_extensions += pool.counters.extended - extended_before
    for key, outcome in zip(keys, outcomes):
        stats.symbolic += 1
        if outcome.status == "ok":
            verdict = (bool(outcome.value), "ok")
        else:
            verdict = (False, outcome.status)
            if outcome.status == "timeout":
                stats.timeouts += 1
            else:
                stats.errors += 1
        _cache_put(key, verdict)
        for i in jobs[key]:
            verdicts[i] = verdict


def grade(response: str, gold: str, *, grader: str = "default", extract: Optional[str] = None,
          timeout: float = 5.0) -> GradeResult:
    """Grade one response against one gold answer (see :func:`grade_many`)."""
    return grade_many([response], [gold], grader=grader, extract=extract, timeout=timeout)[0]


def answers_equivalent(a: str, b: str, *, grader: str = "default", timeout: float = 5.0) -> bool:
    """Whether two *already extracted* answers are equivalent (for majority voting and label checks).

    ``a`` plays the gold (math-verify is asymmetric: gold first). Neither side is extracted or normalised again:
    with the official grader pass answers as ``official_extract`` returns them; the official comparison
    (``official_grade_answer``) is symmetric, so the order does not matter there.
    """
    _check_args(grader, None, timeout)
    if a == b:
        return True
    with _LOCK:
        stats = _STATS
        key = (grader, a, b, False)
        hit = _cache_get(key)
        if hit is not None:
            stats.cache_hits += 1
            return hit[0]
        verdict, task = _decide(b if b.strip() else None, a, grader, stats)
        if verdict is not None:
            return verdict[0]
        verdicts: list = [None]
        _run_symbolic({key: [0]}, {key: task}, verdicts, timeout, None, stats)
        return verdicts[0][0]
