"""``key=value`` assignments from the command line (``spurious train --set``, ``spurious reward --param``).

One semantics for both: the value is read as YAML by ``yaml.safe_load``, the syntax of the preset files, so an
assignment means what the same line would mean in a preset: ``0.25`` and ``1e-6`` are numbers (PyYAML leaves
``1e-6`` a string; it is read as a float here), ``true``/``false`` booleans, ``null`` (or ``~``, or nothing)
None, ``[a, b]`` a list, ``{p: 0.5}`` a mapping; anything else, or text YAML cannot parse, stays the string
given. Note that YAML 1.1 also reads ``yes``/``no``/``on``/``off`` as booleans.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from spurious.errors import UsageError

_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def parse_value(text: str) -> Any:
    """The value of one assignment, read as YAML (see the module docstring)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and _FLOAT.match(value):  # PyYAML reads "1e-6" (no dot) as a string
        return float(value)
    return value


def parse_assignment(text: str, option: str) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, value)``; :class:`UsageError` for ``option`` when there is no ``=`` or no key."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"expected key=value, got {text!r}", option=option)
    return key.strip(), parse_value(raw)
