r"""The paper's official answer extraction and grading, reimplemented from the specification.

This module reproduces the *behaviour* described in ``docs/paper.md`` §2.4 and §6 (a Qwen2.5-Math style parser
followed by the PRM800K / Hendrycks-MATH ``grade_answer``), quirks included, so that rewards and accuracies
can be compared number for number with the paper. It was written from the specification, not copied from the
official repository (which carries no licence). Nothing here is "fixed": the point is parity.

Public functions
----------------
- :func:`official_extract` (§6.1): rules in order -- Minerva ``final answer is $...$. I hope``, last ``boxed``,
  ``he answer is``, ``final answer is``, ``答案是`` (up to the first blank line), last number -- then clean-up
  and :func:`official_normalize`; letter mode instead when the label is exactly ``A``-``D``. Returns ``""``
  when nothing is found (the official convention).
- :func:`official_normalize` (§6.2): the parser's normaliser (canonical LaTeX, unit words, number words via
  ``word2number``, ...).
- :func:`official_grade_answer` (§6.3): Hendrycks normalisation, a second normalisation, tuple splitting,
  per-element string/integer rules and finally SymPy ``simplify(gt - given) == 0`` with implicit multiplication.
- :func:`official_ground_truth`: the official ground-truth reward in-process (extraction + grading).
- :func:`box_only_format` / :func:`official_box_extract` (§2.4): the paper's format reward and what it reads.

Documented quirks (``docs/paper.md`` §6.4), all reproduced and tested:

- **W1** unit words include single letters (``a c d g h l m o s t th``...): ``a+b`` normalises to ``+b``.
- **W2** ``"The answer is 18. So we are done."`` extracts ``18Sowedone``.
- **W3** without any marker the last number in the text is the answer.
- **W4** an empty label is matched by an empty extraction: ``official_grade_answer("", "")`` is True.
- **W5** unreduced fractions, ``0.5`` vs ``50\%``, ``3.14`` vs ``\pi``, unordered lists are rejected.
- **W6** only the last box counts.

Parity is measured against verdicts recorded from the official code (``tests/data/official_cases.jsonl.gz``,
``scripts/official_parity.py``; ``docs/grading.md``).

Deliberate differences from the official code
---------------------------------------------
- The official SymPy step has no timeout. Here :func:`official_grade_answer` runs it in-process (parity), but
  :func:`spurious.grading.grade` with ``grader="official"`` runs only the SymPy step in a worker process with a
  hard wall-clock deadline; a timeout scores 0 with status ``"timeout"`` (the official code would hang or
  eventually answer).
- Regular expressions that backtrack quadratically (``\text{.*?}$``, ``(\d+)\.0*$`` on long digit runs) are
  replaced by equivalent linear-time scans or anchored patterns, so that a 200 KB response cannot stall.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = [
    "official_extract",
    "official_normalize",
    "official_grade_answer",
    "official_prefilter",
    "box_only_format",
    "official_box_extract",
    "official_ground_truth",
    "is_choice_label",
    "hendrycks_normalize",
    "prm800k_normalize",
    "sympy_allowed",
    "sympy_equal",
    "MULTIPLE_CHOICE_LABELS",
]

MULTIPLE_CHOICE_LABELS = ("A", "B", "C", "D")

# --------------------------------------------------------------------------------------------------------------
# §6.1 extraction
# --------------------------------------------------------------------------------------------------------------

_PRM_STEP_MARKER = "\u043a\u0438"  # "ки"
_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")
_CHOICE = re.compile(r"\b(A|B|C|D)\b")


def _after_last_boxed(text: str) -> str:
    """Rule 2: content after the last ``boxed``; brace-balanced if it opens with ``{``, else up to the next ``$``.

    Braces are counted naively (``\\{`` counts too); an unclosed brace takes everything to the end.
    """
    tail = text.split("boxed")[-1]
    if not tail:
        return ""
    if tail[0] != "{":
        return tail.split("$")[0].strip()
    depth = 1
    for i in range(1, len(tail)):
        c = tail[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return tail[1:i]
    return tail[1:]


def _choice_letter(text: str) -> str:
    """Multiple-choice clean-up used when the label is exactly ``A``-``D`` (§2.2).

    The last stand-alone ``A``-``D`` of the upper-cased text; without one, the (original-case) text itself,
    trimmed. Nothing else is normalised.
    """
    text = text.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = _CHOICE.findall(text.upper())
    pick = letters[-1] if letters else text.strip().strip(".")
    return pick.rstrip(".").rstrip("/")


def is_choice_label(label: object) -> bool:
    """Whether the official reward switches to letter mode for this label: it is exactly ``A``-``D``."""
    return isinstance(label, str) and label in MULTIPLE_CHOICE_LABELS


def official_extract(text: str, r1_style: bool = False, multiple_choice: bool = False,
                     label: Optional[str] = None) -> str:
    """Extract and normalise the final answer exactly as the official reward does (§6.1); ``""`` if none.

    ``r1_style``: keep only the text after the last ``<answer>`` and strip the *characters* of ``</answer>``
    from the right (a character-set strip, as in the official code). Letter mode (§2.2) -- the official
    reward's extraction when the label is exactly ``A``-``D`` -- is used when ``multiple_choice`` is True or
    ``label`` is such a label: it reads the whole text (``r1_style`` does not apply there, as officially) and
    returns the last stand-alone ``A``-``D`` of the upper-cased text, else the trimmed text itself.
    """
    text = text.replace(_PRM_STEP_MARKER, "")
    if multiple_choice or is_choice_label(label):
        return _choice_letter(text)
    if r1_style:
        text = text.split("<answer>")[-1].rstrip("</answer>")

    if "final answer is $" in text and "$. I hope" in text:  # 1. Minerva
        pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "boxed" in text:  # 2. last box
        pred = _after_last_boxed(text)
    elif "he answer is" in text:  # 3.
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:  # 4.
        pred = text.split("final answer is")[-1].strip()
    elif "答案是" in text:  # 5. up to the first blank line
        pred = text.split("答案是")[1].strip().split("\n\n")[0].strip()
    else:  # 6. last number (W3)
        numbers = _LAST_NUMBER.findall(text.replace(",", ""))
        pred = numbers[-1] if numbers else ""
    return official_normalize(_clean_extracted(pred))


def _clean_extracted(pred: str) -> str:
    """The clean-up between extraction and normalisation: each newline with the whitespace after it goes,
    then one leading ``:``, one trailing ``.`` and then one trailing ``/``."""
    pred = re.sub(r"\n\s*", "", pred)
    if pred.startswith(":"):
        pred = pred[1:]
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    return pred


def official_ground_truth(text: str, label: str, r1_style: bool = False) -> bool:
    """The official ground-truth reward (key ``math``) in-process: letter mode for an ``A``-``D`` label, else
    :func:`official_extract`, then :func:`official_grade_answer` against the label. No SymPy deadline."""
    return official_grade_answer(official_extract(text, r1_style=r1_style, label=label), label)


# --------------------------------------------------------------------------------------------------------------
# §6.2 normalisation of the extracted string
# --------------------------------------------------------------------------------------------------------------

# Unit words (mostly from MathQA). Entries are regular expressions as in the original (``.`` is a wildcard).
# Single letters here are the cause of W1.
_UNIT_WORDS_BASE = [
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile", "q .", "monkey",
    "prime", "ratio", "profit of rs", "rd", "o", "gm", "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab",
    "way", "west", "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .", "t", "a", "h", "no change", "men",
    "soldier", "pie", "bc", "excess", "st", "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise",
    "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f", "profit", "minw", "yr",
    "women", "feet", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are", "rupee", "rounds", "cubic", "cc",
    "mtr", "s", "ohm", "number", "kmph", "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube",
    "mt", "sq inch", "mp", "∏ cm ³", "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g",
    "month", "km", "m", "cm", "mm", "apple", "liter", "loss", "yard", "pure", "year", "increase", "decrease", "d",
    "less", "Surface", "litre", "pi sq m", "s .", "metre", "meter", "inch",
]
UNIT_WORDS = _UNIT_WORDS_BASE + [w + "s" for w in _UNIT_WORDS_BASE]
_UNIT_PREFIXES = [(w, w.split(".", 1)[0]) for w in UNIT_WORDS]


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"  # exactly the regex \w on str patterns


def _unit_matches_at(s: str, q: int, unit: str) -> bool:
    if q + len(unit) > len(s):
        return False
    return all(u == "." or u == c for u, c in zip(unit, s[q:q + len(unit)]))


def strip_unit_word(s: str, unit: str) -> str:
    r"""``re.sub(r"(^|\W)" + unit + r"($|\W)", r"\1\2", s)`` for a newline-free ``s``, in linear time.

    ``unit`` may contain ``.`` wildcards (as upstream, where the words are used as regular expressions).
    The regex consumes the non-word characters on both sides, so a match cannot reuse the right-hand
    character of the previous one; this scan reproduces that exactly (checked against ``re`` in the tests).
    """
    prefix = unit.split(".", 1)[0]
    n, width = len(s), len(unit)
    out: list[str] = []
    copied = pos = 0  # copied: s[:copied] is in out; pos: where the regex scan would resume
    q = s.find(prefix, pos)
    while q != -1:
        end = q + width
        if (_unit_matches_at(s, q, unit)
                and ((q == 0 and pos == 0) or (q >= 1 and q - 1 >= pos and not _is_word(s[q - 1])))
                and (end == n or not _is_word(s[end]))):
            out.append(s[copied:q])
            copied = end
            pos = end + 1 if end < n else end
            q = s.find(prefix, pos)
        else:
            q = s.find(prefix, q + 1)
    if not out:
        return s
    out.append(s[copied:])
    return "".join(out)

def _words_to_number(text: str) -> str:
    """Number words to digits with ``word2number.w2n.word_to_num`` (the package the official code uses, pinned
    at 1.1), quirks included: every word that is not a number word is ignored (``"two apples"`` -> ``"2"``), a
    digit string becomes an int (``"025"`` -> ``"25"``); on any failure the text is returned unchanged."""
    from word2number import w2n

    try:
        return str(w2n.word_to_num(text))
    except Exception:  # noqa: BLE001 - parity: the official converter swallows every failure
        return text


def _fix_fracs(string: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1b`` -> ``\\frac{1}{b}``; returns the input on a malformed tail."""
    parts = string.split("\\frac")
    out = parts[0]
    for sub in parts[1:]:
        out += "\\frac"
        if sub.startswith("{"):
            out += sub
            continue
        if len(sub) < 2:
            return string
        a, b, rest = sub[0], sub[1], sub[2:]
        out += "{" + a + "}" + ("{" + b + "}" + rest if b != "{" else b + rest)
    return out


def _fix_a_slash_b_qwen(string: str) -> str:
    """Integer (or ``sqrt``) ``a/b`` -> ``\\frac{a}{b}`` when the text is exactly that."""
    parts = string.split("/")
    if len(parts) != 2:
        return string
    a, b = parts
    try:
        ai = a if "sqrt" in a else int(a)
        bi = b if "sqrt" in b else int(b)
    except ValueError:
        return string
    if string != f"{ai}/{bi}":
        return string
    return "\\frac{" + str(ai) + "}{" + str(bi) + "}"


def _remove_trailing_text(string: str) -> str:
    """Linear-time equivalent of ``re.sub(r"\\\\text{.*?}$", "", s)`` for a string without newlines."""
    if not string.endswith("}"):
        return string
    i = string.find("\\text{")
    if i == -1 or i + 6 > len(string) - 1:
        return string
    return string[:i]


def _sub_to_next_brace(string: str, opener: str, keep: bool, prefix: str = "") -> str:
    r"""Linear-time ``re.sub(re.escape(opener) + r"(.*?)\}", prefix + (r"\1" if keep else ""), s)``.

    The content runs to the *next* ``}`` (no nesting), as with the lazy upstream regexes; once an opener has
    no ``}`` after it, no later one can, so the scan stops (the regex would retry every opener: quadratic).
    """
    out: list[str] = []
    pos = 0
    while True:
        i = string.find(opener, pos)
        if i == -1:
            break
        j = string.find("}", i + len(opener))
        if j == -1:
            break
        out.append(string[pos:i] + prefix)
        if keep:
            out.append(string[i + len(opener):j])
        pos = j + 1
    out.append(string[pos:])
    return "".join(out)


def official_normalize(string: str) -> str:
    """The official parser's normaliser (§6.2), applied to every extracted answer (not to labels)."""
    string = str(string).strip().replace("\n", "").rstrip(".")
    string = string.replace("\\!", "")
    string = _sub_to_next_brace(string, "\\begin{array}{", keep=False, prefix="\\begin{pmatrix}")
    string = string.replace("\\end{array}", "\\end{pmatrix}").replace("bmatrix", "pmatrix")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    string = string.replace("\\left", "").replace("\\right", "").replace("\\{", "{").replace("\\}", "}")

    stripped = _remove_trailing_text(string).strip()  # a trailing \text{...} is a unit
    if stripped and stripped != string:
        string = stripped
    for _ in range(2):  # unit words, twice (W1)
        for unit, prefix in _UNIT_PREFIXES:
            if prefix in string:  # cheap pre-check: the unit's literal start must occur
                candidate = strip_unit_word(string, unit)
                if candidate:
                    string = candidate

    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.replace("\\$", "").replace("$", "").replace("\\(", "").replace("\\)", "")
    string = _words_to_number(string)
    string = _sub_to_next_brace(string, "\\text{", keep=True)
    for prefix in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        string = string.replace(prefix, "")
    string = string.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    string = string.replace("\\%", "").replace("%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    string = string.replace("infinity", "\\infty")
    if "\\infty" not in string:
        string = string.replace("inf", "\\infty")
    string = string.replace("+\\inity", "\\infty")
    string = string.replace("and", "").replace("\\mathbf", "")
    string = _sub_to_next_brace(string, "\\mbox{", keep=False)
    if "j" in string and "i" not in string:
        string = string.replace("j", "i")
    # "(?<!\d)" only anchors each digit run at its start: same matches as upstream, but linear, not quadratic
    string = re.sub(r"(?<!\d)(\d+)\.0*([^\d])", r"\1\2", string)
    string = re.sub(r"(?<!\d)(\d+)\.0*$", r"\1", string)
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    sides = string.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:  # short "k=" prefix
        string = sides[1]
    string = re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", string)
    string = string.replace(" ", "")
    string = _fix_fracs(string)
    return _fix_a_slash_b_qwen(string)


# --------------------------------------------------------------------------------------------------------------
# §2.4 format reward
# --------------------------------------------------------------------------------------------------------------


def box_only_format(text: str) -> bool:
    """The paper's format reward: the content of the **last** ``boxed`` occurrence is non-empty after the
    official clean-up (``ки`` deleted; newlines with the whitespace after them, one leading ``:``, one trailing
    ``.`` then ``/`` removed) and :func:`official_normalize`.

    ``\\fbox{3}`` -> False (no ``boxed``); ``\\boxed{:}``, ``\\boxed{/}``, ``\\boxed{ки}`` -> False; plain prose
    ``"the boxed answer"`` -> True (the text after ``boxed`` up to the next ``$``).
    """
    return official_box_extract(text) != ""


def official_box_extract(text: str) -> str:
    """The answer the format reward looks at: the last ``boxed`` content, cleaned up and normalised as by
    :func:`official_extract`; ``""`` when there is no ``boxed``."""
    text = text.replace(_PRM_STEP_MARKER, "")
    if "boxed" not in text:
        return ""
    return official_normalize(_clean_extracted(_after_last_boxed(text)))


# --------------------------------------------------------------------------------------------------------------
# §6.3 grading: Hendrycks normalisation, PRM800K normalisation, tuples, SymPy
# --------------------------------------------------------------------------------------------------------------


def _hendrycks_fix_sqrt(string: str) -> str:
    if "\\sqrt" not in string:
        return string
    parts = string.split("\\sqrt")
    out = parts[0]
    for sub in parts[1:]:
        out += ("\\sqrt{" + sub[0] + "}" + sub[1:]) if sub[0] != "{" else "\\sqrt" + sub  # IndexError on "": parity
    return out


def _hendrycks_fix_a_slash_b(string: str) -> str:
    parts = string.split("/")
    if len(parts) != 2:
        return string
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return string
    return "\\frac{" + str(a) + "}{" + str(b) + "}" if string == f"{a}/{b}" else string


def _hendrycks_strip(string: str) -> str:
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    if "\\text{ " in string:  # units on the right
        parts = string.split("\\text{ ")
        if len(parts) != 2:
            raise ValueError("more than one '\\text{ '")  # the original asserts; the caller falls back
        string = parts[0]
    string = string.replace("\\%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    sides = string.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        string = sides[1]
    string = _hendrycks_fix_sqrt(string)
    string = string.replace(" ", "")
    if any(not sub for sub in string.split("\\frac")[1:]):
        raise IndexError("\\frac with nothing after it")  # the original indexes sub[0]; the caller falls back
    string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    return _hendrycks_fix_a_slash_b(string)


_ENCLOSING_TEXT = re.compile(r"^\\text\{(?P<text>.+?)\}$")


def hendrycks_normalize(answer: Optional[str]) -> Optional[str]:
    """The Hendrycks-MATH normaliser (``math_normalize.normalize_answer``); returns the input on failure."""
    if answer is None:
        return None
    answer = answer.strip()
    try:
        m = _ENCLOSING_TEXT.search(answer)
        if m is not None:
            answer = m.group("text").strip()
        return _hendrycks_strip(answer)
    except Exception:  # noqa: BLE001 - parity: any failure returns the (partly) cleaned input
        return answer


_PRM_UNITS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week", "month",
              "year", "foot", "feet", "inch", "yard")
_PRM_UNIT_PATTERNS = [re.compile(unit + r"(es)?(s)? *(\^[0-9]+)?") for unit in _PRM_UNITS]
_THOUSANDS_COMMA = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_MIXED_NUMBER = re.compile(r"([0-9]) +([0-9])")


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _is_int_value(x: float) -> bool:
    try:
        return abs(x - int(round(x))) <= 1e-7
    except (OverflowError, ValueError):
        return False


def _strip_thousands_commas(expr: str) -> str:
    while True:
        nxt = _THOUSANDS_COMMA.sub(r"\1\3\4", expr)
        if nxt == expr:
            return nxt
        expr = nxt


def _str_is_int(x: str) -> bool:
    try:
        return _is_int_value(float(_strip_thousands_commas(x)))
    except ValueError:
        return False


def _is_frac(expr: str) -> bool:
    return bool(re.search(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$", expr))


def _latex_to_text(expr: str) -> str:
    import logging

    from pylatexenc import latex2text

    logging.getLogger("pylatexenc").setLevel(logging.ERROR)  # it warns once per malformed macro, to stderr

    expr = expr.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    expr = latex2text.LatexNodes2Text().latex_to_text(expr)
    for a, b in (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*")):
        expr = expr.replace(a, b)
    return expr.strip()


def prm800k_normalize(expr: Optional[str]) -> Optional[str]:
    """The second normalisation of ``grade_answer`` (§6.3 step 3)."""
    if expr is None:
        return None
    m = _ENCLOSING_TEXT.search(expr)
    if m is not None:
        expr = m.group("text")
    expr = expr.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    expr = expr.replace(" or ", " , ").replace(" and ", " , ")
    expr = expr.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for pattern in _PRM_UNIT_PATTERNS:
        expr = pattern.sub("", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = re.sub(r",\\! *", "", expr)
    if _is_float(expr) and _is_int_value(float(expr)):
        expr = str(int(round(float(expr))))
    if "\\" in expr:
        try:
            expr = _latex_to_text(expr)
        except Exception:  # noqa: BLE001 - parity
            pass
    expr = re.sub(r"- *", "-", expr)
    expr = _MIXED_NUMBER.sub(r"\1+\2", expr)
    expr = expr.replace(" ", "").replace("{", "").replace("}", "").lower()
    if _str_is_int(expr):
        try:
            expr = str(int(float(expr.replace(",", ""))))
        except (ValueError, OverflowError):
            pass
    return expr


_TUPLE_CHARS = "()[]"
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _split_tuple(expr: str) -> list[str]:
    expr = _strip_thousands_commas(expr)
    if not expr:
        return []
    if (len(expr) > 2 and expr[0] in _TUPLE_CHARS and expr[-1] in _TUPLE_CHARS
            and all(ch not in expr[1:-1] for ch in _TUPLE_CHARS)):
        return [e.strip() for e in expr[1:-1].split(",")]
    return [expr]


def sympy_allowed(expr: str) -> bool:
    """The official refusal rule: no more than 2 distinct letters, no ``^{``/``^(``, no chained/multi-digit powers."""
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    if len(letters) > 2 or "^{" in expr or "^(" in expr:
        return False
    return re.search(r"\^[0-9]+\^", expr) is None and re.search(r"\^[0-9][0-9]+", expr) is None


def sympy_equal(ground_truth_elem: str, given_elem: str) -> bool:
    """``simplify((gt) - (given)) == 0`` with implicit multiplication; any exception or refusal is False."""
    expr = f"({ground_truth_elem})-({given_elem})"
    if not sympy_allowed(expr):
        return False
    try:
        import sympy
        from sympy.parsing import sympy_parser

        parsed = sympy_parser.parse_expr(
            expr.replace("^", "**"),
            transformations=sympy_parser.standard_transformations + (sympy_parser.implicit_multiplication_application,),
        )
        return bool(sympy.simplify(parsed) == 0)
    except Exception:  # noqa: BLE001 - parity: the official grader swallows everything
        return False


def official_prefilter(given: Optional[str], ground_truth: str) -> tuple[Optional[bool], list[tuple[str, str]]]:
    """All of :func:`official_grade_answer` except the SymPy calls.

    Returns ``(verdict, [])`` when the string rules decide, or ``(None, pairs)`` where every
    ``(gt_elem, given_elem)`` pair must pass :func:`sympy_equal` for the answer to be correct.
    """
    if given is None:
        return False, []
    if hendrycks_normalize(ground_truth) == hendrycks_normalize(given):
        return True, []
    gt_norm = prm800k_normalize(ground_truth)
    given_norm = prm800k_normalize(given)
    if gt_norm is None:
        return False, []
    if gt_norm == given_norm:
        return True, []
    if not given_norm:
        return False, []
    gt_elems, given_elems = _split_tuple(gt_norm), _split_tuple(given_norm)
    if len(gt_elems) > 1 and (gt_norm[0] != given_norm[0] or gt_norm[-1] != given_norm[-1]):
        return False, []
    if len(gt_elems) != len(given_elems):
        return False, []
    pending: list[tuple[str, str]] = []
    for gt_elem, given_elem in zip(gt_elems, given_elems):
        if _is_frac(gt_elem) and _is_frac(given_elem):
            ok = gt_elem == given_elem  # unreduced fractions must match as strings (W5)
        elif _str_is_int(gt_elem) != _str_is_int(given_elem):
            ok = False
        elif _PLAIN_INT.fullmatch(gt_elem) and _PLAIN_INT.fullmatch(given_elem):
            ok = int(gt_elem) == int(given_elem)  # what SymPy answers for two integer literals ("-0" == "0")
        elif not sympy_allowed(f"({gt_elem})-({given_elem})"):
            ok = False
        else:
            pending.append((gt_elem, given_elem))
            continue
        if not ok:
            return False, []
    return (None, pending) if pending else (True, [])


def official_grade_answer(given: Optional[str], ground_truth: str) -> bool:
    """PRM800K ``grade_answer(given, ground_truth)`` (§6.3), in-process and without a timeout (as the original)."""
    verdict, pending = official_prefilter(given, ground_truth)
    if verdict is not None:
        return verdict
    return all(sympy_equal(g, a) for g, a in pending)
