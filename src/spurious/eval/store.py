"""A resumable, append-only ``samples.jsonl``: finished samples are read back and never generated twice.

Rows are keyed by ``(benchmark, problem_id, sample_index)`` and carry the ``fingerprint`` of the generation
settings that produced them. Opening a store with a different fingerprint for a benchmark that already has rows
raises :class:`SettingsMismatch` instead of silently mixing two configurations in one file.

A run killed while writing can leave a cut-off last line; it is dropped (with a warning) when the store is
opened. Any other unreadable line raises :class:`~spurious.io.InputError` naming the file and line.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spurious.errors import SpuriousError
from spurious.io import InputError, append_jsonl, write_jsonl

Key = tuple[str, str, int]


class SettingsMismatch(SpuriousError):
    """Existing samples were generated with other settings than the ones asked for now."""


def row_key(row: dict[str, Any]) -> Key:
    return (str(row["benchmark"]), str(row["problem_id"]), int(row["sample_index"]))


class SampleStore:
    """All rows of one ``samples.jsonl``, indexed by key; :meth:`append` writes through to disk."""

    REQUIRED = ("benchmark", "problem_id", "sample_index", "fingerprint")

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.rows: dict[Key, dict[str, Any]] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        dropped = False
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                if i == last:  # a write cut short by a kill: forget it, it will be regenerated
                    dropped = True
                    continue
                raise InputError(self.path, i + 1, f"invalid JSON: {e.msg} (column {e.colno})") from e
            if not isinstance(row, dict):
                raise InputError(self.path, i + 1, "expected a JSON object")
            for f in self.REQUIRED:
                if f not in row:
                    raise InputError(self.path, i + 1, "missing", field=f)
            self.rows[row_key(row)] = row
        if dropped:
            warnings.warn(f"{self.path}: dropped a cut-off last line (an interrupted write); it will be redone",
                          stacklevel=2)
            self.rewrite()

    def __contains__(self, key: Key) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def for_benchmark(self, benchmark: str) -> list[dict[str, Any]]:
        return [r for k, r in self.rows.items() if k[0] == benchmark]

    def check_fingerprint(self, benchmark: str, fingerprint: str, settings: dict[str, Any] | None = None) -> None:
        """Raise :class:`SettingsMismatch` if ``benchmark`` has rows made with another fingerprint."""
        other = {r["fingerprint"] for r in self.for_benchmark(benchmark)} - {fingerprint}
        if other:
            raise SettingsMismatch(
                f"{self.path} already holds {benchmark} samples generated with other settings "
                f"(fingerprint {sorted(other)[0]}, now {fingerprint}"
                + (f": {json.dumps(settings, sort_keys=True)}" if settings else "")
                + "). Use another output folder, or delete the file to start over."
            )

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            append_jsonl(self.path, row)
            self.rows[row_key(row)] = row

    def rewrite(self) -> None:
        """Atomically rewrite the file from memory (after dropping a cut-off line or regrading)."""
        write_jsonl(self.path, self.rows.values())
