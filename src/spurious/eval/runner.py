"""Benchmark evaluation with the paper's protocol (arXiv 2506.10947; docs/paper.md §5), resumable and fully recorded.

Defaults (docs/paper.md §5.1): MATH-500 greedy pass@1; AMC23, AIME24 and AIME25 avg@8 at T = 0.6, top_p 1.0 (pass@8
reported too); at most 3,072 new tokens; the Qwen2.5-Math chat template. Any other dataset (a JSONL path or a
registered name) defaults to greedy, one sample. ``samples``/``temperature``/``top_p`` override every benchmark.

Output folder::

    samples.jsonl   one record per sample (see spurious.eval.records), appended per batch
    summary.json    per-benchmark metrics + provenance (model, template, sampling, grader, seeds, versions, ...)

Re-running with the same folder skips finished samples. Generation settings are fingerprinted per benchmark;
a different fingerprint raises :class:`~spurious.eval.store.SettingsMismatch`. ``limit`` and ``samples`` are
not part of the fingerprint: raising either reuses what exists and only generates the rest. Changing the
grader does not regenerate: stored responses are regraded.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spurious.console import wide_console
from spurious.data import Problem, Template, get_template, load_problems
from spurious.errors import UsageError, check_choice, check_positive
from spurious.eval.backends import SamplingSettings, TransformersBackend, combine_seeds
from spurious.eval.records import summarize_records
from spurious.grading import canonical_answer
from spurious.measure import grade_rollouts, measure_rollouts
from spurious.errors import UsageError, check_choice, check_positive
from spurious.eval.store import SampleStore
from spurious.grading import GRADERS, box_only_format, canonical_answer, grade_many
from spurious.io import InputError, finite_json, write_json
from spurious.provenance import provenance
from spurious.rollout import Rollout

DEFAULT_BENCHMARKS = ("math500", "amc23", "aime24", "aime25")
PAPER_MAX_NEW_TOKENS = 3072


@dataclass(frozen=True)
class Protocol:
    """Samples per problem and decoding temperature / nucleus for one benchmark."""

    samples: int
    temperature: float
    top_p: float = 1.0

    @property
    def headline(self) -> str:
        """The paper's name for the main number: pass@1 for greedy single samples, else avg@k."""
        return "pass@1" if self.samples == 1 else f"avg@{self.samples}"


PAPER_PROTOCOL: dict[str, Protocol] = {
    "math500": Protocol(1, 0.0),
    "amc23": Protocol(8, 0.6),
    "aime24": Protocol(8, 0.6),
    "aime25": Protocol(8, 0.6),
}
DEFAULT_PROTOCOL = Protocol(1, 0.0)


def protocol_for(benchmark: str, samples: int | None = None, temperature: float | None = None,
                 top_p: float | None = None) -> Protocol:
    """The paper's protocol for ``benchmark`` with any override applied."""
    base = PAPER_PROTOCOL.get(benchmark, DEFAULT_PROTOCOL)
    p = Protocol(samples if samples is not None else base.samples,
                 temperature if temperature is not None else base.temperature,
                 top_p if top_p is not None else base.top_p)
    if p.samples < 1:
        raise UsageError(f"must be >= 1, got {p.samples}", option="--samples")
    if not p.temperature >= 0:
        raise UsageError(f"must be >= 0, got {p.temperature}", option="--temperature")
    if not 0 < p.top_p <= 1:
        raise UsageError(f"must be in (0, 1], got {p.top_p}", option="--top-p")
    return p


