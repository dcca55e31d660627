"""The paper's code-reasoning detector (arXiv 2506.10947; docs/paper.md §7.5) and a stricter variant.

* ``python`` rule (the paper's, and the official ``has_code``): the lower-cased response contains
  the substring ``python``. "I will use Python" and "PYTHONIC" both count. Nothing is executed.
* ``fenced`` rule (stricter): the response contains a fenced code block (```` ``` ````), any language.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```")

CODE_RULES = ("python", "fenced")


def mentions_python(text: str) -> bool:
    """The paper's rule: ``"python" in text.lower()``."""
    return "python" in text.lower()


def has_fenced_code(text: str) -> bool:
    """Stricter rule: an opening and a closing ``` fence."""
    return len(_FENCE.findall(text)) >= 2


def is_code_reasoning(text: str, rule: str = "python") -> bool:
    """Code-reasoning flag of one response under ``rule`` (``python`` or ``fenced``)."""
    if rule == "python":
        return mentions_python(text)
    if rule == "fenced":
        return has_fenced_code(text)
    raise ValueError(f"unknown code-reasoning rule {rule!r}; choose from {CODE_RULES}")
