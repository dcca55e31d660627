"""Per-problem leak flags (what ``spurious contamination`` writes) and the split of samples they define.

``leaks.jsonl`` holds one record per probed problem: ``problem_id`` (string or integer), ``leaked`` (bool) and,
in files written since the field was added, ``benchmark`` (string; :mod:`spurious.eval.contamination`). Other
fields (the per-prefix measurements) are ignored here. :func:`load_leak_flags` is the one reader: ``spurious
analyze`` splits its tables with it, and the audit can do the same.

The file is found beside the samples as ``<folder>/leaks.jsonl`` or ``<folder>/contamination/leaks.jsonl``
(:func:`find_leak_files`). A problem's split is ``"leaked"`` or ``"clean"`` by its flag, or ``"unflagged"`` when
no file covers it (a probe run with ``--limit`` covers only the first problems). A record with a ``benchmark`` matches samples of that
benchmark only; one without matches a problem id in any benchmark. Several files combine: a problem any of
them flags as leaked is leaked (a problem one probe found memorised is not clean).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from spurious.io import InputError, iter_jsonl
from spurious.rollout import Rollout

LEAKS_FILE = "leaks.jsonl"
CONTAMINATION_DIR = "contamination"  # the probe's folder inside an evaluation or run folder
SPLITS = ("leaked", "clean", "unflagged")


@dataclass
class LeakFlags:
    """Leak flags keyed by ``(benchmark or None, problem_id)``; ``sources`` are the files read. The flags are
    indexed once, at construction: build a new instance (:meth:`merged`) rather than changing ``flags``."""

    flags: dict[tuple[str | None, str], bool] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._any_benchmark: dict[str, bool] = {}
        for (_, pid), v in self.flags.items():
            self._any_benchmark[pid] = self._any_benchmark.get(pid, False) or v

    def __bool__(self) -> bool:
        return bool(self.flags)

    @property
    def benchmarks(self) -> list[str]:
        """The benchmark names the records carry (records without one are not listed)."""
        return sorted({b for b, _ in self.flags if b is not None})

    def counts(self) -> dict[str, int]:
        """How many records are leaked and clean."""
        return {"leaked": sum(self.flags.values()), "clean": sum(not v for v in self.flags.values())}

    def flag(self, benchmark: str | None, problem_id: str) -> bool | None:
        """The flag of ``problem_id`` in ``benchmark`` (None: any benchmark), or None when no record covers it.

        With ``benchmark`` None every record of that id counts (leaked if any is)."""
        if benchmark is None:
            return self._any_benchmark.get(problem_id)
        found = [self.flags[k] for k in ((benchmark, problem_id), (None, problem_id)) if k in self.flags]
        return any(found) if found else None

    def split(self, benchmark: str | None, problem_id: str) -> str:
        """``"leaked"``, ``"clean"`` or ``"unflagged"``."""
        f = self.flag(benchmark, problem_id)
        return "unflagged" if f is None else ("leaked" if f else "clean")

    def merged(self, other: "LeakFlags") -> "LeakFlags":
        """Both sets of flags; a problem leaked in either is leaked."""
        flags = dict(self.flags)
        for k, v in other.flags.items():
            flags[k] = flags.get(k, False) or v
        return LeakFlags(flags, self.sources + [s for s in other.sources if s not in self.sources])


def leaks_path(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/leaks.jsonl`` for a folder."""
    p = Path(path)
    return p / LEAKS_FILE if p.is_dir() else p


def load_leak_flags(path: str | os.PathLike) -> LeakFlags:
    """Read a ``leaks.jsonl`` (or the one in a folder). Raises :class:`~spurious.io.InputError` naming file, line
    and field on a missing file, bad JSON, a missing or mistyped ``problem_id`` / ``leaked`` / ``benchmark``, a
    problem listed twice with different flags, or a file without records."""
    p = leaks_path(path)
    flags: dict[tuple[str | None, str], bool] = {}
    for line, row in iter_jsonl(p, required=("problem_id", "leaked"), not_null=("problem_id", "leaked"),
                                types={"problem_id": (str, int), "leaked": bool, "benchmark": str}):
        key = (row.get("benchmark"), str(row["problem_id"]))
        if key in flags and flags[key] != row["leaked"]:
            raise InputError(p, line, f"problem {key[1]!r} is listed again with another flag", field="leaked")
        flags[key] = row["leaked"]
    if not flags:
        raise InputError(p, None, "no leak records")
    return LeakFlags(flags, [str(p)])


def load_all_leak_flags(paths: Iterable[str | os.PathLike]) -> LeakFlags:
    """The merge of every file in ``paths`` (see :meth:`LeakFlags.merged`); empty flags for no paths."""
    out = LeakFlags()
    for p in paths:
        out = out.merged(load_leak_flags(p))
    return out


def find_leak_files(folders: Sequence[str | os.PathLike]) -> list[Path]:
    """The leak-flag files beside the samples of ``folders`` (evaluations, runs, ``eval --run`` folders):
    ``<folder>/leaks.jsonl`` or ``<folder>/contamination/leaks.jsonl`` (``spurious contamination --out
    <folder>/contamination``), in that order."""
    found = [Path(f) / sub / LEAKS_FILE for f in folders for sub in ("", CONTAMINATION_DIR)]
    return list(dict.fromkeys(p for p in found if p.is_file()))


def split_samples(samples: Iterable[Rollout], flags: LeakFlags, *, any_benchmark: bool = False
                  ) -> dict[str, list[Rollout]]:
    """``{split: samples}`` in :data:`SPLITS` order, non-empty splits only. ``any_benchmark`` matches problem ids
    whatever the samples' benchmark (training rollouts, whose benchmark is ``"train"``)."""
    out: dict[str, list[Rollout]] = {k: [] for k in SPLITS}
    for s in samples:
        out[flags.split(None if any_benchmark else s.benchmark, str(s.problem_id))].append(s)
    return {k: v for k, v in out.items() if v}
