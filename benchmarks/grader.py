"""Grader throughput and agreement: our ``grade_many`` vs math-verify called sequentially, on MATH-500 golds.

From every MATH-500 gold answer we build responses whose correctness is known by construction:

* equivalent: ``\\boxed{gold}``, ``\\frac``<->``\\dfrac``, the decimal form of a terminating fraction,
  ``x = gold``, ``gold.0`` and ``{,}`` thousands separators for integers, ``\\left( ... \\right)`` tuples,
  ``0 + expression`` for symbolic golds (these need math-verify);
* not equivalent: ``gold + 1`` for integers, ``\\frac{a+1}{b}`` for fractions, swapped tuples, ``gold + 1``
  appended to other expressions.

Each response is a sentence ending in ``$\\boxed{...}$``. Reported, in one run:

* items/s of math-verify called sequentially in this process (``verify(parse("$" + gold + "$"), parse(response))``,
  default timeouts), of our default grader (``grade_many``, ``--workers`` processes, cold cache; pool start-up
  reported separately) and of the official-parity grader; the ratio ours/math-verify;
* the agreement matrix of intended label, default grader, official grader and math-verify, and where each
  grader disagrees with the intended label (by variant kind).

    OMP_NUM_THREADS=1 python benchmarks/grader.py [--limit 500] [--workers 2] [--timeout 5]
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import Counter, defaultdict
from fractions import Fraction

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_INT = re.compile(r"-?\d+")
_FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")
_TUPLE = re.compile(r"^\\left\(\s*(.+?)\s*,\s*(.+?)\s*\\right\)$|^\((.+?),(.+?)\)$")


def _terminating_decimal(num: int, den: int) -> str | None:
    d = den
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return None
    v = Fraction(num, den)
    s = f"{float(v):.10f}".rstrip("0").rstrip(".")
    return s if Fraction(s) == v else None


def build_variants(gold: str) -> list[tuple[str, bool, str]]:
    """``(boxed content, intended label, kind)`` triples for one gold answer."""
    out = [(gold, True, "boxed gold")]
    g = gold.strip()
    if "\\dfrac" in g:
        out.append((g.replace("\\dfrac", "\\frac"), True, "dfrac->frac"))
    elif "\\frac" in g:
        out.append((g.replace("\\frac", "\\dfrac"), True, "frac->dfrac"))
    if "=" not in g and "," not in g and "\\text" not in g:
        out.append(("x = " + g, True, "x = gold"))
    if _INT.fullmatch(g):
        n = int(g)
        out.append((f"{n}.0", True, "integer.0"))
        if abs(n) >= 1000:
            out.append((f"{n:,}".replace(",", "{,}"), True, "thousands {,}"))
        out.append((str(n + 1), False, "integer+1"))
    m = _FRAC.fullmatch(g)
    if m:
        sign, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        dec = _terminating_decimal(a, b)
        if dec is not None:
            out.append((sign + dec, True, "fraction->decimal"))
        out.append((f"{sign}\\frac{{{a + 1}}}{{{b}}}", False, "numerator+1"))
    t = _TUPLE.fullmatch(g)
    if t:
        x, y = (t.group(1), t.group(2)) if t.group(1) else (t.group(3), t.group(4))
        if x.strip() != y.strip():
            out.append((f"({y.strip()}, {x.strip()})", False, "swapped tuple"))
        if not g.startswith("\\left"):
            out.append((f"\\left( {x.strip()}, {y.strip()} \\right)", True, "\\left( tuple \\right)"))
    elif not _INT.fullmatch(g) and not m and "\\text" not in g and "," not in g and "=" not in g:
        out.append((g + " + 1", False, "expression+1"))
        if "matrix" not in g and "_" not in g:  # 0 + matrix is not defined; 52_8 is a numeral in base 8
            out.append(("0 + " + g, True, "0 + expression"))
    return out


def responses_for(golds: list[str]) -> list[tuple[str, str, bool, str]]:
    rows = []
    for gold in golds:
        for content, label, kind in build_variants(gold):
            rows.append((f"Putting everything together, the answer is $\\boxed{{{content}}}$.", gold, label, kind))
    return rows


def math_verify_sequential(rows) -> tuple[list[bool], float]:
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    out = [bool(verify(parse("$" + gold + "$"), parse(resp))) for resp, gold, _, _ in rows]
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MATH-500 JSONL (default: ../shared/data/math500.jsonl)")
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    from spurious.data import load_problems
    from spurious.grading import clear_cache, grade_many, grader_stats, reset_grader_stats
    from spurious.grading.grader import _pool

    problems = load_problems(args.data or "math500", limit=args.limit)
    rows = responses_for([p.answer for p in problems])
    responses, golds = [r[0] for r in rows], [r[1] for r in rows]
    labels = [r[2] for r in rows]
    kinds = Counter(r[3] for r in rows)
    print(f"{len(problems)} gold answers -> {len(rows)} responses "
          f"({sum(labels)} equivalent, {len(rows) - sum(labels)} not); kinds: {dict(kinds)}")

    t0 = time.perf_counter()
    _pool(args.workers).warm()
    startup = time.perf_counter() - t0

    mv, mv_s = math_verify_sequential(rows)

    clear_cache()
    reset_grader_stats()
    t0 = time.perf_counter()
    default = [r.correct for r in grade_many(responses, golds, timeout=args.timeout, workers=args.workers)]
    default_s = time.perf_counter() - t0
    d_stats = grader_stats().as_dict()

    clear_cache()
    reset_grader_stats()
    t0 = time.perf_counter()
    official = [r.correct for r in grade_many(responses, golds, grader="official", timeout=args.timeout,
                                              workers=args.workers)]
    official_s = time.perf_counter() - t0
    o_stats = grader_stats().as_dict()

    n = len(rows)
    print(f"\nthroughput (items/s), {args.workers} worker processes, cold cache; pool start-up {startup:.2f} s "
          "(not included)")
    print(f"  math-verify sequential : {n / mv_s:9.1f}   ({mv_s:.2f} s)")
    print(f"  ours, default grader   : {n / default_s:9.1f}   ({default_s:.2f} s)  "
          f"ratio vs math-verify {mv_s / default_s:.2f}x")
    print(f"  ours, official grader  : {n / official_s:9.1f}   ({official_s:.2f} s)  "
          f"ratio vs math-verify {mv_s / official_s:.2f}x")
    print(f"  default grader: fast path {d_stats['fast_path']}, symbolic {d_stats['symbolic']}, "
          f"cache hits {d_stats['cache_hits']}, statuses {d_stats['by_status']}")
    print(f"  official grader: fast path {o_stats['fast_path']}, symbolic {o_stats['symbolic']}, "
          f"statuses {o_stats['by_status']}")

    verdicts = {"intended": labels, "default": default, "official": official, "math-verify": mv}
    names = list(verdicts)
    print("\nagreement matrix (share of the", n, "responses with the same verdict)")
    print(" " * 12 + "".join(f"{x:>13}" for x in names))
    for a in names:
        cells = "".join(f"{sum(x == y for x, y in zip(verdicts[a], verdicts[b])) / n:13.3f}" for b in names)
        print(f"{a:>12}{cells}")

    print("\nagainst the intended label: accuracy, false positives, false negatives")
    for name in names[1:]:
        v = verdicts[name]
        fp = sum(x and not y for x, y in zip(v, labels))
        fn = sum(y and not x for x, y in zip(v, labels))
        print(f"  {name:>12}: {1 - (fp + fn) / n:.3f}  FP {fp:4d}  FN {fn:4d}")

    print("\ndisagreements with the intended label, by variant kind")
    by_kind: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    for i, (resp, gold, label, kind) in enumerate(rows):
        for name in names[1:]:
            if verdicts[name][i] != label:
                by_kind[name][kind] += 1
                if len(examples[name]) < 6:
                    examples[name].append(f"gold {gold!r} vs {resp.split('boxed', 1)[1][1:-3]!r} ({kind})")
    for name in names[1:]:
        print(f"  {name}: {dict(by_kind[name]) or 'none'}")
        for e in examples[name]:
            print(f"      {e}")


if __name__ == "__main__":
    main()
