"""Datasets by name: a registered benchmark, a set derived from one (``one-shot-pi1``), the generated clean
control set (``clean``, ``clean-<seed>``), or a JSONL file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from spurious.data.clean import clean_problems, parse_clean_name
from spurious.data.one_shot import load_one_shot_pi1
from spurious.data.problems import BENCHMARKS, Problem, load_benchmark, load_problems_file
from spurious.errors import UsageError
from spurious.io import InputError

# Named datasets derived from a registered one (a loader taking ``limit``); see spurious.data.one_shot.
DERIVED_DATASETS: dict[str, Callable[[int | None], list[Problem]]] = {
    "one-shot-pi1": load_one_shot_pi1,
}


def load_problems(name_or_path: str, *, limit: int | None = None, **columns: Any) -> list[Problem]:
    """Load a registered benchmark by name (local file first, then the hub), a derived dataset by name
    (``one-shot-pi1``), the generated clean control set (``clean``, ``clean-<seed>``; see
    :mod:`spurious.data.clean`), or any JSONL file by path."""
    if name_or_path in DERIVED_DATASETS:
        return DERIVED_DATASETS[name_or_path](limit)
    seed = parse_clean_name(name_or_path)
    if seed is not None:
        return clean_problems(seed, limit=limit)
    if name_or_path in BENCHMARKS:
        return load_benchmark(name_or_path, limit=limit)
    p = Path(name_or_path)
    if p.exists():
        return load_problems_file(p, limit=limit, **columns)
    if p.suffix in (".jsonl", ".gz", ".json") or "/" in name_or_path:
        raise InputError(p, None, "file not found")
    raise UsageError(f"unknown dataset {name_or_path!r}: not a file and not one of "
                     f"{sorted(BENCHMARKS) + sorted(DERIVED_DATASETS) + ['clean', 'clean-<seed>']}")
