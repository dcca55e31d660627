"""What a run leaves behind: ``metrics.jsonl``, ``rollouts/step_XXXXX.jsonl.gz``, and the live progress display.

``metrics.jsonl`` holds two kinds of lines (field ``kind``): ``"step"`` after every optimizer step and
``"phase"`` after the last optimizer step of every rollout phase. Key names are documented in
docs/training.md. On resume, :meth:`RunRecorder.truncate_to` drops every line and rollout file written
after the checkpoint, so the resumed run appends without duplicates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from spurious.io import append_jsonl, atomic_open, write_jsonl
from spurious.run_files import read_metrics


class RunRecorder:
    """Writes a run's records (main process only) and drives the optional rich progress display."""

    def __init__(self, run_dir: Path, *, total_phases: int, progress: bool = True, enabled: bool = True):
        self.run_dir = Path(run_dir)
        self.metrics_path = self.run_dir / "metrics.jsonl"
        self.rollout_dir = self.run_dir / "rollouts"
        self.enabled = enabled
        self.total_phases = total_phases
        self._progress = None
        self._task = None
        self._want_progress = progress and enabled

    # ------------------------------------------------------------------ metrics

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            append_jsonl(self.metrics_path, record)

    def write_rollouts(self, phase: int, rows: list[dict[str, Any]]) -> Path | None:
        if not self.enabled:
            return None
        path = self.rollout_dir / f"step_{phase:05d}.jsonl.gz"
        write_jsonl(path, rows)
        return path

    def read(self, kind: str | None = None) -> list[dict[str, Any]]:
        return read_metrics(self.run_dir, kind)

    def truncate_to(self, optimizer_step: int, steps_per_phase: int) -> None:
        """Keep only records up to ``optimizer_step`` (a checkpoint); drop later rollout files."""
        if not self.enabled:
            return
        if self.metrics_path.exists():
            keep = [line for line in self.metrics_path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("optimizer_step", 0) <= optimizer_step]
            with atomic_open(self.metrics_path) as fh:
                fh.write("".join(line + "\n" for line in keep))
        first_redo_phase = optimizer_step // steps_per_phase
        if self.rollout_dir.exists():
            for f in self.rollout_dir.glob("step_*.jsonl.gz"):
                if int(f.name[5:10]) >= first_redo_phase:
                    os.unlink(f)

    # ------------------------------------------------------------------ progress

    def start(self, completed_phases: int = 0) -> None:
        if not self._want_progress:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]phase"), MofNCompleteColumn(), BarColumn(bar_width=20),
                                  TimeElapsedColumn(), TimeRemainingColumn(),
                                  TextColumn("{task.fields[figures]}"), transient=False)
        self._progress.start()
        self._task = self._progress.add_task("train", total=self.total_phases, completed=completed_phases,
                                             figures="generating...")

    def update(self, phase_record: dict[str, Any]) -> None:
        if self._progress is None:
            return
        def f(key, fmt="{:.3f}"):
            v = phase_record.get(key)
            return "-" if v is None else fmt.format(v)
        figures = (f"R {f('reward/mean', '{:.2f}')} acc {f('accuracy', '{:.2f}')} "
                   f"code {f('code_frequency', '{:.2f}')} clip {f('clip/low_frac', '{:.3f}')}/"
                   f"{f('clip/high_frac', '{:.3f}')} pi {f('pi_bar', '{:.2f}')} "
                   f"len {f('response_length/mean', '{:.0f}')}")
        self._progress.update(self._task, completed=phase_record["phase"] + 1, figures=figures)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
