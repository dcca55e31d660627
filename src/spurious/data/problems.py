"""Problems: math datasets read from local files or the Hugging Face hub, and the benchmark registry.

A :class:`Problem` is the unit every other module sees: ``id``, ``problem`` (text), ``answer`` (gold label,
a string) and ``meta`` (any other columns, e.g. DeepScaleR's ``level``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spurious.errors import UsageError
from spurious.io import InputError, iter_jsonl


@dataclass(frozen=True)
class Problem:
    id: str
    problem: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkSpec:
    """Where a named set lives locally and on the hub, and how its columns map to ours."""

    name: str
    filename: str
    hub_id: str
    hub_split: str = "test"
    problem_column: str = "problem"
    answer_column: str = "answer"
    id_column: str | None = None
    hub_config: str | None = None


# Hub ids are where these sets are commonly published; local files are the project's copies.
BENCHMARKS: dict[str, BenchmarkSpec] = {
    "math500": BenchmarkSpec("math500", "math500.jsonl", "HuggingFaceH4/MATH-500", id_column="unique_id"),
    "amc23": BenchmarkSpec("amc23", "amc23.jsonl", "math-ai/amc23", problem_column="question", id_column="id"),
    "aime24": BenchmarkSpec("aime24", "aime24.jsonl", "HuggingFaceH4/aime_2024", hub_split="train", id_column="id"),
    "aime25": BenchmarkSpec("aime25", "aime25.jsonl", "math-ai/aime25", id_column="id"),
    "deepscaler": BenchmarkSpec("deepscaler", "deepscaler.jsonl", "agentica-org/DeepScaleR-Preview-Dataset",
                                hub_split="train", answer_column="answer"),
}


def data_dir() -> Path:
    """Local data folder: ``$SPURIOUS_DATA_DIR``, else ``../shared/data`` beside the checkout, else ``./data``."""
    env = os.environ.get("SPURIOUS_DATA_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data"
        if (parent / "pyproject.toml").exists() and cand.exists():
            return cand
    return Path.cwd() / "data"


def _as_str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(v)  # keep "142.0" as the file has it; graders accept it
    return str(v)


def load_problems_file(path: str | os.PathLike, *, problem_column: str = "problem", answer_column: str = "answer",
                       id_column: str | None = "id", limit: int | None = None,
                       allow_empty_answer: bool = False) -> list[Problem]:
    """Problems from a JSONL file; a bad row raises :class:`InputError` naming file, line and field."""
    out: list[Problem] = []
    for lineno, row in iter_jsonl(path, required=(problem_column, answer_column)):
        prob, ans = row[problem_column], row[answer_column]
        if not isinstance(prob, str) or not prob.strip():
            raise InputError(path, lineno, "expected a non-empty string", field=problem_column)
        if not isinstance(ans, (str, int, float)) or isinstance(ans, bool):
            raise InputError(path, lineno, f"expected a string or number, got {type(ans).__name__}", field=answer_column)
        ans = _as_str(ans)
        if not ans.strip() and not allow_empty_answer:
            raise InputError(path, lineno, "empty answer", field=answer_column)
        pid = str(row[id_column]) if id_column and id_column in row else f"{Path(path).stem}-{lineno}"
        meta = {k: v for k, v in row.items() if k not in (problem_column, answer_column, id_column)}
        out.append(Problem(pid, prob, ans, meta))
        if limit is not None and len(out) >= limit:
            break
    return out


def _hub_offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def load_problems_hub(spec: BenchmarkSpec, limit: int | None = None) -> list[Problem]:
    """Problems from the Hugging Face hub (the internet, or the ``datasets`` cache when offline), with the ids of
    ``spec.id_column`` (MATH-500's ``unique_id`` equals the local file's ``id``). Raises :class:`UsageError`
    (one line) when the hub copy cannot be loaded."""
    try:
        import datasets

        ds = datasets.load_dataset(spec.hub_id, spec.hub_config, split=spec.hub_split)
    except Exception as e:  # noqa: BLE001 - no network, offline mode, unknown id, no `datasets`: one line
        offline = " (the hub is offline: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set)" if _hub_offline() else ""
        detail = " ".join(str(e).split())[:200]
        raise UsageError(f"benchmark {spec.name!r}: no local copy at {data_dir() / spec.filename} and the hub copy "
                         f"{spec.hub_id!r} could not be loaded{offline}: {type(e).__name__}: {detail}; put "
                         f"{spec.filename} in {data_dir()} or set SPURIOUS_DATA_DIR") from e
    out = []
    for i, row in enumerate(ds):
        pid = str(row[spec.id_column]) if spec.id_column and spec.id_column in row else f"{spec.name}-{i}"
        meta = {k: v for k, v in row.items() if k not in (spec.problem_column, spec.answer_column, spec.id_column)}
        out.append(Problem(pid, str(row[spec.problem_column]), _as_str(row[spec.answer_column]), meta))
        if limit is not None and len(out) >= limit:
            break
    return out


def load_benchmark(name: str, limit: int | None = None) -> list[Problem]:
    """A registered benchmark: its local file when present, else the hub copy."""
    spec = BENCHMARKS[name]
    local = data_dir() / spec.filename
    if local.exists():
        return load_problems_file(local, limit=limit)
    return load_problems_hub(spec, limit=limit)
