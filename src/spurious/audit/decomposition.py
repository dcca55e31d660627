"""Where an accuracy gain comes from, computed exactly from per-problem evaluation records.

A record is one evaluated response: ``{"problem_id", "state", "code", "boxed", "length"}`` with ``state``
one of :data:`STATES`: ``"none"`` (no answer could be extracted), ``"wrong"`` (an answer, not the gold one)
or ``"correct"``. Per problem, before and after training, the shares of the three states are
``(n0, w0, c0)`` and ``(n1, w1, c1)``. Pairing a response before with one after, independently, gives the
expected net flows between states; over the problems' mean:

* **format fixes**     = mean(n0 c1 - c0 n1): responses with no answer that became correct, net;
* **reasoning**        = mean(w0 c1 - c0 w1): parsed but wrong answers that became correct, net;
* **attempt inflation** = mean(n0 w1 - w0 n1): responses with no answer that now give a wrong one, net.

Because n + w + c = 1 for every problem, two identities hold exactly (the arithmetic is in fractions):

    accuracy gain = format fixes + reasoning        (mean c1 - mean c0)
    parsed gain   = format fixes + attempt inflation (mean n0 - mean n1)

Attempt inflation moves the parsed rate, never the accuracy. With one greedy response per problem the shares
are 0 or 1 and the flows are the problems' own transitions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Mapping

STATES = ("none", "wrong", "correct")


def response_state(answer: str | None, correct: bool) -> str:
    """The state of one response from its extracted answer (None: nothing extracted) and its verdict."""
    if correct:
        return "correct"
    return "none" if answer is None or str(answer).strip() == "" else "wrong"


def state_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, Counter]:
    """Per problem id: how many of its responses are in each state."""
    out: dict[str, Counter] = {}
    for r in records:
        state = r["state"]
        if state not in STATES:
            raise ValueError(f"record of problem {r.get('problem_id')!r}: state {state!r} not in {STATES}")
        out.setdefault(str(r["problem_id"]), Counter())[state] += 1
    return out


@dataclass(frozen=True)
class Decomposition:
    """Exact components of an accuracy gain (fractions of the evaluated problems' mean)."""

    accuracy_gain: Fraction
    format_fixes: Fraction
    reasoning: Fraction
    attempt_inflation: Fraction
    parsed_gain: Fraction
    problems: int

    def as_dict(self) -> dict[str, float | int]:
        return {"accuracy_gain": float(self.accuracy_gain), "format_fixes": float(self.format_fixes),
                "reasoning": float(self.reasoning), "attempt_inflation": float(self.attempt_inflation),
                "parsed_gain": float(self.parsed_gain), "problems": self.problems}


def decompose(before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> Decomposition:
    """The gain from ``before`` to ``after`` records split into format fixes, reasoning and attempt inflation.

    Both must cover the same problems (ValueError otherwise); problems weigh equally, whatever their number
    of responses.
    """
    b, a = state_counts(before), state_counts(after)
    if set(b) != set(a):
        only = sorted(set(b) ^ set(a))
        raise ValueError(f"before and after records cover different problems (e.g. {only[0]!r})")
    if not b:
        raise ValueError("no records to decompose")
    fmt = rea = att = acc = parsed = Fraction(0)
    for pid in b:
        k0, k1 = sum(b[pid].values()), sum(a[pid].values())
        n0, w0, c0 = (Fraction(b[pid][s], k0) for s in STATES)
        n1, w1, c1 = (Fraction(a[pid][s], k1) for s in STATES)
        fmt += n0 * c1 - c0 * n1
        rea += w0 * c1 - c0 * w1
        att += n0 * w1 - w0 * n1
        acc += c1 - c0
        parsed += n0 - n1
    m = len(b)
    out = Decomposition(acc / m, fmt / m, rea / m, att / m, parsed / m, m)
    assert out.format_fixes + out.reasoning == out.accuracy_gain
    assert out.format_fixes + out.attempt_inflation == out.parsed_gain
    return out


def behaviour(records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Rates over responses: accuracy, parsed (an answer extracted), boxed, code reasoning; mean length."""
    rs = list(records)
    if not rs:
        raise ValueError("no records")
    n = len(rs)
    return {"accuracy": sum(r["state"] == "correct" for r in rs) / n,
            "parsed_rate": sum(r["state"] != "none" for r in rs) / n,
            "boxed_rate": sum(bool(r["boxed"]) for r in rs) / n,
            "code_frequency": sum(bool(r["code"]) for r in rs) / n,
            "mean_length": sum(r["length"] for r in rs) / n}
