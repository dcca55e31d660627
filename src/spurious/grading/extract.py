"""Answer extraction: find the final answer in a model response.

Three modes, each returning ``None`` when there is no answer (never an empty string that could silently match
an empty label):

- ``"boxed"`` (the default grader's mode): the content of the **last** ``\\boxed{...}`` or ``\\fbox{...}``,
  brace-balanced (nested braces fine, ``\\{``/``\\}`` escapes skipped), or the token after the space form
  ``\\boxed 5``. An unclosed last box (a truncated response) is no answer -- an earlier box is *not* used.
  A final-answer statement *after* the last box (``... \\boxed{255} ... The final answer is $10,455$.``), or in
  a response without any box, is the answer instead: :func:`final_statement`.
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

__all__ = ["extract_answer", "last_boxed", "all_boxed", "boxed_answer", "final_statement", "r1_answer",
           "EXTRACT_MODES"]

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


_SPACE_FORM_TOKEN = re.compile(r"[^\s$]+")


def _box_at(text: str, start: int) -> tuple[Optional[str], int]:
    """The box whose command ends at ``start``: its stripped content (None if unclosed or empty) and the index
    just after it (``len(text)`` when it never closes)."""
    i, n = start, len(text)
    while i < n and text[i] in " \t":
        i += 1
    if i < n and text[i] == "{":
        content = _balanced_content(text, i)
        end = i + len(content) + 2 if content is not None else n
    elif i > start:  # space form: "\boxed 5" takes the next token
        m = _SPACE_FORM_TOKEN.match(text, i)
        content, end = (m.group(0), m.end()) if m else (None, n)
    else:
        content, end = None, n
    content = content.strip() if content is not None else None
    return content or None, end


def _last_box(text: str) -> tuple[Optional[str], int]:
    """The last box's content (None if absent, unclosed or empty) and where it ends (-1: there is no box)."""
    last = None
    for last in _BOX_COMMAND.finditer(text):
        pass
    if last is None:
        return None, -1
    return _box_at(text, last.end())


def last_boxed(text: str) -> Optional[str]:
    """Content of the last ``\\boxed``/``\\fbox`` in ``text`` (stripped), or None if absent, unclosed or empty."""
    return _last_box(text)[0]


def all_boxed(text: str) -> list[str]:
    """The contents of every top-level box, in order (boxes inside a box are part of its content); ``[]`` when
    any box is unclosed or empty (a truncated or malformed response has no box list)."""
    out: list[str] = []
    end = 0
    for m in _BOX_COMMAND.finditer(text):
        if m.start() < end:
            continue  # nested inside the previous box
        content, end = _box_at(text, m.end())
        if content is None:
            return []
        out.append(content)
    return out


_FINAL_MARKER = re.compile(r"final answer is\s*:?\s*", re.IGNORECASE)
_DELIMITED = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_FULL_STOP = re.compile(r"\.(?:\s|$)")


def final_statement(text: str, start: int = 0) -> Optional[str]:
    """The answer stated by the last ``final answer is`` at or after ``text[start]``: the math it opens
    (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) or, unwrapped, the words up to a full stop or the end of
    the line. None when there is no such statement, when it is empty or when it holds a box (the box decides)."""
    last = None
    for last in _FINAL_MARKER.finditer(text, start):
        pass
    if last is None:
        return None
    i = last.end()
    for left, right in _DELIMITED:
        if text.startswith(left, i):
            close = text.find(right, i + len(left))
            answer = text[i + len(left):close] if close != -1 else None
            break
    else:
        line_end = text.find("\n", i)
        line = text[i:line_end if line_end != -1 else len(text)]
        stop = _FULL_STOP.search(line)
        answer = line[:stop.start()] if stop else line
    if answer is None or _BOX_COMMAND.search(answer):
        return None
    answer = answer.strip().rstrip(".").strip()
    return answer or None


def boxed_answer(text: str) -> Optional[str]:
    """The ``"boxed"`` mode answer: the last box, unless a final-answer statement follows it (see the module
    docstring)."""
    content, end = _last_box(text)
    stated = final_statement(text, max(end, 0))
    return stated if stated is not None else content


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
        return boxed_answer(text)
    if mode == "r1":
        return r1_answer(text)[0]
    if mode == "official":
        return official_extract(text) or None
    raise ValueError(f"unknown extraction mode {mode!r}; choose one of {', '.join(EXTRACT_MODES)}")
