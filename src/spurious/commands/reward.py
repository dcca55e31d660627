"""``spurious reward``: score a JSONL file of responses with any reward, expression or user reward."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from spurious.assignments import parse_assignment
from spurious.io import summary_path

_INT_FIELDS = ("step", "prompt_index", "sample_index")


def read_samples(path: Path, reward) -> tuple[list[dict], list]:
    """Rows of ``path`` and their :class:`Sample` s; bad rows raise InputError naming file, line and field."""
    from spurious.io import InputError, iter_jsonl
    from spurious.rewards import Sample
    from spurious.rollout import rollout_keys

    required = ["response"] + (["answer"] if reward.needs_label else []) + (["group"] if reward.group_level else [])
    types = {"response": str, "prompt": str, "answer": (str, int, float), "group": (str, int),
             **{f: int for f in _INT_FIELDS}}
    rows, keys = [], []
    for lineno, row in iter_jsonl(path, required=required, types=types, not_null=("response",)):
        answer = row.get("answer")
        if reward.needs_label and answer is None:
            raise InputError(path, lineno, f"is null, but reward {reward.name!r} needs a label", field="answer")
        if reward.group_level and row.get("group") is None:
            raise InputError(path, lineno, f"is null, but reward {reward.name!r} scores whole groups", field="group")
        # The draw's identity (spurious.rollout.rollout_keys), for the random reward: the prompt is keyed by its
        # prompt_index, else its group, else its text, else its line; explicit sample_index wins.
        keys.append(next((row[k] for k in ("prompt_index", "group", "prompt") if row.get(k) is not None),
                         ("line", lineno)))
        rows.append(row)
    samples = []
    for row, (prompt_index, occurrence) in zip(rows, rollout_keys(keys)):
        answer = row.get("answer")
        if isinstance(answer, float) and answer.is_integer():
            answer = str(answer)  # keep "142.0" as written; graders accept it
        samples.append(Sample(
            prompt=row.get("prompt") or "", response=row["response"],
            answer=None if answer is None else str(answer), group=row.get("group"),
            step=row.get("step") or 0, prompt_index=prompt_index,
            sample_index=row["sample_index"] if row.get("sample_index") is not None else occurrence,
        ))
    return rows, samples


def score_in_chunks(reward, samples: list, chunk_size: int = 256, progress: bool = True) -> list[float]:
    """Score ``samples`` chunk by chunk (whole groups per chunk for group-level rewards), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from spurious.rewards.base import group_positions

    units = list(group_positions(samples).values()) if reward.group_level else [[i] for i in range(len(samples))]
    chunks: list[list[int]] = [[]]
    for unit in units:
        if len(chunks[-1]) >= chunk_size:
            chunks.append([])
        chunks[-1].extend(unit)
    out = [0.0] * len(samples)
    with Progress(TextColumn(f"reward {reward.name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("score", total=len(samples))
        for chunk in chunks:
            for i, v in zip(chunk, reward([samples[i] for i in chunk])):
                out[i] = v
            bar.advance(task, len(chunk))
    return out


def reward_command(
    spec: Optional[str] = typer.Argument(None, metavar="NAME_OR_EXPR",
                                         help="Reward name, alias, official key, expression "
                                              "('format & !python') or import path 'pkg.mod:func'."),
    input: Optional[Path] = typer.Argument(None, metavar="INPUT.jsonl",
                                           help="One JSON object per line: response; answer if the reward "
                                                "needs a label; group if group-level; optional prompt, step, "
                                                "prompt_index, sample_index."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output JSONL: input rows + 'reward'."),
    gamma: Optional[float] = typer.Option(None, help="Probability of reward 1 for random parts."),
    seed: Optional[int] = typer.Option(None, help="Seed of random parts (draws keyed by seed/step/prompt/sample)."),
    grader: Optional[str] = typer.Option(None, help="Grader of label-based parts: default or official."),
    param: list[str] = typer.Option([], "--param", "-p", help="Extra reward parameter key=value (repeatable)."),
    chunk_size: int = typer.Option(256, help="Samples scored per call (whole groups for group-level rewards)."),
    list_: bool = typer.Option(False, "--list", help="List the registered rewards and exit."),
) -> None:
    """Score responses with a reward (or reward expression) and write each row's 'reward'."""
    from spurious.console import wide_console
    from spurious.errors import SpuriousError, UsageError, warn
    from spurious.io import InputError, check_output, write_json, write_jsonl
    from spurious.provenance import provenance
    from spurious.rewards import get_reward, list_rewards

    console = wide_console(stderr=True)
    if list_:
        from rich.table import Table

        table = Table("reward", "description", title="rewards (combine with & | ! + * and parentheses)")
        for name, desc in list_rewards().items():
            table.add_row(name, desc)
        wide_console().print(table)
        return
    if spec is None or input is None or output is None:
        raise UsageError("give NAME_OR_EXPR, INPUT.jsonl and -o OUT.jsonl (or --list)")
    params = dict(parse_assignment(p, option="--param") for p in param)
    for key, value in (("gamma", gamma), ("grader", grader)):
        if value is not None:
            params[key] = value
    try:
        reward = get_reward(spec, **params)
    except SpuriousError:
        raise
    except ValueError as e:  # the reward registry's own checks (unknown name, parameters)
        raise UsageError(str(e) if "reward" in str(e) else f"reward {spec!r}: {e}") from e
    if seed is not None:
        reward = reward.with_seed(seed)

    check_output(output)
    rows, samples = read_samples(input, reward)
    if not rows:
        warn(f"{input}: no rows to score; writing an empty output")
    values = score_in_chunks(reward, samples, chunk_size=max(1, chunk_size))
    try:
        write_jsonl(output, ({**row, "reward": v} for row, v in zip(rows, values)))
    except OSError as e:
        raise InputError(output, None, f"cannot write: {e.strerror or e}") from e
    mean = sum(values) / len(values) if values else float("nan")
    summary = {
        "reward": spec, "name": reward.name, "reward_repr": repr(reward), "params": params, "seed": seed,
        "input": str(input), "output": str(output), "count": len(values),
        "mean": mean if values else None, "nonzero": sum(v != 0 for v in values),
        "provenance": provenance(reward=spec, params=params, seed=seed, grader=grader),
    }
    write_json(summary_path(output), summary)
    shown = f"{mean:.4f}" if values else "n/a"
    console.print(f"reward [bold]{reward.name}[/]: mean {shown} over {len(values)} samples -> {output}")


def register(app: typer.Typer) -> None:
    app.command("reward")(reward_command)
