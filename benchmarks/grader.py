"""Grader speed and agreement, as whole processes: ``spurious grade`` vs math-verify called sequentially.

The workload is a GRPO batch: for each of the first ``--problems`` MATH-500 gold answers, a group of ``--group``
responses in the shapes models produce -- reasoning prose ending in ``\\boxed{...}`` (Minerva-style "the final
answer is", R1 ``<think>`` blocks, an intermediate box before the final one, ``**Final Answer**`` displays) and
truncated responses without an answer. Within a group most answers repeat (a problem has a per-group success
rate; correct answers are the gold or an equivalent form -- ``\\dfrac``, a decimal, ``x =``, ``{,}``, ``0 +
expression`` --, wrong ones come from a few plausible mistakes), as in real rollouts. The groups are built from
:func:`build_variants` with a fixed seed, so every run grades the same 6,544 items by default.

Measured in one run, alternating ``--repeat`` times (the median is reported):

* ``spurious grade IN.jsonl -o OUT.jsonl`` as a fresh process (start-up, reading, worker spawn, writing
  included), default grader;
* a fresh process that imports math-verify and calls ``verify(parse("$" + gold + "$"), parse(response))`` for
  every row, sequentially;
* wall-clock seconds and CPU seconds (user + system, the process and its children) of each, their ratios, and
  the agreement of the two verdicts (where they differ, by kind, with examples).

    OMP_NUM_THREADS=1 python benchmarks/grader.py [--problems 409] [--group 16] [--workers N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

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


FILLER = ("Let's think step by step.", "First, we simplify the expression.", "We substitute the values.",
          "Notice that $x^2 - 1 = (x-1)(x+1)$.", "So we have $a + b = 7$ and $ab = 12$.",
          "By the Pythagorean theorem, $c^2 = a^2 + b^2$.", "Therefore the sum is $3 + 4 = 7$.",
          "Checking the boundary case $n = 0$ gives $1$.", "Multiplying both sides by $2$, we get $2x = 10$.",
          "Hence $\\frac{1}{2} \\cdot 6 = 3$.", "Wait, let me double-check this computation.")


def group_workload(golds: list[str], group: int = 16, seed: int = 0) -> list[dict]:
    """``{"id", "response", "answer", "kind"}`` rows: one group of ``group`` responses per gold (see the module
    docstring)."""
    rng = random.Random(seed)
    rows = []
    for pi, gold in enumerate(golds):
        variants = build_variants(gold)
        right = [v for v, ok, _ in variants if ok]
        wrong = ([v for v, ok, _ in variants if not ok] + [golds[(pi * 7 + 13) % len(golds)]])[:3]
        p = rng.choice([0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
        for j in range(group):
            pre = " ".join(rng.choice(FILLER) for _ in range(rng.randint(5, 40)))
            if rng.random() < 0.08:
                resp, kind = pre + " So the answer is", "truncated"
            else:
                correct = rng.random() < p
                ans = (right[0] if rng.random() < 0.7 else rng.choice(right)) if correct else rng.choice(wrong)
                shape = rng.random()
                if shape < 0.6:
                    resp = pre + f" Therefore, the final answer is $\\boxed{{{ans}}}$."
                elif shape < 0.8:
                    resp = f"<think>\n{pre}\n</think>\n\nThe answer is $\\boxed{{{ans}}}$"
                elif shape < 0.9:
                    resp = pre + (f" An intermediate value is $\\boxed{{{rng.randint(1, 99)}}}$, so finally "
                                  f"$\\boxed{{{ans}}}$.")
                else:
                    resp = pre + f"\n\n**Final Answer**\n\\[\n\\boxed{{{ans}}}\n\\]"
                kind = "correct form" if correct else "wrong answer"
            rows.append({"id": f"{pi}-{j}", "response": resp, "answer": gold, "kind": kind})
    return rows


PEER = """
import json, logging, sys
from math_verify import parse, verify
logging.getLogger("math_verify").setLevel(logging.ERROR)
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
out = [bool(verify(parse("$" + str(r["answer"]) + "$"), parse(r["response"]))) for r in rows]
json.dump(out, open(sys.argv[2], "w"))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` to completion; its wall-clock and CPU seconds (user + system, children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MATH-500 JSONL (default: ../shared/data/math500.jsonl)")
    ap.add_argument("--problems", type=int, default=409)
    ap.add_argument("--group", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None, help="grading processes (default: spurious grade's)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="folder to keep the workload and both outputs in")
    args = ap.parse_args()

    from spurious.data import load_problems

    golds = [p.answer for p in load_problems(args.data or "math500", limit=args.problems)]
    rows = group_workload(golds, args.group)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="grader-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    inp, ours_out, peer_out = folder / "groups.jsonl", folder / "ours.jsonl", folder / "math_verify.json"
    with open(inp, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    kinds = Counter(r["kind"] for r in rows)
    print(f"{len(golds)} gold answers x {args.group} -> {len(rows)} responses; {dict(kinds)}")

    ours_cmd = [sys.executable, "-m", "spurious", "grade", str(inp), "-o", str(ours_out), "--no-progress"]
    if args.workers is not None:
        ours_cmd += ["--workers", str(args.workers)]
    peer_cmd = [sys.executable, "-c", PEER, str(inp), str(peer_out)]
    times: dict[str, list[tuple[float, float]]] = {"ours": [], "math-verify": []}
    for _ in range(args.repeat):
        times["ours"].append(timed(ours_cmd))
        times["math-verify"].append(timed(peer_cmd))
    wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
    cpu = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
    print(f"\nwhole processes, median of {args.repeat} alternating runs (load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for k in times:
        runs = ", ".join(f"{t[0]:.2f}" for t in times[k])
        print(f"  {k:>12}: wall {wall[k]:6.2f} s (runs {runs})   cpu {cpu[k]:6.2f} s")
    print(f"  ratio math-verify / ours: wall {wall['math-verify'] / wall['ours']:.2f}x   "
          f"cpu {cpu['math-verify'] / cpu['ours']:.2f}x")

    ours = [json.loads(line) for line in open(ours_out, encoding="utf-8")]
    summary = json.loads(ours_out.with_name("ours.summary.json").read_text(encoding="utf-8"))
    peer = json.loads(peer_out.read_text())
    stats = summary["grader_stats"]
    print(f"  ours: fast path {stats['fast_path']}, symbolic {stats['symbolic']}, cache hits {stats['cache_hits']},"
          f" statuses {stats['by_status']}")
    same = sum(o["correct"] == m for o, m in zip(ours, peer))
    print(f"\nverdicts: ours correct {sum(o['correct'] for o in ours)}, math-verify correct {sum(peer)}, "
          f"same verdict on {same}/{len(rows)} ({same / len(rows):.4f})")
    diff: Counter = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for o, m, r in zip(ours, peer, rows):
        if o["correct"] != m:
            key = f"{r['kind']}: ours {o['correct']} ({o['status']}), math-verify {m}"
            diff[key] += 1
            if len(examples[key]) < 3:
                examples[key].append(f"gold {r['answer']!r}, ours extracted {o['extracted']!r}, "
                                     f"response ends {r['response'][-60:]!r}")
    for key, n in diff.most_common():
        print(f"  {n:5d}  {key}")
        for e in examples[key]:
            print(f"           {e}")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
