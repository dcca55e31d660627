"""How often the default ``spurious demo`` reaches decisive verdicts that agree with the expected ones.

Two modes:

* run (default): N default demos one after another, on disjoint seed sets (``--first-seed K0 + i * stride``,
  ``stride`` = the plan's largest seed count, so no two runs share a seed of any arm), each in
  ``<out>/run-<i>/``. Per run: the four verdicts, wall time, and the 1-minute load average at start and end
  (the machine may be shared). Finished runs are reused, so an interrupted study resumes.
* ``--resample POOL``: no training; from a folder of finished runs (``POOL/runs/*/result.json``, e.g. the union
  of earlier demos' ``runs/`` or a study with many seeds per arm), draw ``--draws`` seed sets of the plan's
  sizes without replacement per (family, arm) and judge each: an estimate of the rate with seed sets the pool
  holds (it under-states the spread when the pool is not much larger than the plan). ``--units FAMILY/ARM=N``
  judges the same pool with other unit counts (an arm and its twin get N seeds), to size a plan.

The peer is the expected verdict list (``--expect``; default: the four claims supported, as ``--full`` reads
them); the summary prints, per claim, how many runs were decisive and how many agreed, and the share of runs in
which all four agreed.

    nice -n 10 python benchmarks/demo_reliability.py --runs 10 --out /tmp/reliability [--first-seed 1000]
    python benchmarks/demo_reliability.py --resample /tmp/reliability --draws 2000
    python benchmarks/demo_reliability.py --resample /tmp/reliability --units qwen-like/random=30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CLAIMS = ("(a)", "(b)", "(c)", "(d)")


def _verdicts(summary: dict, families: list[str]) -> dict[str, str]:
    from spurious.organism.verdicts import judge

    return {j.claim[:3]: j.verdict for j in judge(summary, families) if j.claim.startswith(CLAIMS)}


def run_mode(args, spec) -> list[dict]:
    stride = args.stride or max(len(s) for f in spec.families for s in spec.arm_seeds(f).values())
    rows = []
    for i in range(args.runs):
        first = args.first_seed + i * stride
        out = Path(args.out) / f"run-{i}"
        summary_path = out / "summary.json"
        record_path = out / "reliability-run.json"
        if record_path.exists():
            rows.append(json.loads(record_path.read_text()))
            continue
        load0 = os.getloadavg()[0]
        t0 = time.time()
        cmd = [sys.executable, "-m", "spurious", "demo", "-o", str(out), "--first-seed", str(first),
               "--workers", str(args.workers)] + (["--budget", str(args.budget)] if args.budget else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"run {i} failed (exit {proc.returncode})")
        summary = json.loads(summary_path.read_text())
        row = {"run": i, "first_seed": first, "wall_seconds": round(wall, 1), "load_start": load0,
               "load_end": os.getloadavg()[0], "cut": len(summary.get("cut") or []),
               "verdicts": _verdicts(summary, list(spec.families))}
        record_path.write_text(json.dumps(row, indent=1))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def resample_mode(args, spec) -> list[dict]:
    from spurious.organism.grid import GridSpec, summarize
    from spurious.organism.runner import get_arm

    pools = []  # each folder is a grid (<f>/runs) or a reliability study (<f>/run-*/runs)
    for folder in map(Path, args.resample):
        pools += [folder / "runs"] if (folder / "runs").is_dir() else sorted(folder.glob("run-*/runs"))
    available: dict[tuple[str, str], dict[int, dict]] = {}   # every result, read once
    for pool in pools:
        for res in pool.glob("*/result.json"):
            r = json.loads(res.read_text())
            c = r["cell"]
            available.setdefault((c["family"], c["arm"]), {})[c["seed"]] = r
    rng = random.Random(args.seed)
    rows = []
    for d in range(args.draws):
        family_arms = {}
        results: dict[tuple[str, str, int], dict] = {}
        for fam in spec.families:
            arms = spec.arm_seeds(fam)
            family_arms[fam] = {}
            chosen_by_base: dict[str, list[int]] = {}
            for arm, seeds in arms.items():
                base = get_arm(arm).twin_of
                have = available.get((fam, arm), {})
                if base and base in arms:  # twins: the same seeds as their base arm (a pair needs both)
                    chosen = chosen_by_base.get(base, [])
                else:
                    twin = next((a for a in arms if get_arm(a).twin_of == arm), None)
                    ok = [s for s in have if twin is None or s in available.get((fam, twin), {})]
                    if len(ok) < len(seeds):
                        raise SystemExit(f"pool has {len(ok)} usable seeds of {fam}/{arm}, the plan needs {len(seeds)}")
                    chosen = rng.sample(sorted(ok), len(seeds))
                    chosen_by_base[arm] = chosen
                family_arms[fam][arm] = tuple(chosen)
                for s in chosen:
                    results[(fam, arm, s)] = have[s]
        drawn = GridSpec(families=spec.families, arms={}, settings=spec.settings, family_arms=family_arms)
        summary = summarize(drawn, None, load=lambda _, c: results.get((c.family, c.arm, c.seed)))
        rows.append({"draw": d, "verdicts": _verdicts(summary, list(spec.families))})
    return rows


def with_units(spec, units: list[str]):
    """``spec`` with other unit counts: ``FAMILY/ARM=N`` gives the arm (and its antithetic twin) N seeds."""
    from dataclasses import replace

    from spurious.organism.runner import get_arm

    family_arms = {f: spec.arm_seeds(f) for f in spec.families}
    for item in units:
        try:
            key, n = item.split("=")
            fam, arm = key.split("/")
            n = int(n)
        except ValueError:
            raise SystemExit(f"--units {item!r}: expected FAMILY/ARM=N") from None
        if arm not in family_arms.get(fam, {}) or n < 1:
            raise SystemExit(f"--units {item!r}: {fam}/{arm} is not in the plan, or N < 1")
        for a in family_arms[fam]:
            if a == arm or get_arm(a).twin_of == arm:
                family_arms[fam][a] = tuple(range(n))
    return replace(spec, arms={}, family_arms=family_arms)


def report(rows: list[dict], expect: dict[str, str]) -> dict:
    n = len(rows)
    out = {"runs": n, "expected": expect, "claims": {}}
    for c in CLAIMS:
        vs = [r["verdicts"].get(c, "inconclusive") for r in rows]
        out["claims"][c] = {"decisive": sum(v != "inconclusive" for v in vs), "agree": sum(v == expect[c] for v in vs),
                            "counts": {v: vs.count(v) for v in sorted(set(vs))}}
    out["all_four_agree"] = sum(all(r["verdicts"].get(c) == expect[c] for c in CLAIMS) for r in rows)
    print(f"{'claim':6} {'decisive':>9} {'agree':>6}  verdict counts")
    for c, v in out["claims"].items():
        print(f"{c:6} {v['decisive']:>5}/{n:<3} {v['agree']:>3}/{n:<3} {v['counts']}")
    print(f"all four agree with {expect}: {out['all_four_agree']}/{n} ({100 * out['all_four_agree'] / max(n, 1):.0f}%)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1000, help="seed set of run i starts at K0 + i * stride")
    ap.add_argument("--stride", type=int, default=0, help="default: the plan's largest seed count")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget", type=float, default=None, help="pass --budget MINUTES to every demo")
    ap.add_argument("--out", default="demo-reliability")
    ap.add_argument("--expect", default="supported,supported,supported,supported",
                    help="expected verdicts of (a),(b),(c),(d), comma-separated")
    ap.add_argument("--resample", nargs="+", default=None,
                    help="estimate from finished runs in these folders (grids or reliability studies) instead")
    ap.add_argument("--units", nargs="+", default=None, metavar="FAMILY/ARM=N",
                    help="with --resample: judge the plan with these unit counts instead (e.g. qwen-like/random=30)")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="resampling seed")
    args = ap.parse_args()

    from spurious.organism.plans import get_plan

    spec = get_plan("default")
    if args.units:
        if not args.resample:
            raise SystemExit("--units only applies to --resample (a run mode demo runs the shipped plan)")
        spec = with_units(spec, args.units)
    expect = dict(zip(CLAIMS, (v.strip() for v in args.expect.split(","))))
    rows = resample_mode(args, spec) if args.resample else run_mode(args, spec)
    result = report(rows, expect)
    result["rows"] = rows if not args.resample else rows[:0]
    result["load_average_now"] = os.getloadavg()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    name = "resample.json" if args.resample else "reliability.json"
    (Path(args.out) / name).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
