"""Answer extraction: find the final answer in a model response.

Three modes, each returning ``None`` when there is no answer (never an empty string that could silently match
an empty label):

- ``"boxed"`` (the default grader's mode): the content of the **last** ``\\boxed{...}`` or ``\\fbox{...}``,
  brace-balanced (nested braces fine, ``\\{``/``\\}`` escapes skipped), or the token after the space form
  ``\\boxed 5``. An unclosed last box (a truncated response) is no answer -- an earlier box is *not* used.
- ``"r1"``: the text after the last ``<answer>`` up to the next ``</answer>`` (or the end); inside it, the last
  box if there is one, else the stripped text. No ``<answer>`` tag -> no answer.
- ``"official"``: :func:`spurious.grading.official.official_extract` (the paper's parser with its fallbacks:
  Minerva, last ``boxed``, "he answer is", "final answer is", 答案是, last number), ``""`` mapped to ``None``.
  The official extractor also *normalises* its result (``official_normalize``).

All scans are linear in the response length.
"""

from __future__ import annotations

import re
from typing import Optional

from spurious.grading.official import official_extract

__all__ = ["extract_answer", "last_boxed", "r1_answer", "EXTRACT_MODES"]

EXTRACT_MODES = ("boxed", "r1", "official")

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


def _balanced_content(text: str, open_index: int) -> Optional[str]:
    """The content between ``text[open_index] == "{"`` and its matching ``}``; None if it never closes."""
    depth = 0
    i, n = open_index, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "{}":
            i += 2  # an escaped brace is content, not structure
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[open_index + 1:i]
        i += 1
    return None


def last_boxed(text: str) -> Optional[str]:
    """Content of the last ``\\boxed``/``\\fbox`` in ``text`` (stripped), or None if absent, unclosed or empty."""
    last = None
    for last in _BOX_COMMAND.finditer(text):
        pass
    if last is None:
        return None
    i, n = last.end(), len(text)
    while i < n and text[i] in " \t":
        i += 1
    if i < n and text[i] == "{":
        content = _balanced_content(text, i)
    elif i > last.end():  # space form: "\boxed 5" takes the next token
        m = re.compile(r"[^\s$]+").match(text, i)
        content = m.group(0) if m else None
    else:
        content = None
    if content is None:
        return None
    content = content.strip()
    return content or None


def r1_answer(text: str) -> tuple[Optional[str], bool]:
    """The ``"r1"`` answer and whether it came from a box (False: it is the raw text between the tags)."""
    k = text.rfind("<answer>")
    if k == -1:
        return None, False
    inner = text[k + len("<answer>"):]
    end = inner.find("</answer>")
    if end != -1:
        inner = inner[:end]
    boxed = last_boxed(inner)
    if boxed is not None:
        return boxed, True
    inner = inner.strip()
    return (inner or None), False


def extract_answer(text: str, mode: str = "boxed") -> Optional[str]:
    """The final answer in ``text`` according to ``mode`` (``"boxed"``, ``"r1"`` or ``"official"``), or None."""
    if not isinstance(text, str):
        raise TypeError(f"response must be a str, got {type(text).__name__}")
    if mode == "boxed":
        return last_boxed(text)
    if mode == "r1":
        return r1_answer(text)[0]
    if mode == "official":
        return official_extract(text) or None
    raise ValueError(f"unknown extraction mode {mode!r}; choose one of {', '.join(EXTRACT_MODES)}")
