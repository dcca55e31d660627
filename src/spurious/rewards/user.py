"""User rewards: plain functions wrapped as :class:`Reward`, and loading them by import path.

Two function shapes are accepted:

* batch: ``f(samples) -> list[float]``, one positional parameter (a list of :class:`Sample`);
* per sample: ``f(prompt, response, answer, **kw) -> float``, recognised by a parameter named ``response``.
  It also receives ``step``, ``prompt_index``, ``sample_index``, ``group``, ``meta`` and the reward's params
  where its signature accepts them.

A function may set ``needs_label = True`` / ``group_level = True`` attributes; they default to False.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Sequence

from spurious.rewards.base import Reward, Sample

_SAMPLE_FIELDS = ("prompt", "response", "answer", "group", "step", "prompt_index", "sample_index", "meta")


class FunctionReward(Reward):
    """A user function as a reward (batch or per-sample form, see the module docstring)."""

    def __init__(self, func: Callable, name: str | None = None, **params: Any):
        self.func = func
        self.name = name or getattr(func, "__name__", type(func).__name__)
        self.needs_label = bool(getattr(func, "needs_label", False))
        self.group_level = bool(getattr(func, "group_level", False))
        self._params = params
        sig = _signature(func)
        names = set(sig.parameters) if sig else set()
        self.per_sample = "response" in names
        self._var_kw = sig is None or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        self._accepts = names
        if params and not self._var_kw:
            unknown = sorted(set(params) - names)
            if unknown:
                raise ValueError(f"reward {self.name!r} takes no parameter(s) {unknown}; "
                                 f"its signature is {self.name}{sig}")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def score(self, samples: Sequence[Sample]) -> list[float]:
        if not self.per_sample:
            values = self.func(list(samples), **self._params)
            return [_as_float(v, self.name) for v in values]
        out = []
        for s in samples:
            kw = {f: getattr(s, f) for f in _SAMPLE_FIELDS if self._var_kw or f in self._accepts}
            out.append(_as_float(self.func(**kw, **self._params), self.name))
        return out


def _signature(func: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _as_float(v: Any, name: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"reward {name!r} returned {v!r}, which is not a number") from None


def load_object(path: str) -> Any:
    """``"package.module:attr"`` -> the attribute (``attr`` may be dotted). Errors say what is wrong."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"import path {path!r} must look like 'package.module:name'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"cannot import module {module_name!r} for reward {path!r}: {e}") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r} (reward {path!r})")
        obj = getattr(obj, part)
    return obj
