"""Offline majority-vote labelling, and the incorrect-label set (arXiv 2506.10947; docs/paper.md §2.3, §2.6).

The official pipeline (docs/paper.md §2.3): sample k = 64 responses per training problem from the model being trained
at T = 1.0, top_p 1.0, no top_k, at most 3,072 new tokens, with the RAW problem text as the prompt (template
``none``: no chat template, no instruction); extract each answer; the label is the most frequent extracted
answer, fixed for the whole run. Empty extractions are dropped before voting; ties go to the answer seen first.

Weakness W4 (docs/paper.md §6.4): when no response yields an answer the label is the empty string, and an empty label
rewards answer-less responses under the official grader. That is kept by default for parity; ``drop_empty``
removes such problems from the written file.

Incorrect labels (§2.6): ``incorrect_only`` keeps only problems whose majority label is graded NOT equivalent to
the ground truth; training with the ground-truth reward against those labels is the paper's "incorrect" reward.
Empty labels count as incorrect (as in the official sets, 4 of whose 100 shipped test rows are empty).

Voting buckets answers by the grading package's ``canonical_answer`` (so ``1/2`` and ``\\frac{1}{2}`` vote
together); the label written is the first-seen raw extraction of the winning bucket. The official scripts vote
on the extracted strings as the official parser returns them - use ``grader="official"`` for that extractor.

Files written for ``out = labels.jsonl``:

* ``labels.votes.jsonl`` - one line per problem as it finishes (resumable: finished problems are skipped),
  with every extracted answer, the vote and agreement with the ground truth;
* ``labels.jsonl`` - the labelled dataset (``id, problem, answer`` = MV label, ``gt_answer``, ``vote_share``,
  ``n_valid``, ``mv_correct``, plus ``level`` when present), filtered by ``incorrect_only`` / ``drop_empty``;
* ``labels.meta.json`` - summary (agreement with the ground truth, empty labels, ...) and provenance.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spurious.data.datasets import load_problems
from spurious.data.problems import Problem
from spurious.data.templates import Template, get_template
from spurious.errors import UsageError
from spurious.eval.backends import SamplingSettings, combine_seeds
from spurious.eval.metrics import mean
from spurious.eval.runner import progress_bar, settings_fingerprint, template_description
from spurious.eval.store import SampleStore
from spurious.grading import answers_equivalent, canonical_answer, grade_many
from spurious.io import write_json, write_jsonl
from spurious.provenance import provenance
from spurious.voting import majority_vote

PAPER_LABEL_SAMPLES = 64
PAPER_LABEL_TEMPERATURE = 1.0
PAPER_LABEL_MAX_NEW_TOKENS = 3072


@dataclass(frozen=True)
class Vote:
    """Outcome of one majority vote. ``vote_share`` = winning votes / non-empty answers (0 when none)."""

    label: str
    votes: int
    n_valid: int
    n_samples: int

    @property
    def vote_share(self) -> float:
        return self.votes / self.n_valid if self.n_valid else 0.0


def vote(answers: Sequence[str], key=None) -> Vote:
    """Majority vote over extracted answers: empty ones dropped, ties to the first seen, "" if none is left."""
    idx, votes = majority_vote(answers, key)
    n_valid = sum(1 for a in answers if a and str(a).strip())
    return Vote("" if idx is None else str(answers[idx]), votes, n_valid, len(answers))


def select_problems(dataset: str, *, level: int | None = None, limit: int | None = None) -> list[Problem]:
    """Problems of ``dataset``, optionally only one DeepScaleR ``level``, then the first ``limit``."""
    problems = load_problems(dataset, limit=None if level is not None else limit)
    if level is not None:
        if not any("level" in p.meta for p in problems):
            raise UsageError(f"{dataset}: --level given but its rows have no 'level' field")
        problems = [p for p in problems if p.meta.get("level") == level]
        if not problems:
            raise UsageError(f"{dataset}: no problem has level {level}")
        problems = problems[:limit] if limit is not None else problems
    return problems


def label_problems(backend: Any, problems: Sequence[Problem], out: str | os.PathLike, *, dataset: str = "dataset",
                   samples: int = PAPER_LABEL_SAMPLES, temperature: float = PAPER_LABEL_TEMPERATURE,
                   top_p: float = 1.0, max_new_tokens: int = PAPER_LABEL_MAX_NEW_TOKENS,
                   template: str | Template = "none", grader: str = "default", incorrect_only: bool = False,
                   drop_empty: bool = False, seed: int = 0, chunk_size: int | None = None,
                   model_name: str | None = None, show: bool = True, grade_timeout: float = 5.0,
                   grade_workers: int | None = None) -> dict[str, Any]:
    """Label ``problems`` by majority vote of ``samples`` responses each; write the three files; return the summary.

    ``chunk_size``: samples generated per backend call (rounded to whole problems; default: the backend's batch
    size, else 256). A problem's record is appended once all its samples are graded.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    tmpl = get_template(template) if isinstance(template, str) else template
    out = Path(out)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    votes_path = out.with_name(stem + ".votes.jsonl")
    meta_path = out.with_name(stem + ".meta.json")
    store = SampleStore(votes_path)
    desc = backend.describe()
    model_id = model_name or desc.get("model") or desc.get("architecture", "model")
    settings = SamplingSettings(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, stop=tmpl.stop)
    gen_config = {"model": model_id, "template": template_description(tmpl), "backend": backend.name,
                  "seed": seed, "samples": samples, "grader": grader, **settings.to_dict()}
    fp = settings_fingerprint(gen_config)
    store.check_fingerprint(dataset, fp, gen_config)

    per_call = max(1, (chunk_size or getattr(backend, "batch_size", None) or 256) // samples)
    todo = [p for p in problems if (dataset, p.id, 0) not in store]
    t_start = time.perf_counter()
    with progress_bar(show) as bar:
        task = bar.add_task(f"label {dataset} x{samples}", total=len(todo), rate="")
        for start in range(0, len(todo), per_call):
            part = todo[start:start + per_call]
            prompts = [tmpl.render(p.problem, backend.tokenizer) for p in part for _ in range(samples)]
            seeds = [combine_seeds(seed, dataset, p.id, j) for p in part for j in range(samples)]
            t0 = time.perf_counter()
            gens = backend.generate(prompts, settings, seeds=seeds, add_special_tokens=not tmpl.is_chat)
            dt = time.perf_counter() - t0
            golds = [p.answer for p in part for _ in range(samples)]
            grades = grade_many([g.text for g in gens], golds, grader=grader, extract="r1" if tmpl.r1_style else None,
                                timeout=grade_timeout, workers=grade_workers)
            rows = []
            for i, p in enumerate(part):
                gs, gr = gens[i * samples:(i + 1) * samples], grades[i * samples:(i + 1) * samples]
                answers = [g.extracted or "" for g in gr]
                v = vote(answers, canonical_answer)
                rows.append({
                    "benchmark": dataset, "problem_id": p.id, "sample_index": 0, "fingerprint": fp,
                    "problem": p.problem, "gt_answer": p.answer, "level": p.meta.get("level"),
                    "label": v.label, "votes": v.votes, "vote_share": v.vote_share, "n_valid": v.n_valid,
                    "n_samples": v.n_samples,
                    "mv_correct": bool(v.label) and bool(answers_equivalent(p.answer, v.label, grader=grader)),
                    "sample_accuracy": mean([1.0 if g.correct else 0.0 for g in gr]),
                    "truncated": sum(1 for g in gs if g.truncated), "tokens": sum(g.n_tokens for g in gs),
                    "gen_seconds": dt / len(part), "answers": answers,
                })
            store.append(rows)
            bar.update(task, advance=len(part))

    records = [store.rows[(dataset, p.id, 0)] for p in problems]
    kept = [r for r in records if not (incorrect_only and r["mv_correct"]) and not (drop_empty and not r["label"])]
    write_jsonl(out, ({"id": r["problem_id"], "problem": r["problem"], "answer": r["label"],
                       "gt_answer": r["gt_answer"], "vote_share": r["vote_share"], "n_valid": r["n_valid"],
                       "mv_correct": r["mv_correct"], **({"level": r["level"]} if r.get("level") is not None else {})}
                      for r in kept))
    tokens = sum(r["tokens"] for r in records)
    gen_seconds = math.fsum(r["gen_seconds"] for r in records)
    summary = {
        "dataset": dataset,
        "n_problems": len(records),
        "n_written": len(kept),
        "agreement_with_ground_truth": mean([1.0 if r["mv_correct"] else 0.0 for r in records]),
        "n_incorrect_labels": sum(1 for r in records if not r["mv_correct"]),
        "n_empty_labels": sum(1 for r in records if not r["label"]),
        "mean_vote_share": mean([r["vote_share"] for r in records]),
        "mean_valid_answers": mean([r["n_valid"] for r in records]),
        "sample_accuracy": mean([r["sample_accuracy"] for r in records]),
        "truncation_rate": sum(r["truncated"] for r in records) / (samples * len(records)) if records else math.nan,
        "generated_tokens": tokens,
        "tokens_per_second": tokens / gen_seconds if gen_seconds > 0 else math.nan,
        "wall_seconds": time.perf_counter() - t_start,
        "incorrect_only": incorrect_only,
        "drop_empty": drop_empty,
        "files": {"labels": str(out), "votes": str(votes_path)},
    }
    write_json(meta_path, {"summary": summary, "provenance": provenance(
        model=model_id, dataset=dataset, template=template_description(tmpl), grader=grader, seed=seed,
        samples=samples, sampling=settings.to_dict(), backend=desc, fingerprint=fp)})
    return summary
