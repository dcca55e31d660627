"""Load evaluation folders (``samples.jsonl`` + ``summary.json``) and training runs (``metrics.jsonl`` and
``rollouts/step_XXXXX.jsonl.gz``).

Evaluation samples and training rollouts are rows of one schema (:class:`spurious.rollout.Rollout`), read by one
function, :func:`load_samples`: a row needs ``problem_id`` and ``correct`` (and ``benchmark``, which training
rollouts hold as ``"train"``); the code-reasoning flags ``code`` (the paper's ``python`` rule) and
``code_fenced`` are computed from ``response`` when absent. :func:`load_rollouts` reads one training phase's
rollouts as an :class:`EvalResult`, so Table 1 and the transition buckets work on a training run alone.
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
from spurious.rollout import CODE_FIELDS, Rollout
from spurious.run_files import METRICS_FILE, read_metrics

SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
RUN_EVAL_DIR = "eval"  # where `spurious eval` of a run's checkpoints writes step-<N>/ folders and curve.json
CURVE_FILE = "curve.json"
ROLLOUT_DIR = "rollouts"
_STEP_DIR = re.compile(r"^step-(\d+)$")
_ROLLOUT_FILE = re.compile(r"^step_(\d+)\.jsonl\.gz$")


@dataclass
class EvalResult:
    """Graded samples of one evaluation, or of one training phase (``load_rollouts``)."""

    name: str
    path: Path
    samples: list[Rollout]
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
    rollout_files: list[tuple[int, Path]] = field(default_factory=list)  # (phase, <run>/rollouts/step_<N>.jsonl.gz)


def _with_code_flags(obj: dict, path: Path, line: int) -> dict:
    """``obj`` with both code-reasoning flags, computed from ``response`` where a row lacks one."""
    for rule in CODE_RULES:
        key = CODE_FIELDS[rule]
        if key in obj and obj[key] is not None:
            if not isinstance(obj[key], bool):
                raise InputError(path, line, f"expected bool, got {type(obj[key]).__name__}", field=key)
        else:
            if not isinstance(obj.get("response"), str):
                raise InputError(path, line, f"missing (needed to compute '{key}')", field="response")
            obj = {**obj, key: is_code_reasoning(obj["response"], rule)}
    return obj


def load_samples(path: str | os.PathLike, *, allow_ungraded: bool = False) -> list[Rollout]:
    """The rows of a ``samples.jsonl`` or ``rollouts/step_XXXXX.jsonl.gz`` file as :class:`Rollout` records;
    raises InputError naming file, line and field on bad input. ``allow_ungraded`` skips rows whose ``correct``
    is null (training rollouts of a run with ``track_accuracy`` off) instead of refusing them."""
    p = Path(path)
    out = []
    correct_type = (bool, type(None)) if allow_ungraded else bool
    for line, obj in iter_jsonl(p, required=("benchmark", "problem_id", "correct"),
                                types={"benchmark": str, "problem_id": (str, int), "correct": correct_type,
                                       "sample_index": int, "length": (int, float), "phase": (int, type(None))}):
        if obj["correct"] is None:
            continue
        obj = _with_code_flags(obj, p, line)
        out.append(Rollout.from_row({**obj, "problem_id": str(obj["problem_id"]),
                                     "sample_index": int(obj.get("sample_index") or 0),
                                     "prompt": obj.get("prompt") or "", "response": obj.get("response") or ""}))
    return out


def load_eval(path: str | os.PathLike, name: str | None = None) -> EvalResult:
    """Read an evaluation folder; raises InputError naming file, line and field on bad input."""
    folder = Path(path)
    samples_path = folder / SAMPLES_FILE
    if not samples_path.exists():
        raise InputError(folder, None, f"not an evaluation folder: no {SAMPLES_FILE}")
    samples = load_samples(samples_path)
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


def rollout_phases(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(phase, file)`` of each ``<run>/rollouts/step_XXXXX.jsonl.gz`` the run wrote, by phase."""
    base = Path(run_dir) / ROLLOUT_DIR
    if not base.is_dir():
        return []
    return sorted((int(m.group(1)), f) for f in base.iterdir() if (m := _ROLLOUT_FILE.match(f.name)))


def load_rollouts(run_dir: str | os.PathLike, phase: int, name: str | None = None) -> EvalResult:
    """One training phase's rollouts (graded against the dataset's answers) as an :class:`EvalResult` named
    ``<run>@phase<N>`` (1-based, as people count phases)."""
    files = dict(rollout_phases(run_dir))
    if phase not in files:
        raise InputError(Path(run_dir) / ROLLOUT_DIR, None, f"no rollouts of phase {phase + 1} "
                                                            f"(logged phases: {[p + 1 for p in sorted(files)]})")
    samples = load_samples(files[phase], allow_ungraded=True)
    if not samples:
        raise InputError(files[phase], None, "no graded rollouts (the run was trained with track_accuracy off)")
    label = name or Path(run_dir).resolve().name
    return EvalResult(name=f"{label}@phase{phase + 1}", path=files[phase], samples=samples)


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
                  group=group, eval_curves=curves, eval_steps=run_eval_steps(folder),
                  rollout_files=rollout_phases(folder))


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
