"""Cheap, exact answer comparison for the default grader: clean-up, exact rationals, canonical keys.

The default grader first tries to decide a pair here, without SymPy:

1. :func:`clean_answer` removes presentation-only LaTeX (``$``, ``\\left``/``\\right``, spacing commands,
   ``\\dfrac``/``\\tfrac``, ``\\text{}`` wrappers, trailing unit ``\\text{...}``, degree marks, ``\\$``, a
   single-variable prefix such as ``x =``, a trailing period, whitespace; a mixed number ``7 3/4`` becomes
   ``7+3/4`` and is left to math-verify). A whole answer written with thousands separators (``11,\\!880``,
   ``1{,}000``, ``1,000``, ``1\\,000``) loses them, but only when the grouping is exact: groups of three
   digits, one separator throughout. A comma followed by a space separates list items (``32, 349`` is the
   list 32, 349, never 32349), and ``1,00`` or ``1,000{,}000`` stay as they are.
2. Equal cleaned strings are equivalent.
3. :func:`parse_number` reads integers, decimals, zero padding (``025``), ``142.0``, fractions
   (``\\frac{a}{b}``, ``\\frac12``, ``a/b``, with signs) and percentages as exact :class:`fractions.Fraction` values. Two numbers are compared exactly, except that
   (as in math-verify) a decimal matches when both round to the same 6 decimal places, and a percentage
   ``p%`` matches both ``p`` and ``p/100``.
4. Bracketed tuples/intervals whose elements are all numbers compare element-wise with the same brackets.
5. A number never equals a tuple, an interval with distinct ends or a matrix with several entries.

Anything else is left undecided (``None``) and goes to math-verify in a worker process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

__all__ = ["clean_answer", "glue_mixed_numbers", "parse_number", "Number", "numbers_equal", "fast_verdict",
           "canonical_answer", "ungroup_thousands",
           "answer_parts"]

_SPACING = re.compile(r"(?<!\\)\\[,;:! ]|\\quad|\\qquad|~|\\displaystyle|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])")
_WRAPPERS = ("\\text{", "\\textbf{", "\\mathrm{", "\\mbox{", "\\textrm{", "\\mathbf{", "\\boxed{")
_VAR_PREFIX = re.compile(r"^(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?\s*=\s*(?=\S)")
_TRAILING_UNIT = re.compile(r"^(.+?)\s*\\(?:text|mbox|mathrm)\{\s*[A-Za-z][A-Za-z .\^0-9]*\}$")
_MIXED_NUMBER = re.compile(r"(\d)\s+(?=\d+\s*/\s*\d)")
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree")


def _strip_wrapper(s: str, rounds: int = 4) -> str:
    """``\\text{X}`` -> ``X`` when the wrapper spans the whole string (brace-balanced); at most ``rounds`` layers
    (each layer costs a scan of the string, so thousands of nested wrappers must not be peeled one by one)."""
    for _ in range(rounds):
        w = next((w for w in _WRAPPERS if s.startswith(w) and s.endswith("}")), None)
        if w is None:
            return s
        depth = 0
        for i in range(len(w) - 1, len(s)):
            depth += (s[i] == "{") - (s[i] == "}")
            if depth == 0:
                break
        if i != len(s) - 1:
            return s
        s = s[len(w):-1].strip()
    return s


def glue_mixed_numbers(s: str) -> str:
    """``7 3/4`` -> ``7+3/4``: a mixed number, not 73/4 (after space removal) nor 7*3/4 (math-verify)."""
    return _MIXED_NUMBER.sub(r"\1+", s)


def clean_answer(s: str) -> str:
    """Remove presentation-only LaTeX from an extracted answer (see the module docstring)."""
    s = s.strip().rstrip(".").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
            s = s[len(left):len(s) - len(right)].strip()
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace(",\\!", "{,}")  # a comma pulled tight to the next digit group is a thousands separator
    s = _SPACING.sub(" ", s)
    s = _DEGREES.sub("", s)
    s = s.replace("\\$", "").replace("\\%", "%")
    s = _strip_wrapper(s.strip())
    m = _TRAILING_UNIT.match(s)
    if m:
        s = m.group(1)
    s = s.strip().rstrip(".").strip()
    if s.count("=") == 1:
        s = _VAR_PREFIX.sub("", s)
    s = glue_mixed_numbers(s).replace("\u2212", "-")
    return re.sub(r"\s+", "", ungroup_thousands(s.strip()))


_GROUPED = re.compile(r"([+-]?[1-9]\d{0,2})((,|\{,\})\d{3}(?:\3\d{3})*)(\.\d+)?(%?)")


def ungroup_thousands(s: str) -> str:
    """``1,000`` / ``11{,}880`` / ``-1,234,567.5`` -> digits only, when all of ``s`` is one number grouped exactly
    (a first group of 1-3 digits not starting with 0, then groups of three, one separator throughout); anything
    else unchanged (``0,111`` is a decimal comma or a list, not 111)."""
    m = _GROUPED.fullmatch(s)
    if m is None:
        return s
    return m.group(1) + m.group(2).replace(m.group(3), "") + (m.group(4) or "") + m.group(5)


@dataclass(frozen=True)
class Number:
    """An exactly parsed number: its value, whether it was written as a decimal, and whether it had ``%``."""

    value: Fraction
    decimal: bool = False
    percent: bool = False


_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_FRAC = re.compile(r"([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}")
_FRAC_SHORT = re.compile(r"([+-]?)\\frac(\d)(\d)")
_SLASH = re.compile(r"([+-]?\d+)/([+-]?\d+)")
_MAX_DIGITS = 400  # longer literals are left to the symbolic path (and its guards)


def _plain(s: str) -> Optional[tuple[Fraction, bool]]:
    if len(s) > _MAX_DIGITS:
        return None
    if _INT.fullmatch(s):
        return Fraction(int(s)), False
    if _DECIMAL.fullmatch(s):
        return Fraction(s if not s.endswith(".") else s[:-1]), True
    for pattern in (_FRAC, _FRAC_SHORT):
        m = pattern.fullmatch(s)
        if m:
            den = int(m.group(3))
            if den == 0:
                return None
            v = Fraction(int(m.group(2)), den)
            return (-v if m.group(1) == "-" else v), False
    m = _SLASH.fullmatch(s)
    if m and int(m.group(2)) != 0:
        return Fraction(int(m.group(1)), int(m.group(2))), False
    return None


def parse_number(s: str) -> Optional[Number]:
    """An exact number from a *cleaned* answer (see :func:`clean_answer`), or None if it is not one."""
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    if s.startswith("{") and s.endswith("}") and s.count("{") == 1:
        s = s[1:-1]
    parsed = _plain(s)
    if parsed is None:
        return None
    return Number(parsed[0], parsed[1], percent)


def _round6(x: Fraction) -> Fraction:
    return Fraction(round(x * 10**6), 10**6)


def numbers_equal(a: Number, b: Number) -> bool:
    """Exact equality, with math-verify's 6-decimal rounding for decimals and both readings of ``p%``."""
    candidates_a = [a.value] + ([a.value / 100] if a.percent else [])
    candidates_b = [b.value] + ([b.value / 100] if b.percent else [])
    rounded = a.decimal or b.decimal
    for x in candidates_a:
        for y in candidates_b:
            if x == y or (rounded and _round6(x) == _round6(y)):
                return True
    return False


