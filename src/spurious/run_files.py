"""The files of a training run folder as readers need them: ``metrics.jsonl`` lines and ``checkpoint-<N>`` folders.

``<run>/metrics.jsonl`` is an append-only log (one JSON object a line, field ``kind``: ``"step"``, ``"phase"`` or
``"eval"``; see docs/training.md). A reader of a run that is still appending (a progress display) asks for
``in_progress``: a last line without its newline is then a write in progress and is left out. Checkpoints are ``checkpoint-<N>`` folders in the run folder or
in ``<run>/checkpoints`` (where ``spurious train`` puts them).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from spurious.io import InputError, iter_jsonl

METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def is_metric_number(v: Any) -> bool:
    """A metric value readers plot and average: a finite int or float, not a bool (JSON true/false)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def read_metrics(run_dir: str | os.PathLike, kind: str | None = None, *, in_progress: bool = False
                 ) -> list[dict[str, Any]]:
    """The lines of ``<run_dir>/metrics.jsonl`` (only those of ``kind`` when given); ``[]`` when the file does not
    exist yet. ``in_progress``: leave out a last line without its newline (being appended). A malformed line
    raises :class:`InputError` naming file and line."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    rows = iter_jsonl(path, complete_lines_only=in_progress)
    return [row for _, row in rows if kind is None or row.get("kind") == kind]


def list_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every ``checkpoint-<N>`` in ``run_dir`` or ``run_dir/checkpoints``, by step.
    :class:`InputError` when ``run_dir`` is not a folder."""
    run = Path(run_dir)
    if not run.is_dir():
        raise InputError(run, None, "not a folder" if run.exists() else "run folder not found")
    found = {}
    for parent in (run, run / CHECKPOINT_DIR):
        if parent.is_dir():
            for d in parent.iterdir():
                if d.is_dir() and (m := _CHECKPOINT.match(d.name)):
                    found[int(m.group(1))] = d
    return sorted(found.items())
