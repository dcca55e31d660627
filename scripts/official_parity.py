"""Agreement of spurious's official-parity grader and rewards with verdicts recorded from the official code.

Reads a case file such as ``tests/data/official_cases.jsonl.gz`` (one JSON object per line: ``response``,
``label`` and the recorded official values under ``official``) and recomputes every field with spurious:

- ``gt`` / ``gt_r1``: the ground-truth reward, ``get_reward("ground_truth", grader="official")`` and the
  ``math_r1_style`` key (official keys ``math`` and ``math_r1_style``);
- ``extracted`` / ``extracted_r1``: ``official_extract(response, r1_style=..., label=label)``;
- ``format``: the ``format`` reward (key ``box_only_format``); ``box_extracted``: ``official_box_extract``;
- ``format_any``: 1 iff ``official_extract(response)`` is non-empty (official key ``format``);
- ``python``: the ``python`` reward (key ``contain_python_wo_backticks``);
- ``no_repetition``: the ``no_repetition`` reward.

Rows whose recorded value for a field is an error or a timeout of the official code are left out of that
field. Prints, per field, agreed/compared and the first disagreements; exit 1 if any field disagrees.

    python scripts/official_parity.py tests/data/official_cases.jsonl.gz [--show 5] [--timeout 60]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from typing import Any, Callable

FIELDS = ("gt", "gt_r1", "extracted", "extracted_r1", "format", "box_extracted", "format_any", "python",
          "no_repetition")


def load_cases(path: str) -> list[dict]:
    """The rows of a (gzipped) JSONL case file."""
    opener: Callable[..., Any] = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def recorded(value: Any) -> bool:
    """Whether a recorded official value is a verdict (not ``"error:..."`` or ``"timeout"``)."""
    return not (isinstance(value, str) and (value == "timeout" or value.startswith("error:")))


def ours(rows: list[dict], timeout: float = 60.0) -> dict[str, list]:
    """Every field of :data:`FIELDS` as spurious computes it, in row order."""
    from spurious.grading.official import official_box_extract, official_extract
    from spurious.rewards import Sample, get_reward

    samples = [Sample(prompt="", response=r["response"], answer=r["label"]) for r in rows]
    return {
        "gt": get_reward("ground_truth", grader="official", timeout=timeout)(samples),
        "gt_r1": get_reward("math_r1_style", grader="official", timeout=timeout)(samples),
        "extracted": [official_extract(r["response"], label=r["label"]) for r in rows],
        "extracted_r1": [official_extract(r["response"], r1_style=True, label=r["label"]) for r in rows],
        "format": get_reward("format")(samples),
        "box_extracted": [official_box_extract(r["response"]) for r in rows],
        "format_any": [1.0 if official_extract(r["response"]) else 0.0 for r in rows],
        "python": get_reward("python")(samples),
        "no_repetition": get_reward("no_repetition")(samples),
    }


def compare(rows: list[dict], mine: dict[str, list]) -> dict[str, tuple[int, int, list[int]]]:
    """field -> (agreed, compared, indices of the disagreeing rows)."""
    out = {}
    for field in FIELDS:
        agreed = compared = 0
        bad: list[int] = []
        for i, row in enumerate(rows):
            theirs = row["official"].get(field)
            if not recorded(theirs):
                continue
            compared += 1
            if mine[field][i] == theirs:
                agreed += 1
            else:
                bad.append(i)
        out[field] = (agreed, compared, bad)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases")
    ap.add_argument("--show", type=int, default=5, help="disagreements to print per field")
    ap.add_argument("--timeout", type=float, default=60.0, help="SymPy deadline per comparison (s)")
    args = ap.parse_args(argv)
    rows = load_cases(args.cases)
    mine = ours(rows, args.timeout)
    failed = False
    for field, (agreed, compared, bad) in compare(rows, mine).items():
        print(f"{field:14s} {agreed}/{compared} ({100.0 * agreed / max(compared, 1):.2f} %)")
        if bad:
            failed = True
            kinds = Counter(rows[i]["kind"].split(":")[0] for i in bad)
            print("    by kind:", dict(kinds.most_common(8)))
            for i in bad[: args.show]:
                row = rows[i]
                print(f"    id={row['id']} label={row['label']!r} response={row['response'][:120]!r}")
                print(f"      official={row['official'][field]!r} spurious={mine[field][i]!r}")
    skipped = Counter(f for row in rows for f in FIELDS if not recorded(row["official"].get(f)))
    if skipped:
        print("left out (official error/timeout):", dict(skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
