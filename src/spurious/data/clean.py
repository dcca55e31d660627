"""A clean control benchmark: arithmetic and word problems generated at run time, so no model can have seen them.

The contamination probe (:mod:`spurious.eval.contamination`) asks whether a model completes benchmark problems
from memory; a gain on problems that did not exist before the run cannot come from memory. ``clean`` (seed 0)
and ``clean-<seed>`` are benchmarks by name (:func:`spurious.data.load_problems`), in the benchmark row format
(``id``, ``problem``, ``answer``), nothing committed to disk.

Each problem is an expression tree over positive integers with ``+ - * /``, evaluated once, exactly, with
:class:`fractions.Fraction` (:func:`evaluate`); its answer is an integer (``42``, ``-7``) or a reduced fraction
(``\\frac{3}{4}``, ``-\\frac{3}{4}``). Two kinds alternate:

* **arithmetic** - ``Compute $12 - 3 \\times (4 + 5)$.``; the problem text is the tree itself;
* **word** - a short multi-step story (shopping, sharing, ages, rates, ...) whose numbers fill a tree;
  ``meta["computation"]`` is that tree in plain notation (``90 - (3 * 12 + 2 * 5)``).

Difficulty ``level`` 1-5 cycles with the index: arithmetic problems have ``level + 1`` operations, operands
up to 20 / 50 / 100 / 200 / 500, division only from level 3 and fractional answers only from level 4; word
problems use larger numbers and more steps as the level rises and give fractional answers only at levels 4-5.
Problem ``i`` is drawn from its own generator seeded by ``(seed, i)``, so the first N problems are the same
whatever ``limit`` is. Ids: ``clean<seed>/<kind>/L<level>/<i>``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Callable

from spurious.data.problems import Problem

NAME = "clean"
SIZE = 500
LEVELS = (1, 2, 3, 4, 5)
KINDS = ("arithmetic", "word")
_NAME = re.compile(rf"^{NAME}(?:-(\d+))?$")
_MAX_RESULT = 100_000  # |answer| at most this, denominator at most _MAX_DENOMINATOR: drawn again otherwise
_MAX_DENOMINATOR = 200


@dataclass(frozen=True)
class Expr:
    """A number (``op`` None, ``value`` set) or a binary operation on two sub-expressions."""

    op: str | None = None
    left: "Expr | None" = None
    right: "Expr | None" = None
    value: int | None = None


def num(v: int) -> Expr:
    return Expr(value=v)


def bin_op(op: str, left: Expr | int, right: Expr | int) -> Expr:
    """``left op right``; integers become numbers."""
    return Expr(op, left if isinstance(left, Expr) else num(left), right if isinstance(right, Expr) else num(right))


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
_LATEX = {"+": "+", "-": "-", "*": "\\times", "/": "\\div"}


def evaluate(e: Expr) -> Fraction:
    """The exact value of ``e``; ZeroDivisionError on a zero divisor."""
    if e.op is None:
        return Fraction(e.value)
    a, b = evaluate(e.left), evaluate(e.right)
    if e.op == "+":
        return a + b
    if e.op == "-":
        return a - b
    if e.op == "*":
        return a * b
    return a / b


def render(e: Expr, ops: dict[str, str] | None = None) -> str:
    """``e`` as text with the fewest parentheses that keep its value (``ops`` maps + - * / to their symbols;
    default plain ``+ - * /``)."""
    ops = ops or {o: o for o in _PREC}
    if e.op is None:
        return str(e.value)

    def side(child: Expr, right: bool) -> str:
        text = render(child, ops)
        if child.op is not None and (_PREC[child.op] < _PREC[e.op]
                                     or (right and _PREC[child.op] == _PREC[e.op] and e.op in "-/")):
            return f"({text})"
        return text

    return f"{side(e.left, False)} {ops[e.op]} {side(e.right, True)}"


def render_latex(e: Expr) -> str:
    """``e`` in LaTeX (``\\times``, ``\\div``), as the arithmetic problems show it."""
    return render(e, _LATEX)


def format_answer(x: Fraction) -> str:
    """An integer as ``42`` / ``-7``, anything else as ``\\frac{p}{q}`` / ``-\\frac{p}{q}`` (reduced)."""
    if x.denominator == 1:
        return str(x.numerator)
    sign = "-" if x < 0 else ""
    return f"{sign}\\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"


def _acceptable(value: Fraction, fractional: bool) -> bool:
    return (abs(value) <= _MAX_RESULT and value.denominator <= _MAX_DENOMINATOR
            and (fractional or value.denominator == 1))


# ----------------------------------------------------------------------------------------------------------------
# Arithmetic

_ARITH_MAX = {1: 20, 2: 50, 3: 100, 4: 200, 5: 500}


def _random_tree(rng: random.Random, n_ops: int, top: int, ops: str) -> Expr:
    if n_ops == 0:
        return num(rng.randint(2, top))
    left = rng.randint(0, n_ops - 1)
    return bin_op(rng.choice(ops), _random_tree(rng, left, top, ops), _random_tree(rng, n_ops - 1 - left, top, ops))


def arithmetic_problem(rng: random.Random, level: int) -> tuple[str, Expr]:
    """``Compute $<expression>$.`` with ``level + 1`` operations (see the module docstring)."""
    ops = "+-*" if level < 3 else "+-*/"
    fractional = level >= 4
    while True:
        tree = _random_tree(rng, level + 1, _ARITH_MAX[level], ops)
        try:
            value = evaluate(tree)
        except ZeroDivisionError:
            continue
        if _acceptable(value, fractional):
            break
    tail = " Express your answer as a common fraction." if value.denominator != 1 else ""
    return f"Compute ${render_latex(tree)}$.{tail}", tree


# ----------------------------------------------------------------------------------------------------------------
# Word problems: each template draws its numbers from rng (scaled by the level) and returns (text, tree), or None
# when the draw is unusable (the caller draws again).

_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kiri", "Luis")
_ITEMS = ("notebooks", "pens", "mugs", "tickets", "plants")


def _scale(level: int) -> int:
    return (10, 20, 50, 100, 200)[level - 1]


def _shopping(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    who = rng.choice(_NAMES)
    a2, b2 = rng.sample(_ITEMS, 2)
    pa, pb = rng.randint(2, _scale(level)), rng.randint(2, _scale(level))
    na, nb = rng.randint(2, 3 + level), rng.randint(2, 3 + level)
    cost = na * pa + nb * pb
    bill = next(b for b in (20, 50, 100, 200, 500, 1000, 2000, 5000) if b > cost)
    text = (f"A shop sells {a2} for {pa} dollars each and {b2} for {pb} dollars each. {who} buys {na} {a2} and "
            f"{nb} {b2} and pays with a {bill}-dollar note. How many dollars of change does {who} get?")
    return text, bin_op("-", bill, bin_op("+", bin_op("*", na, pa), bin_op("*", nb, pb)))


def _sharing(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    x, y, z = rng.sample(_NAMES, 3)
    a, b, c = (rng.randint(1, 2 + level) for _ in range(3))
    if c == a:
        return None
    total = (a + b + c) * rng.randint(2, _scale(level))
    text = (f"{x}, {y} and {z} share {total} marbles in the ratio {a} : {b} : {c}. How many more marbles does "
            f"{z} get than {x}?")
    tree = bin_op("/", bin_op("*", total, bin_op("-", c, a)), bin_op("+", bin_op("+", a, b), c))
    return text, tree


def _ages(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    x, y = rng.sample(_NAMES, 2)
    k, younger, later = rng.randint(2, 3 + level), rng.randint(2, 4 + 2 * level), rng.randint(2, 5 * level)
    total = (k + 1) * younger + 2 * later
    text = (f"{x} is {k} times as old as {y}. In {later} years the sum of their ages will be {total}. How old is "
            f"{x} now?")
    return text, bin_op("/", bin_op("*", k, bin_op("-", total, bin_op("*", 2, later))), bin_op("+", k, 1))


def _savings(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    x, y = rng.sample(_NAMES, 2)
    s = _scale(level)
    slow, fast = sorted(rng.sample(range(2, s + 3), 2))
    start_fast = rng.randint(0, 5 * s)
    weeks = rng.randint(2, 4 + 2 * level)
    start_slow = start_fast + (fast - slow) * weeks
    text = (f"{x} has {start_slow} dollars and saves {slow} dollars a week. {y} has {start_fast} dollars and "
            f"saves {fast} dollars a week. After how many weeks will they have the same amount?")
    return text, bin_op("/", bin_op("-", start_slow, start_fast), bin_op("-", fast, slow))


def _fractions_of(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    q, s = rng.randint(2, 3 + level), rng.randint(2, 3 + level)
    p, r = rng.randint(1, q - 1), rng.randint(1, s - 1)
    if gcd(p, q) > 1 or gcd(r, s) > 1:
        return None
    n = q * s * rng.randint(1, max(2, _scale(level) // 10))
    text = (f"A school has {n} students. $\\frac{{{p}}}{{{q}}}$ of them come by bus, and $\\frac{{{r}}}{{{s}}}$ of "
            f"the others walk. How many students neither come by bus nor walk?")
    rest = bin_op("-", n, bin_op("/", bin_op("*", n, p), q))
    return text, bin_op("-", rest, bin_op("/", bin_op("*", rest, r), s))


def _average_speed(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    s = _scale(level)
    d1, d2 = rng.randint(s, 10 * s), rng.randint(s, 10 * s)
    t1, t2 = rng.randint(1, 2 + level), rng.randint(1, 2 + level)
    text = (f"A train travels {d1} km in {t1} hours and then {d2} km in {t2} hours. What is its average speed "
            f"over the whole trip, in km per hour?")
    return text, bin_op("/", bin_op("+", d1, d2), bin_op("+", t1, t2))


def _tank(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    s = _scale(level)
    fill, drain = rng.randint(3, s + 3), rng.randint(1, s)
    if drain >= fill:
        return None
    volume = rng.randint(2, 20) * s
    text = (f"An empty tank holds {volume} litres. A pipe fills it at {fill} litres per minute while a leak "
            f"drains {drain} litres per minute. How many minutes does it take to fill the tank?")
    return text, bin_op("/", volume, bin_op("-", fill, drain))


def _workers(rng: random.Random, level: int) -> tuple[str, Expr] | None:
    a, b = rng.randint(2, 4 + 2 * level), rng.randint(2, 4 + 2 * level)
    if a == b:
        return None
    text = (f"Working alone, one painter paints a fence in {a} hours and another in {b} hours. How many hours "
            f"do they take to paint it together?")
    return text, bin_op("/", 1, bin_op("+", bin_op("/", 1, a), bin_op("/", 1, b)))


# (template, the lowest level that draws it); any story's answer may be fractional, accepted only at levels 4-5
WORD_TEMPLATES: tuple[tuple[Callable[[random.Random, int], tuple[str, Expr] | None], int], ...] = (
    (_shopping, 1), (_sharing, 1), (_ages, 2), (_savings, 2), (_fractions_of, 3),
    (_average_speed, 1), (_tank, 1), (_workers, 4),
)


def word_problem(rng: random.Random, level: int) -> tuple[str, Expr]:
    """A multi-step story whose answer is an integer (levels 1-3) or possibly a fraction (levels 4-5)."""
    fractional = level >= 4
    choices = [t for t, lowest in WORD_TEMPLATES if lowest <= level]
    while True:
        drawn = rng.choice(choices)(rng, level)
        if drawn is None:
            continue
        value = evaluate(drawn[1])
        if value > 0 and _acceptable(value, fractional):
            text, tree = drawn
            tail = " Express your answer as a common fraction." if value.denominator != 1 else ""
            return text + tail, tree


# ----------------------------------------------------------------------------------------------------------------
# The benchmark


def operations(e: Expr) -> int:
    """How many operations ``e`` has."""
    return 0 if e.op is None else 1 + operations(e.left) + operations(e.right)


def problem_at(seed: int, index: int, salt: int = 0) -> Problem:
    """Problem ``index`` of ``clean-<seed>``: level ``index % 5 + 1``; arithmetic and word in turn by fives.
    ``salt`` > 0 draws another problem for the same place (used to replace a repeated text)."""
    level = LEVELS[index % len(LEVELS)]
    kind = KINDS[(index // len(LEVELS)) % len(KINDS)]
    rng = random.Random(f"{NAME}:{seed}:{index}" + (f":{salt}" if salt else ""))
    text, tree = (arithmetic_problem if kind == "arithmetic" else word_problem)(rng, level)
    return Problem(f"{NAME}{seed}/{kind}/L{level}/{index:04d}", text, format_answer(evaluate(tree)),
                   {"level": level, "kind": kind, "computation": render(tree), "operations": operations(tree),
                    "seed": seed})


def clean_problems(seed: int = 0, limit: int | None = None, size: int = SIZE) -> list[Problem]:
    """The first ``limit`` (default ``size``) problems of ``clean-<seed>``, every text distinct (a text already
    drawn is replaced by a fresh draw for the same index)."""
    n = size if limit is None else min(limit, size)
    out: list[Problem] = []
    seen: set[str] = set()
    for i in range(n):
        p = problem_at(seed, i)
        salt = 0
        while p.problem in seen:
            salt += 1
            p = problem_at(seed, i, salt)
        seen.add(p.problem)
        out.append(p)
    return out


def parse_clean_name(name: str) -> int | None:
    """The seed of ``clean`` (0) or ``clean-<seed>``; None for any other name."""
    m = _NAME.match(name)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) is not None else 0
