"""Reward registry: names, aliases, official keys, expressions and import paths -> :class:`Reward`.

``get_reward`` accepts

* a registered name or alias: ``ground_truth``, ``gt``, ``format``, ``random``, ``mv``, ...;
* an official key of the paper's code [code]: ``math``, ``box_only_format``, ``random0.5`` (any ``randomP``),
  ``contain_python_wo_backticks``, ``no_repetition``, compounds ``X_AND_inverse_Y`` and the ``_r1_style``
  suffix (answer extraction after the last ``<answer>``);
* an import path to a user reward: ``mypkg.rewards:my_reward`` (function, Reward subclass or instance);
* an expression over all of these: ``format & !python``, ``0.5*gt + 0.5*format``, ``random(gamma=0.3) | gt``.

Keyword parameters go to every part whose constructor accepts them (``gamma`` to random parts, ``grader`` to
label-based parts); a parameter that no part accepts is an error.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable

from spurious.rewards.base import Reward
from spurious.rewards.compose import AllOf, Not
from spurious.rewards.expression import build, parse
from spurious.rewards.user import _SAMPLE_FIELDS, FunctionReward, load_object

_REGISTRY: dict[str, Any] = {}  # name -> Reward subclass or function
_ALIASES: dict[str, str] = {}  # alias -> name
_RANDOM_P = re.compile(r"random(\d+(?:\.\d*)?(?:[eE]-?\d+)?|\.\d+)")
_R1_SUFFIX = "_r1_style"


def register_reward(name: str, *aliases: str) -> Callable:
    """Class or function decorator: make a reward available to :func:`get_reward` under ``name`` and aliases."""

    def deco(obj):
        if not (isinstance(obj, type) and issubclass(obj, Reward)) and not callable(obj):
            raise TypeError(f"cannot register {obj!r} as a reward")
        for n in (name, *aliases):
            owner = _ALIASES.get(n, n if n in _REGISTRY else None)
            if owner is not None and _REGISTRY.get(owner) is not obj:
                raise ValueError(f"reward name {n!r} is already registered (to {owner!r})")
        _REGISTRY[name] = obj
        for a in aliases:
            _ALIASES[a] = name
        if isinstance(obj, type) and "name" not in obj.__dict__:
            obj.name = name
        return obj

    return deco


def list_rewards() -> dict[str, str]:
    """Every registered reward: name -> one-line description (aliases in brackets)."""
    out = {}
    for name, obj in sorted(_REGISTRY.items()):
        aliases = sorted(a for a, n in _ALIASES.items() if n == name)
        desc = obj.describe() if isinstance(obj, type) else (inspect.getdoc(obj) or name).splitlines()[0]
        out[name] = desc + (f" [aliases: {', '.join(aliases)}]" if aliases else "")
    return out


def reward_names() -> list[str]:
    """Registered names and aliases, sorted."""
    return sorted([*_REGISTRY, *_ALIASES])


def get_reward(spec: str | Reward, **params: Any) -> Reward:
    """Build a reward from a name, alias, official key, import path or expression (see the module docstring)."""
    if isinstance(spec, Reward):
        if params:
            raise ValueError(f"{spec.name!r} is already built; it takes no parameters (got {sorted(params)})")
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a reward spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    used: set[str] = set()

    def resolve(name: str, local: dict) -> Reward:
        return _resolve(name, local, params, used)

    if _is_single_name(spec):
        reward = _resolve(spec, {}, params, used, strict=True)
    else:
        reward = build(parse(spec), resolve, spec)
    unused = sorted(set(params) - used)
    if unused:
        raise ValueError(f"parameter(s) {unused} are not accepted by any part of reward {spec!r}")
    return reward


def _is_single_name(spec: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:]*", spec) is not None


def _unknown(name: str) -> ValueError:
    return ValueError(f"unknown reward {name!r}; choose from {', '.join(reward_names())}, an official key "
                      f"(randomP, X_AND_inverse_Y, ..._r1_style), an expression such as 'format & !python', "
                      f"or an import path 'package.module:function'")


def _accepted(obj: Any) -> set[str] | None:
    """Constructor/function parameter names a reward takes (None: any, it has **kwargs)."""
    if isinstance(obj, type) and obj.__init__ is object.__init__:
        return set()
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    names = list(sig.parameters)
    if isinstance(obj, type):
        return set(names) - {"self"}
    if "response" in names:  # per-sample function: the sample fields are not parameters
        return set(names) - set(_SAMPLE_FIELDS)
    return set(names[1:])  # batch function: the first parameter receives the samples


def _reject(name: str, bad: list[str], accepted: set[str]) -> ValueError:
    takes = f"it accepts {', '.join(sorted(accepted))}" if accepted else "it takes no parameters"
    return ValueError(f"reward {name!r} takes no parameter(s) {bad}; {takes}")


def _construct(obj: Any, name: str, local: dict, global_params: dict, used: set[str], strict: bool) -> Reward:
    accepted = _accepted(obj)
    for given in ((global_params if strict else {}), local):
        bad = sorted(k for k in given if accepted is not None and k not in accepted)
        if bad:
            raise _reject(name, bad, accepted or set())
    take = {k: v for k, v in global_params.items() if accepted is None or k in accepted}
    used.update(take)
    kwargs = {**take, **local}
    try:
        if isinstance(obj, type):
            return obj(**kwargs)
        return FunctionReward(obj, name=name, **kwargs)
    except TypeError as e:
        raise ValueError(f"reward {name!r}: {e}") from e


def _resolve(name: str, local: dict, global_params: dict, used: set[str], strict: bool = False) -> Reward:
    canonical = _ALIASES.get(name, name)
    if canonical in _REGISTRY:
        return _construct(_REGISTRY[canonical], canonical, local, global_params, used, strict)
    m = _RANDOM_P.fullmatch(name)
    if m:  # official randomP key, e.g. random0.5
        if "gamma" in local:
            raise ValueError(f"{name!r} already fixes gamma={m.group(1)}; do not also pass gamma")
        if strict and "gamma" in global_params:
            raise ValueError(f"{name!r} already fixes gamma={m.group(1)}; use 'random' with gamma, or drop gamma")
        g = {k: v for k, v in global_params.items() if k != "gamma"}  # a global gamma is for plain 'random'
        return _construct(_REGISTRY["random"], "random", {**local, "gamma": float(m.group(1))}, g, used, False)
    if ":" in name:
        obj = load_object(name)
        if isinstance(obj, Reward):
            if local or (strict and global_params):
                raise ValueError(f"{name!r} is a reward instance; it takes no parameters")
            return obj
        if not callable(obj):
            raise ValueError(f"{name!r} is a {type(obj).__name__}, not a reward "
                             f"(expected a function, a Reward subclass or a Reward instance)")
        return _construct(obj, getattr(obj, "__name__", name), local, global_params, used, strict)
    if "_AND_" in name:  # official compound key
        return AllOf([_resolve(part, local, global_params, used) for part in name.split("_AND_")])
    if name.startswith("inverse_"):
        return Not(_resolve(name[len("inverse_"):], local, global_params, used))
    if name.endswith(_R1_SUFFIX):
        base = name[: -len(_R1_SUFFIX)]
        obj = _REGISTRY.get(_ALIASES.get(base, base))
        if base in ("box_only_format", "format"):
            raise ValueError(f"{name!r} is not supported: the official box_only_format_r1_style is not a box check "
                             f"(1 iff the text after the last <answer> is non-empty; docs/paper.md §2.4)")
        if obj is None:
            raise _unknown(name)
        accepted = _accepted(obj)
        if accepted is not None and "extract" not in accepted:
            raise ValueError(f"{name!r}: the {_R1_SUFFIX} suffix applies only to rewards that extract an answer")
        return _construct(obj, _ALIASES.get(base, base), {**local, "extract": "r1"}, global_params, used, False)
    raise _unknown(name)
