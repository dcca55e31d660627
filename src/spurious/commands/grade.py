"""``spurious grade``: grade a JSONL file of responses against their answers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from spurious.io import summary_path


def read_rows(path: Path) -> list[dict]:
    """Rows with a string ``response`` and a string/number ``answer``; errors name file, line and field."""
    from spurious.io import iter_jsonl

    return [row for _, row in iter_jsonl(path, required=("response", "answer"), not_null=("response", "answer"),
                                         types={"response": str, "answer": (str, int, float)})]


def grade_file(input_path: Path, output: Path, *, grader: str = "default", extract: Optional[str] = None,
               timeout: float = 5.0, workers: Optional[int] = None, progress: bool = True) -> dict:
    """Grade every row of ``input_path``; write graded rows to ``output`` and a summary next to it."""
    from spurious.errors import warn
    from spurious.grading import grade_many, grader_stats, reset_grader_stats
    from spurious.io import InputError, check_output, write_json, write_jsonl
    from spurious.provenance import provenance

    check_output(output)
    rows = read_rows(input_path)
    if not rows:
        warn(f"{input_path}: no rows to grade; writing an empty output")
    reset_grader_stats()
    t0 = time.perf_counter()
    results = grade_many([r["response"] for r in rows], [str(r["answer"]) for r in rows], grader=grader,
                         extract=extract, timeout=timeout, workers=workers, progress=progress)
    seconds = time.perf_counter() - t0
    graded = [{**row, "extracted": res.extracted, "correct": res.correct, "status": res.status}
              for row, res in zip(rows, results)]
    stats = grader_stats().as_dict()
    n = len(rows)
    summary = {
        "input": str(input_path), "output": str(output), "items": n,
        "accuracy": (sum(r.correct for r in results) / n) if n else None,
        "by_status": stats["by_status"], "items_per_second": round(n / seconds, 2) if seconds > 0 else None,
        "seconds": round(seconds, 3), "grader_stats": stats,
        "provenance": provenance(grader=grader, extract=extract, timeout=timeout, workers=workers),
    }
    try:
        write_jsonl(output, graded)
        write_json(summary_path(output), summary)
    except OSError as e:
        raise InputError(output, None, f"cannot write: {e.strerror or e}") from e
    return summary


def grade_cmd(
    input_path: Path = typer.Argument(..., metavar="INPUT.jsonl",
                                      help="JSONL rows with at least 'response' and 'answer'."),
    output: Path = typer.Option(..., "-o", "--output", help="Graded rows (input + extracted, correct, status)."),
    grader: str = typer.Option("default", "--grader", help="default | official"),
    extract: Optional[str] = typer.Option(None, "--extract",
                                          help="boxed | official | r1 (default: the grader's own)"),
    timeout: float = typer.Option(5.0, "--timeout",
                                  help="CPU seconds per symbolic comparison (stopped at 3x in wall clock)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Grading processes (default: CPU cores)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Grade responses against answers; write OUT and its summary next to it (out.jsonl -> out.summary.json:
    accuracy, statuses, items/s)."""
    from spurious.errors import UsageError, check_choice, check_positive
    from spurious.grading import EXTRACT_MODES, GRADERS

    check_choice(grader, GRADERS, "--grader", "grader")
    if extract is not None:
        check_choice(extract, EXTRACT_MODES, "--extract", "extract mode")
    if not timeout > 0:
        raise UsageError(f"must be positive, got {timeout}", option="--timeout")
    check_positive(workers=workers)
    summary = grade_file(input_path, output, grader=grader, extract=extract, timeout=timeout,
                         workers=workers, progress=progress)
    brief = {k: summary[k] for k in ("items", "accuracy", "by_status", "items_per_second", "seconds")}
    typer.echo(json.dumps({"summary": brief, "output": str(output),
                           "summary_file": str(summary_path(output))}))


def register(app: typer.Typer) -> None:
    app.command("grade")(grade_cmd)
