"""Load evaluation folders (``samples.jsonl`` + ``summary.json``) and training runs (``metrics.jsonl``).

Evaluation sample lines need ``benchmark``, ``problem_id`` and ``correct``; the code-reasoning flags
``code`` (the paper's ``python`` rule) and ``code_fenced`` are computed from ``response`` when absent.
Training metric lines are free-form: any numeric key becomes a curve; missing keys are skipped.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spurious.code_reasoning import CODE_RULES, is_code_reasoning
from spurious.io import InputError, iter_jsonl
from spurious.run_files import METRICS_FILE, read_metrics

SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
RUN_EVAL_DIR = "eval"  # where `spurious eval` of a run's checkpoints writes step-<N>/ folders and curve.json
CURVE_FILE = "curve.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")
RULE_FIELDS = {"python": "code", "fenced": "code_fenced"}


@dataclass
class Sample:
    """One graded response, reduced to what the analyses need."""

    benchmark: str
    problem_id: str
    sample_index: int
    correct: bool
    code: dict[str, bool]  # rule name -> flag
    length: float | None = None


@dataclass
class EvalResult:
    name: str
    path: Path
    samples: list[Sample]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def provenance(self) -> dict[str, Any]:
        prov = self.summary.get("provenance")
        return prov if isinstance(prov, dict) else {}

    @property
    def benchmarks(self) -> list[str]:
        return sorted({s.benchmark for s in self.samples})


@dataclass
class RunLog:
    name: str
    path: Path
    rows: list[dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)
    group: str | None = None  # e.g. the arm name when several seeds are averaged
    eval_curves: dict[str, Any] | None = None  # <run>/eval/curve.json, if the checkpoints were evaluated
    eval_steps: list[tuple[int, Path]] = field(default_factory=list)  # (step, <run>/eval/step-<N>) with samples


def _code_flags(obj: dict, path: Path, line: int) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    for rule in CODE_RULES:
        key = RULE_FIELDS[rule]
        if key in obj and obj[key] is not None:
            if not isinstance(obj[key], bool):
                raise InputError(path, line, f"expected bool, got {type(obj[key]).__name__}", field=key)
            flags[rule] = obj[key]
        else:
            if not isinstance(obj.get("response"), str):
                raise InputError(path, line, f"missing (needed to compute '{key}')", field="response")
            flags[rule] = is_code_reasoning(obj["response"], rule)
    return flags


def load_eval(path: str | os.PathLike, name: str | None = None) -> EvalResult:
    """Read an evaluation folder; raises InputError naming file, line and field on bad input."""
    folder = Path(path)
    samples_path = folder / SAMPLES_FILE
    if not samples_path.exists():
        raise InputError(folder, None, f"not an evaluation folder: no {SAMPLES_FILE}")
    samples = []
    for line, obj in iter_jsonl(samples_path, required=("benchmark", "problem_id", "correct"),
                                types={"benchmark": str, "problem_id": (str, int), "correct": bool,
                                       "sample_index": int, "length": (int, float)}):
        samples.append(Sample(benchmark=obj["benchmark"], problem_id=str(obj["problem_id"]),
                              sample_index=int(obj.get("sample_index") or 0), correct=obj["correct"],
                              code=_code_flags(obj, samples_path, line), length=obj.get("length")))
    if not samples:
        raise InputError(samples_path, None, "no samples")
    summary: dict[str, Any] = {}
    summary_path = folder / SUMMARY_FILE
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(summary_path, e.lineno, f"invalid JSON: {e.msg}") from e
        if not isinstance(summary, dict):
            raise InputError(summary_path, None, "expected a JSON object")
    return EvalResult(name=name or folder.resolve().name, path=folder, samples=samples, summary=summary)


def _read_config(folder: Path) -> dict[str, Any]:
    for fname in ("config.json", "config.yaml", "config.yml"):
        p = folder / fname
        if not p.exists():
            continue
        text = p.read_text(encoding="utf-8")
        try:
            if p.suffix == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as e:  # noqa: BLE001 - report any parse error with the file name
            raise InputError(p, getattr(e, "lineno", None), f"cannot parse config: {e}") from e
        return data if isinstance(data, dict) else {}
    return {}


def load_run(path: str | os.PathLike, name: str | None = None, group: str | None = None) -> RunLog:
    """Read a training run folder (``metrics.jsonl`` and optional ``config.json|yaml``)."""
    folder = Path(path)
    metrics_path = folder / METRICS_FILE
    if not metrics_path.exists():
        raise InputError(folder, None, f"not a training run folder: no {METRICS_FILE}")
    rows = read_metrics(folder)
    if not rows:
        raise InputError(metrics_path, None, "no metric lines")
    curves_path = folder / RUN_EVAL_DIR / CURVE_FILE
    curves = None
    if curves_path.exists():
        try:
            curves = json.loads(curves_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(curves_path, e.lineno, f"invalid JSON: {e.msg}") from e
        if not isinstance(curves, dict) or not isinstance(curves.get("curves"), dict):
            raise InputError(curves_path, None, "missing", field="curves")
    return RunLog(name=name or folder.resolve().name, path=folder, rows=rows, config=_read_config(folder),
                  group=group, eval_curves=curves, eval_steps=run_eval_steps(folder))


def eval_step_folders(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, folder)`` of each ``<folder>/step-<N>/`` holding a samples.jsonl (what ``spurious eval --run``
    writes), by step."""
    base = Path(folder)
    if not base.is_dir():
        return []
    found = [(int(m.group(1)), d) for d in base.iterdir()
             if d.is_dir() and (m := _STEP_DIR.match(d.name)) and (d / SAMPLES_FILE).exists()]
    return sorted(found)


def run_eval_steps(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, folder)`` of each evaluated checkpoint ``<run>/eval/step-<N>/samples.jsonl``, by step."""
    return eval_step_folders(Path(run_dir) / RUN_EVAL_DIR)


def steps_label(folder: str | os.PathLike) -> str:
    """The name that labels the step evaluations of an ``eval --run`` folder: the run's name for
    ``<run>/eval``, else the folder's own name."""
    f = Path(folder).resolve()
    return f.parent.name if f.name == RUN_EVAL_DIR else f.name


def detect_kind(path: str | os.PathLike) -> str:
    """``"run"`` for a folder with metrics.jsonl, ``"eval"`` for one with samples.jsonl, ``"eval-steps"`` for
    the folder ``spurious eval --run`` writes (``step-<N>/samples.jsonl`` per checkpoint, ``curve.json``)."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(folder, None, "not a folder" if folder.exists() else "folder not found")
    if (folder / METRICS_FILE).exists():
        return "run"
    if (folder / SAMPLES_FILE).exists():
        return "eval"
    if eval_step_folders(folder):
        return "eval-steps"
    raise InputError(folder, None, f"neither a training run ({METRICS_FILE}) nor an evaluation ({SAMPLES_FILE}, "
                                   f"or step-<N>/{SAMPLES_FILE} as eval --run writes)")
