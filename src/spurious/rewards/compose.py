"""Combining rewards: AND, OR, NOT, products and weighted sums (docs/paper.md §2.8).

Official semantics [code]: ``A_AND_B`` is 1 iff every part is non-zero; ``inverse_X`` is 1 − X. OR (1 iff any
part is non-zero) and weighted sums are this toolkit's additions. Every part is scored once on the whole batch,
so group-level parts see whole groups. Names are canonical expressions (``format&!python``), which TRL logs as
``rewards/<name>/mean``.
"""

from __future__ import annotations

from typing import Any, Sequence

from spurious.rewards.base import Reward, Sample, binary

# Binding strength, used only to parenthesise names.
_LEAF, _NOT, _PRODUCT, _SUM, _AND, _OR = 100, 90, 80, 70, 60, 50


def _precedence(r: Reward) -> int:
    return getattr(r, "precedence", _LEAF)


def _child_name(child: Reward, parent_precedence: int) -> str:
    return f"({child.name})" if _precedence(child) <= parent_precedence and _precedence(child) != _LEAF \
        else child.name


class _Composite(Reward):
    precedence = _LEAF
    symbol = "?"

    def __init__(self, parts: Sequence[Reward]):
        if not parts:
            raise ValueError(f"{type(self).__name__} needs at least one part")
        self.parts = list(parts)
        self.needs_label = any(p.needs_label for p in self.parts)
        self.group_level = any(p.group_level for p in self.parts)
        self.name = self.symbol.join(_child_name(p, self.precedence) for p in self.parts)

    @property
    def params(self) -> dict[str, Any]:
        return {"parts": [repr(p) for p in self.parts]}

    def with_seed(self, seed: int) -> Reward:
        return type(self)([p.with_seed(seed) for p in self.parts])

    def _part_values(self, samples: Sequence[Sample]) -> list[list[float]]:
        return [p(samples) for p in self.parts]


class AllOf(_Composite):
    """AND: 1 iff every part is non-zero (the official ``_AND_``)."""

    precedence, symbol = _AND, "&"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return binary(all(v != 0 for v in col) for col in zip(*self._part_values(samples)))


class AnyOf(_Composite):
    """OR: 1 iff any part is non-zero."""

    precedence, symbol = _OR, "|"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return binary(any(v != 0 for v in col) for col in zip(*self._part_values(samples)))


class Product(_Composite):
    """Element-wise product of the parts (equals AND for binary rewards)."""

    precedence, symbol = _PRODUCT, "*"

    def score(self, samples: Sequence[Sample]) -> list[float]:
        out = [1.0] * len(samples)
        for col in self._part_values(samples):
            out = [a * b for a, b in zip(out, col)]
        return out


class Not(Reward):
    """NOT: 1 − X (the official ``inverse_X``; for a binary X, its complement)."""

    precedence = _NOT

    def __init__(self, part: Reward):
        self.part = part
        self.needs_label, self.group_level = part.needs_label, part.group_level
        self.name = "!" + (f"({part.name})" if _precedence(part) < _NOT else part.name)

    @property
    def params(self) -> dict[str, Any]:
        return {"part": repr(self.part)}

    def with_seed(self, seed: int) -> Reward:
        return Not(self.part.with_seed(seed))

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return [1.0 - v for v in self.part(samples)]


class WeightedSum(Reward):
    """``bias + Σ weight·part``: e.g. ``0.5*gt + 0.5*format``; not binary in general."""

    precedence = _SUM

    def __init__(self, terms: Sequence[tuple[float, Reward]], bias: float = 0.0):
        self.terms = [(float(w), r) for w, r in terms]
        self.bias = float(bias)
        self.needs_label = any(r.needs_label for _, r in self.terms)
        self.group_level = any(r.group_level for _, r in self.terms)
        self.name = _sum_name(self.terms, self.bias)

    @property
    def params(self) -> dict[str, Any]:
        return {"terms": [(w, repr(r)) for w, r in self.terms], "bias": self.bias}

    def with_seed(self, seed: int) -> Reward:
        return WeightedSum([(w, r.with_seed(seed)) for w, r in self.terms], self.bias)

    def score(self, samples: Sequence[Sample]) -> list[float]:
        out = [self.bias] * len(samples)
        for w, r in self.terms:
            out = [a + w * v for a, v in zip(out, r(samples))]
        return out


def _num(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() else repr(x)


def _sum_name(terms: Sequence[tuple[float, Reward]], bias: float) -> str:
    pieces: list[str] = [_num(bias)] if bias or not terms else []
    for w, r in terms:
        body = _child_name(r, _PRODUCT)
        term = body if abs(w) == 1 else f"{_num(abs(w))}*{body}"
        pieces.append(("-" if w < 0 else "+" if pieces else "") + term)
    return "".join(pieces)
