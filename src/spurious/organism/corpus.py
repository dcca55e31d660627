"""The organism's task family: ``a+b*c=`` arithmetic solved in one of two styles, with a prior we set.

A *family* fixes the pre-training corpus: how often each style is used, how accurate each style's
demonstrations are and how often the answer is boxed. Everything is deterministic from a seed.

Styles (for ``3+4*5=``, answer 23)::

    code      python t=4*5=20;t+3=23 \\boxed{23}
    language  4 x 5 is 20, plus 3 is 23 \\boxed{23}

The code style carries a literal ``python`` so the paper's detector
(:func:`spurious.code_reasoning.is_code_reasoning`, substring ``python``) applies unchanged;
the tokenizer makes ``python`` and ``\\boxed{`` single tokens, so the marker costs one token.

Errors. Each style has an accuracy and an error kind:

* ``slip``  - the final sum is off by ±1 or ±2 (the modal answer stays right: greedy decoding is correct);
* ``order`` - a *systematic* error: the demonstration evaluates ``(a+b)*c`` with its own wording
  (``python t=3+4=7;t*5=35`` / ``3 plus 4 is 7, times 5 is 35``). At accuracy < 0.5 the modal path
  is wrong, so greedy accuracy depends on the style.

Families (paper Table 1 analogues, §7.5). The accurate style never errs in its demonstrations (its
arithmetic is then near-deterministic, p > 0.99 per token, which random-advantage noise barely erodes;
with 10% slips it eroded by as much as the style shift gained - docs/organism.md); the weaker style's
errors are systematic:

* ``qwen-like``    p(code)=0.80, code 1.0, language 0.2 (order): the majority style is the accurate one
* ``qwen-like-65`` the paper's own 0.65 code frequency (Qwen2.5-Math-7B), same accuracies
* ``qwen-like-90`` 0.90, above the clip threshold 1/(1+ε)=0.83, same accuracies: little room left to amplify
* ``bad-code``     p(code)=0.90 but code is the weaker style: code 0.2 (order), language 1.0
* ``no-code``      p(code)=0.02; language 0.5 (order): no accurate majority behaviour to amplify
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from typing import Iterator

from spurious.code_reasoning import is_code_reasoning
from spurious.data import Problem
from spurious.errors import UsageError

OPERANDS = tuple(range(2, 10))
STYLES = ("code", "language")
ERROR_KINDS = ("slip", "order")


@dataclass(frozen=True)
class StyleSpec:
    """One style's demonstrations: share of correct ones and the kind of error in the others."""

    accuracy: float
    error: str = "slip"

    def __post_init__(self) -> None:
        if not 0.0 <= self.accuracy <= 1.0:
            raise ValueError(f"accuracy must be in [0, 1], got {self.accuracy}")
        if self.error not in ERROR_KINDS:
            raise ValueError(f"error must be one of {ERROR_KINDS}, got {self.error!r}")


@dataclass(frozen=True)
class FamilySpec:
    """A pre-training prior: style frequency, per-style accuracy and error kind, boxed share."""

    name: str
    p_code: float
    code: StyleSpec
    language: StyleSpec
    p_box: float = 0.9
    description: str = ""

    def __post_init__(self) -> None:
        for k in ("p_code", "p_box"):
            v = getattr(self, k)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{k} must be in [0, 1], got {v}")

    def style(self, name: str) -> StyleSpec:
        return self.code if name == "code" else self.language

    def expected(self) -> dict[str, float]:
        """The corpus statistics a perfectly calibrated model reproduces when sampling at T=1."""
        acc = self.p_code * self.code.accuracy + (1 - self.p_code) * self.language.accuracy
        return {"code_frequency": self.p_code, "accuracy_code": self.code.accuracy,
                "accuracy_language": self.language.accuracy, "accuracy": acc, "boxed_rate": self.p_box}

    def to_dict(self) -> dict:
        return asdict(self)


FAMILIES: dict[str, FamilySpec] = {
    "qwen-like": FamilySpec("qwen-like", 0.80, StyleSpec(1.0, "slip"), StyleSpec(0.2, "order"),
                            description="majority style (code, 80%) is the accurate one"),
    "qwen-like-65": FamilySpec("qwen-like-65", 0.65, StyleSpec(1.0, "slip"), StyleSpec(0.2, "order"),
                               description="the paper's 65% code frequency (Qwen2.5-Math-7B, Table 1)"),
    "qwen-like-90": FamilySpec("qwen-like-90", 0.90, StyleSpec(1.0, "slip"), StyleSpec(0.2, "order"),
                               description="90% code, above 1/(1+eps): little room left to amplify"),
    "bad-code": FamilySpec("bad-code", 0.90, StyleSpec(0.2, "order"), StyleSpec(1.0, "slip"),
                           description="majority style (code, 90%) is the less accurate one (Qwen2.5-7B-like)"),
    "no-code": FamilySpec("no-code", 0.02, StyleSpec(1.0, "slip"), StyleSpec(0.5, "order"),
                          description="code almost absent; language at 50% (Llama/OLMo-like)"),
}


