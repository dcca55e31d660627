"""Cheap checks that keep pathological answers away from SymPy.

math-verify and SymPy can spend minutes (or gigabytes) on inputs such as ``9^{9^{9^{9}}}``, ``10^{9}!`` or
thousands of nested brackets. The worker pool bounds every call with a hard deadline
anyway; these guards simply refuse the obvious cases up front so that they cost microseconds instead of a
timeout and a worker restart. A refused pair scores 0 with status ``"error"`` and is counted as ``guarded``.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["symbolic_hazard", "MAX_SYMBOLIC_CHARS", "MAX_NESTING", "MAX_EXPONENT", "MAX_FACTORIAL"]

MAX_SYMBOLIC_CHARS = 1000
MAX_NESTING = 40
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 1_000

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ud800-\udfff]")  # control chars, lone surrogates
_INTEGER = re.compile(r"\d+")


def _nesting_depth(s: str) -> int:
    depth = best = 0
    for c in s:
        if c in "{([":
            depth += 1
            best = max(best, depth)
        elif c in "})]":
            depth = max(depth - 1, 0)
    return best


def _group_after(s: str, i: int) -> str:
    """The exponent that starts at ``s[i]``: a balanced ``{...}``/``(...)`` group, or a run of digits/letters."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return ""
    if s[i] in "{(":
        close = "}" if s[i] == "{" else ")"
        depth = 0
        for j in range(i, len(s)):
            depth += (s[j] == s[i]) - (s[j] == close)
            if depth == 0:
                return s[i + 1:j]
        return s[i + 1:]
    m = re.compile(r"[0-9A-Za-z.]+|\\[A-Za-z]+").match(s, i)
    return m.group(0) if m else s[i]


def _group_before(s: str, i: int) -> str:
    """The operand that ends just before ``s[i]`` (for a postfix ``!``)."""
    j = i - 1
    while j >= 0 and s[j] == " ":
        j -= 1
    if j < 0:
        return ""
    if s[j] in "})":
        opener = "{" if s[j] == "}" else "("
        depth = 0
        for k in range(j, -1, -1):
            depth += (s[k] == s[j]) - (s[k] == opener)
            if depth == 0:
                return s[k:j + 1]
        return s[:j + 1]
    k = j
    while k >= 0 and (s[k].isalnum() or s[k] == "."):
        k -= 1
    return s[k + 1:j + 1]


def _too_big(expr: str, limit: int) -> bool:
    return any(len(d) > len(str(limit)) or int(d) > limit for d in _INTEGER.findall(expr))


def symbolic_hazard(s: str) -> Optional[str]:
    """Why ``s`` should not reach SymPy (a short reason), or None if it looks safe."""
    if len(s) > MAX_SYMBOLIC_CHARS:
        return f"longer than {MAX_SYMBOLIC_CHARS} characters"
    if _CONTROL.search(s):
        return "control characters or lone surrogates"
    if _nesting_depth(s) > MAX_NESTING:
        return f"brackets nested deeper than {MAX_NESTING}"
    t = s.replace("**", "^")
    if re.search(r"\^\s*[0-9A-Za-z.]+\s*\^", t):
        return "exponent tower"
    for m in re.finditer(r"\^", t):
        exponent = _group_after(t, m.end())
        if "^" in exponent or "\\uparrow" in exponent:
            return "exponent tower"
        if _too_big(exponent, MAX_EXPONENT):
            return f"exponent above {MAX_EXPONENT}"
    for m in re.finditer(r"(?<!\\)!(?!=)", t):
        operand = _group_before(t, m.start())
        start = m.start() - len(operand)
        while start > 0 and t[start - 1] == " ":
            start -= 1
        if start > 0 and t[start - 1] == "^":  # "10^{9}!": the factorial of a power
            base = _group_before(t, start - 1)
            if not _small_power(base, operand.strip("{}() ")):
                return f"factorial of a power above {MAX_FACTORIAL}"
        if "^" in operand or "!" in operand or _too_big(operand, MAX_FACTORIAL):
            return f"factorial of a number above {MAX_FACTORIAL}"
    if "\\uparrow" in t:
        return "hyper-operator"
    return None


def _small_power(base: str, exponent: str) -> bool:
    if not (base.isdigit() and exponent.isdigit()) or len(base) > 4 or len(exponent) > 2:
        return False
    return int(base) ** int(exponent) <= MAX_FACTORIAL