def settings_fingerprint(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def template_description(t: Template) -> dict[str, Any]:
    return {"name": t.name, "system": t.system, "user": t.user, "text": t.text,
            "assistant_prefix": t.assistant_prefix, "stop": list(t.stop), "r1_style": t.r1_style}


def as_backend(model_or_backend: Any, tokenizer: Any = None, batch_size: int = 16):
    """A backend as is, or a :class:`TransformersBackend` around a (model, tokenizer) pair."""
    if hasattr(model_or_backend, "generate") and hasattr(model_or_backend, "describe"):
        return model_or_backend
    if tokenizer is None:
        raise ValueError("a tokenizer is needed when a model (not a backend) is given")
    return TransformersBackend(model_or_backend, tokenizer, batch_size=batch_size)


def grade_rows(rows: list[dict[str, Any]], grader: str, r1_style: bool, timeout: float,
               workers: int | None) -> None:
    """Regrade stored rows in place (``extracted``/``correct``/``status``/``grader``), e.g. for a new grader."""
    rollouts = [Rollout.from_row(r) for r in rows]
    grade_rollouts(rollouts, grader=grader, extract="r1" if r1_style else None, timeout=timeout, workers=workers)
    for row, r in zip(rows, rollouts):
        row.update(extracted=r.extracted, correct=r.correct, status=r.status, grader=grader)


def _check_unique(problems: Sequence[Problem], benchmark: str) -> None:
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise InputError(benchmark, None, f"problem id {p.id!r} occurs twice; ids key the resumable samples file")
        seen.add(p.id)


def prepare(benchmarks: Sequence[str], *, template: str | Template = "qwen-math", grader: str = "default",
            max_new_tokens: int = PAPER_MAX_NEW_TOKENS, limit: int | None = None, samples: int | None = None,
            temperature: float | None = None, top_p: float | None = None
            ) -> tuple[Template, dict[str, list[Problem]]]:
    """Check every setting and load every benchmark before anything is generated: the template and, per
    benchmark, its problems. Raises :class:`~spurious.errors.SpuriousError` (one line) on any bad value,
    unknown name, missing or malformed file, or a benchmark without problems. ``limit`` must be >= 1."""
    if not benchmarks:
        raise UsageError("no benchmark given", option="--benchmarks")
    check_choice(grader, GRADERS, "--grader", "grader")
    check_positive(max_new_tokens=max_new_tokens)
    if limit is not None and limit < 1:
        raise UsageError(f"must be >= 1, got {limit} (leave it out to evaluate every problem)", option="--limit")
    tmpl = get_template(template) if isinstance(template, str) else template
    loaded: dict[str, list[Problem]] = {}
    for bench in dict.fromkeys(benchmarks):
        protocol_for(bench, samples, temperature, top_p)
        problems = load_problems(bench, limit=limit)
        if not problems:
            raise InputError(bench, None, "no problems (an empty benchmark)")
        _check_unique(problems, bench)
        loaded[bench] = problems
    return tmpl, loaded


def progress_bar(show: bool):
    """A rich progress bar for sampling (description, count, rate, times); disabled when ``show`` is False."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    disable=not show)


def evaluate(model_or_backend: Any, benchmarks: Sequence[str] = DEFAULT_BENCHMARKS, *, tokenizer: Any = None,
             template: str | Template = "qwen-math", samples: int | None = None, temperature: float | None = None,
             top_p: float | None = None, max_new_tokens: int = PAPER_MAX_NEW_TOKENS, limit: int | None = None,
             grader: str = "default", out_dir: str | os.PathLike = "eval/run", batch_size: int = 16,
             chunk_size: int | None = None, seed: int = 0, model_name: str | None = None, show: bool = True,
             grade_timeout: float = 5.0, grade_workers: int | None = None,
             extra_provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a model (or backend) on ``benchmarks``; returns the summary written to ``out_dir/summary.json``.

    ``chunk_size`` is how many samples are generated and appended between checkpoints to disk (default: the
    backend's batch size, else 256). Each sample's seed is derived from (seed, benchmark, problem id, sample
    index) and recorded; the vLLM backend seeds each request with it, so a sample does not depend on its
    batch-mates, while the transformers backend seeds each batch from its samples' seeds (same batches, same
    samples; see :mod:`spurious.eval.backends`).
    """
    tmpl, loaded = prepare(benchmarks, template=template, grader=grader, max_new_tokens=max_new_tokens,
                           limit=limit, samples=samples, temperature=temperature, top_p=top_p)
    backend = as_backend(model_or_backend, tokenizer, batch_size)
    out = Path(out_dir)
    store = SampleStore(out / "samples.jsonl")
    chunk = chunk_size or getattr(backend, "batch_size", None) or 256
    model_id = model_name or backend.describe().get("model") or backend.describe().get("architecture", "model")

    # regrade stored rows made with another grader (responses are kept; grading is cheap to redo)
    stale = [r for r in store.rows.values() if r.get("grader") != grader]
    if stale:
        grade_rows(stale, grader, tmpl.r1_style, grade_timeout, grade_workers)
        store.rewrite()

    summaries: dict[str, Any] = {}
    for bench, problems in loaded.items():
        proto = protocol_for(bench, samples, temperature, top_p)
        settings = SamplingSettings(temperature=proto.temperature, top_p=proto.top_p,
                                    max_new_tokens=max_new_tokens, stop=tmpl.stop)
        gen_config = {"model": model_id, "template": template_description(tmpl), "backend": backend.name,
                      "seed": None if settings.greedy else seed, **settings.to_dict()}  # greedy ignores the seed
        fp = settings_fingerprint(gen_config)
        store.check_fingerprint(bench, fp, gen_config)

        prompts = {p.id: tmpl.render(p.problem, backend.tokenizer) for p in problems}
        todo = [(p, j) for p in problems for j in range(proto.samples) if (bench, p.id, j) not in store]
        todo.sort(key=lambda pj: len(prompts[pj[0].id]), reverse=True)  # long first: less padding, OOM early
        t_start = time.perf_counter()
        with progress_bar(show) as bar:
            task = bar.add_task(f"{bench} {proto.headline}", total=len(todo), rate="")
            tokens, gen_time = 0, 0.0
            for start in range(0, len(todo), chunk):
                part = todo[start:start + chunk]
                seeds = [combine_seeds(seed, bench, p.id, j) for p, j in part]
                t0 = time.perf_counter()
                gens = backend.generate([prompts[p.id] for p, _ in part], settings, seeds=seeds,
                                        add_special_tokens=not tmpl.is_chat)
                dt = time.perf_counter() - t0
                rollouts = [Rollout(prompt=prompts[p.id], response=g.text, answer=p.answer, problem_id=p.id,
                                    benchmark=bench, sample_index=j, length=g.n_tokens, truncated=g.truncated,
                                    extra={"seed": s, "gen_seconds": dt / len(part), "grader": grader,
                                           "fingerprint": fp})
                            for (p, j), s, g in zip(part, seeds, gens)]
                measure_rollouts(rollouts, grader=grader, extract="r1" if tmpl.r1_style else None,
                                 timeout=grade_timeout, workers=grade_workers)
                rows = [r.to_row() for r in rollouts]
                store.append(rows)
                tokens += sum(g.n_tokens for g in gens)
                gen_time += dt
                bar.update(task, advance=len(part), rate=f"{tokens / gen_time:,.0f} tok/s" if gen_time else "")
        summary = summarize_records(store.for_benchmark(bench), [p.id for p in problems], proto.samples,
                                    canonical_answer)
        summaries[bench] = {
            "benchmark": bench, "headline": proto.headline, "score": summary["avg_at_k"],
            **summary, "newly_generated": len(todo), "wall_seconds": time.perf_counter() - t_start,
            "sampling": {**settings.to_dict(), "samples": proto.samples}, "fingerprint": fp,
        }

    result = {
        "model": model_id,
        "template": tmpl.name,
        "benchmarks": summaries,
        "provenance": provenance(
            model=model_id, template=template_description(tmpl), grader=grader, seed=seed,
            max_new_tokens=max_new_tokens, limit=limit, backend=backend.describe(),
            overrides={"samples": samples, "temperature": temperature, "top_p": top_p},
            **(extra_provenance or {}),
        ),
    }
    result = finite_json(result)  # NaN (a rate over no responses) is written and returned as None
    write_json(out / "summary.json", result)
    if show:
        print_summary_table(result)
    return result


def _pct(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _short(name: str) -> str:
    return Path(name).stem if ("/" in name or name.endswith(".jsonl")) else name


def print_summary_table(result: dict[str, Any], console: Any = None) -> None:
    """A rich table of every benchmark in ``result``: one column per benchmark, one row per metric."""
    from rich.table import Table

    benches = result["benchmarks"]
    t = Table(title=f"{result['model']} | template {result['template']} | grader {result['provenance'].get('grader')}")
    t.add_column("metric")
    for b in benches:
        t.add_column(_short(b), justify="right")

    def row(label: str, fmt) -> None:
        t.add_row(label, *[fmt(s) for s in benches.values()])

    row("headline", lambda s: f"{s['headline']} {_pct(s['score'])}")
    row("pass@k raw / unbiased",
        lambda s: f"@{s['samples']} {_pct(s['pass_at_k_raw'])} / {_pct(s['pass_at_k_unbiased'])}")
    row("maj@k", lambda s: _pct(s["maj_at_k"]))
    row("code % (fenced %)", lambda s: f"{_pct(s['code_frequency'])} ({_pct(s['code_frequency_fenced'])})")
    row("acc. code / language", lambda s: f"{_pct(s['accuracy_with_code'])} / {_pct(s['accuracy_with_language'])}")
    row("format % / boxed %", lambda s: f"{_pct(s['format_rate'])} / {_pct(s['boxed_rate'])}")
    row("parsable %", lambda s: _pct(s["parsable_rate"]))
    row("truncated %", lambda s: _pct(s["truncation_rate"]))
    row("mean length (tokens)", lambda s: "-" if s["mean_length"] is None else f"{s['mean_length']:.0f}")
    row("tokens/s", lambda s: "-" if s["tokens_per_second"] is None or math.isnan(s["tokens_per_second"])
        else f"{s['tokens_per_second']:,.0f}")
    row("problems x samples", lambda s: f"{s['n_problems']} x {s['samples']}")
    (console or wide_console()).print(t)
