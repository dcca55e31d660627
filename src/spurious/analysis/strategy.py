"""Table 1 of the paper (docs/paper.md §7.5): code-reasoning frequency and accuracy by strategy.

Per benchmark and per detection rule (``python``: the paper's substring rule; ``fenced``: a fenced
code block), over all samples (k samples of a problem each count once, as avg@k does):
code frequency, accuracy overall, accuracy of code responses, accuracy of language-only responses.
An empty strategy has accuracy None (not 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from spurious.code_reasoning import CODE_RULES
from spurious.rollout import Rollout


@dataclass(frozen=True)
class StrategyRow:
    benchmark: str
    rule: str
    n: int
    n_code: int
    code_frequency: float  # share of responses, 0..1
    accuracy: float
    accuracy_code: float | None
    accuracy_language: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _mean(xs: list[bool]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def strategy_row(samples: Iterable[Rollout], rule: str = "python", benchmark: str = "all") -> StrategyRow:
    """One Table-1 row from the given samples."""
    if rule not in CODE_RULES:
        raise ValueError(f"unknown code-reasoning rule {rule!r}; choose from {CODE_RULES}")
    code = [s.correct for s in samples if s.code_flag(rule)]
    lang = [s.correct for s in samples if not s.code_flag(rule)]
    n = len(code) + len(lang)
    if n == 0:
        raise ValueError(f"no samples for benchmark {benchmark!r}")
    return StrategyRow(benchmark=benchmark, rule=rule, n=n, n_code=len(code), code_frequency=len(code) / n,
                       accuracy=(sum(code) + sum(lang)) / n, accuracy_code=_mean(code), accuracy_language=_mean(lang))


def strategy_table(samples: list[Rollout], rules: Iterable[str] = CODE_RULES) -> list[StrategyRow]:
    """Table-1 rows for every benchmark in ``samples`` and every rule."""
    rows = []
    for bench in sorted({s.benchmark for s in samples}):
        subset = [s for s in samples if s.benchmark == bench]
        rows.extend(strategy_row(subset, rule, bench) for rule in rules)
    return rows