def _split_tuple(s: str) -> Optional[tuple[str, list[str], str]]:
    """``(a,b]`` -> ("(", ["a", "b"], "]") when brackets enclose the whole string and commas are top-level."""
    if len(s) < 2 or s[0] not in "([" or s[-1] not in ")]":
        return None
    depth, parts, start = 0, [], 1
    for i in range(1, len(s) - 1):
        c = s[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "," and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    if depth != 0:
        return None
    parts.append(s[start:len(s) - 1])
    return s[0], parts, s[-1]


_MATRIX = re.compile(r"\\begin\{[pbvBV]?matrix\}(.*)\\end\{[pbvBV]?matrix\}", re.DOTALL)


def _is_container(s: str) -> bool:
    """Whether a cleaned answer is certainly not a single number: a matrix with two or more entries, a tuple,
    or an interval other than a closed ``[a, b]`` whose ends may coincide (``[5, 5]`` is the number 5)."""
    m = _MATRIX.fullmatch(s)
    if m is not None:
        return "&" in m.group(1) or "\\\\" in m.group(1)
    t = _split_tuple(s)
    if t is None or len(t[1]) < 2 or not all(t[1]):
        return False
    if (t[0], t[2]) != ("[", "]"):
        return True
    ends = [parse_number(x) for x in t[1]]
    return len(ends) != 2 or (None not in ends and ends[0].value != ends[1].value)


def fast_verdict(gold: str, answer: str) -> Optional[bool]:
    """Decide equivalence of two extracted answers exactly and cheaply, or return None (undecided)."""
    g, a = clean_answer(gold), clean_answer(answer)
    if g == a:
        return True if g else None
    ng, na = parse_number(g), parse_number(a)
    if ng is not None and na is not None:
        return numbers_equal(ng, na)
    if (ng is not None and _is_container(a)) or (na is not None and _is_container(g)):
        return False  # a number is never a tuple, an interval or a matrix
    tg, ta = _split_tuple(g), _split_tuple(a)
    if tg is not None and ta is not None and len(tg[1]) > 1 and len(ta[1]) > 1:
        eg = [parse_number(x) for x in tg[1]]
        ea = [parse_number(x) for x in ta[1]]
        if all(x is not None for x in eg) and all(x is not None for x in ea):
            if (tg[0], tg[2]) != (ta[0], ta[2]) or len(eg) != len(ea):
                return False
            return all(numbers_equal(x, y) for x, y in zip(eg, ea))
    return None


def _number_key(n: Number) -> str:
    v = n.value
    key = str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    return key + ("%" if n.percent else "")


def canonical_answer(s: str) -> str:
    """A normalised string key for an extracted answer, for bucketing before equivalence checks.

    Numbers map to their exact value (``025``, ``25.0``, ``\\frac{50}{2}`` -> ``"25"``; ``0.5``, ``\\frac12`` ->
    ``"1/2"``), bracketed numeric tuples element-wise, anything else to :func:`clean_answer`'s output. Equal
    keys imply equivalence under the default grader's exact rules; different keys may still be equivalent.
    """
    c = clean_answer(s)
    n = parse_number(c)
    if n is not None:
        return _number_key(n)
    t = _split_tuple(c)
    if t is not None and len(t[1]) > 1:
        nums = [parse_number(x) for x in t[1]]
        if all(x is not None for x in nums):
            return t[0] + ",".join(_number_key(x) for x in nums) + t[2]
    return c


def _top_level_split(s: str) -> list[str]:
    """``s`` split at the commas outside any bracket or brace."""
    depth, parts, start = 0, [], 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


def _encloses(s: str, left: str, right: str) -> bool:
    """Whether ``s`` is one ``left ... right`` group (the opening brace closes at the very end)."""
    if not (s.startswith(left) and s.endswith(right)) or len(s) < len(left) + len(right):
        return False
    depth = 0
    for i in range(len(left) - 1, len(s)):  # from the opening brace on
        depth += (s[i] == "{") - (s[i] == "}")
        if depth == 0 and i < len(s) - 1:
            return False
    return depth == 0


def answer_parts(s: str) -> list[str]:
    """The parts of a list answer: ``(2, 2), (6, 2)`` -> ``["(2,2)", "(6,2)"]``, ``1,-2`` -> ``["1", "-2"]``, a set
    ``\\{1,2,3\\}`` or ``{1,2,3}`` -> its elements; a single answer (a number, a tuple ``(1, 2)``, an interval) is one
    part. Parts are cleaned (:func:`clean_answer`); empty parts are dropped."""
    c = clean_answer(s)
    for left, right in (("\\{", "\\}"), ("{", "}")):
        if _encloses(c, left, right):
            c = c[len(left):len(c) - len(right)]
            break
    return [p for p in _top_level_split(c) if p]