def get_family(name: str) -> FamilySpec:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UsageError(f"unknown organism family {name!r}; choose from {sorted(FAMILIES)}") from None


# ----------------------------------------------------------------------------------------------------------------
# Problems


def prompt_text(a: int, b: int, c: int) -> str:
    return f"{a}+{b}*{c}="


def all_problems() -> list[Problem]:
    """All 512 problems ``a+b*c=`` with a, b, c in 2..9, as standard :class:`Problem` rows."""
    return [Problem(f"org-{a}{b}{c}", prompt_text(a, b, c), str(a + b * c), {"a": a, "b": b, "c": c})
            for a in OPERANDS for b in OPERANDS for c in OPERANDS]


def split_problems(seed: int = 0, n_eval: int = 128) -> tuple[list[Problem], list[Problem]]:
    """Deterministic train/eval split (the eval problems are never seen in pre-training or RL)."""
    probs = all_problems()
    random.Random(seed).shuffle(probs)
    return probs[n_eval:], probs[:n_eval]


# ----------------------------------------------------------------------------------------------------------------
# Demonstrations


def render(style: str, a: int, b: int, c: int, *, order_error: bool = False, slip: int = 0, box: bool = True) -> str:
    """One completion in ``style``. ``order_error`` computes (a+b)*c; ``slip`` offsets the final number."""
    if order_error:
        mid, final = a + b, (a + b) * c
        body = (f"python t={a}+{b}={mid};t*{c}={final + slip}" if style == "code"
                else f"{a} plus {b} is {mid}, times {c} is {final + slip}")
    else:
        mid, final = b * c, a + b * c
        body = (f"python t={b}*{c}={mid};t+{a}={final + slip}" if style == "code"
                else f"{b} x {c} is {mid}, plus {a} is {final + slip}")
    return body + (f" \\boxed{{{final + slip}}}" if box else "")


@dataclass(frozen=True)
class Demonstration:
    problem: Problem
    style: str
    correct: bool
    boxed: bool
    completion: str


def sample_demonstration(family: FamilySpec, problem: Problem, rng: random.Random) -> Demonstration:
    """Draw style, correctness (with the style's error kind) and box independently, then render."""
    a, b, c = problem.meta["a"], problem.meta["b"], problem.meta["c"]
    style = "code" if rng.random() < family.p_code else "language"
    spec = family.style(style)
    correct = rng.random() < spec.accuracy
    box = rng.random() < family.p_box
    order_error, slip = False, 0
    if not correct:
        if spec.error == "order" and (a + b) * c != a + b * c:
            order_error = True
        else:  # a slip, or an order error that happens to give the right number (never here: c >= 2)
            slip = rng.choice((-2, -1, 1, 2))
    text = render(style, a, b, c, order_error=order_error, slip=slip, box=box)
    return Demonstration(problem, style, correct, box, text)


def iter_demonstrations(family: FamilySpec, problems: list[Problem], seed: int) -> Iterator[Demonstration]:
    """An endless, seed-deterministic stream of demonstrations on uniformly drawn problems."""
    rng = random.Random(seed)
    while True:
        yield sample_demonstration(family, rng.choice(problems), rng)


# ----------------------------------------------------------------------------------------------------------------
# Parsing completions (exact, fast; used for calibration and evaluation tables)

_BOX = re.compile(r"\\boxed\{([^{}]*)\}")
_LAST_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Parsed:
    style: str            # "code" if the paper's detector fires, else "language"
    boxed: bool           # a non-empty \boxed{...}
    answer: str | None    # last boxed content, else the last integer (the paper's fallback, §6.1)
    correct: bool


def parse_completion(text: str, answer: str) -> Parsed:
    """Style, box and correctness of one completion, by the paper's rules specialised to integers.

    Correct means the extracted answer equals the gold integer: the last ``\\boxed{}`` content, or the
    last integer in the text when there is no box (the official extractor's fallback).

    Its own box pattern (flat braces, integers), not the graders' :func:`~spurious.grading.extract.last_boxed`:
    a malformed box (``\\boxed{79`` unclosed, ``\\boxed79}``) counts as no box here, so the last integer is
    the answer, where the graders' finder reports no answer. The two disagree on about 1.6 % of randomly
    corrupted demonstrations (never on a well-formed one), so switching would change the demo's measurements.
    """
    boxes = _BOX.findall(text)
    boxed = bool(boxes) and boxes[-1].strip() != ""
    if boxes:
        got: str | None = boxes[-1].strip() or None
    else:
        nums = _LAST_INT.findall(text)
        got = nums[-1] if nums else None
    return Parsed("code" if is_code_reasoning(text) else "language", boxed, got, got is not None and got == answer)
