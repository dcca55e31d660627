"""A small parser for reward expressions such as ``format & !python`` or ``0.5*gt + 0.5*format``.

Grammar (Python's precedence, loosest first)::

    or      := and ('|' and)*
    and     := sum ('&' sum)*
    sum     := product (('+' | '-') product)*
    product := unary (('*' | '/') unary)*
    unary   := ('!' | '~' | '-') unary | atom
    atom    := NUMBER | NAME [ '(' key=value (',' key=value)* ')' ] | '(' or ')'

``NAME`` is a reward name or alias (``gt``, ``random0.5``, an official key) or an import path
(``mypkg.rewards:my_reward``). ``!X`` is ``1 − X``. Parsing returns a syntax tree; :func:`build` turns it into
a :class:`Reward`, resolving names through a callback.

Ours on purpose, not Python's :mod:`ast`: the language is not Python. ``!`` is no Python operator, and names
such as ``random0.5`` or ``pkg.mod:func`` are not Python expressions, so ``ast.parse`` would need the text
rewritten first and would then report errors at columns of the rewritten text; this parser reports them at
the user's own column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from spurious.errors import SpuriousError
from spurious.rewards.base import Reward
from spurious.rewards.compose import AllOf, AnyOf, Not, Product, WeightedSum

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.:]*)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>[&|!~+\-*/(),=])
""", re.VERBOSE)


@dataclass
class Token:
    kind: str
    text: str
    pos: int


class ExpressionError(SpuriousError):
    """A malformed reward expression; the message points at the column."""

    def __init__(self, expr: str, pos: int, message: str):
        super().__init__(f"bad reward expression {expr!r}: {message} at column {pos + 1}\n"
                         f"  {expr}\n  {' ' * pos}^")


def tokenize(expr: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ExpressionError(expr, pos, f"unexpected character {expr[pos]!r}")
        if m.lastgroup != "space":
            out.append(Token(m.lastgroup, m.group(), pos))
        pos = m.end()
    out.append(Token("end", "", len(expr)))
    return out


# Syntax tree: tuples ("num", x) | ("name", name, params) | ("and"|"or"|"mul", [nodes]) | ("not"|"neg", node)
#              | ("add", [(sign, node)]) | ("div", node, node)
Node = tuple


class _Parser:
    def __init__(self, expr: str):
        self.expr, self.tokens, self.i = expr, tokenize(expr), 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        tok = self.peek()
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            want = repr(text) if text is not None else kind
            got = "end of expression" if tok.kind == "end" else repr(tok.text)
            raise ExpressionError(self.expr, tok.pos, f"expected {want}, got {got}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError(self.expr, 0, "empty expression")
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(self.expr, tok.pos, f"unexpected {tok.text!r}")
        return node

    def _chain(self, op: str, kind: str, sub: Callable[[], Node]) -> Node:
        parts = [sub()]
        while self.peek().text == op:
            self.take(op)
            parts.append(sub())
        return parts[0] if len(parts) == 1 else (kind, parts)

    def or_(self) -> Node:
        return self._chain("|", "or", self.and_)

    def and_(self) -> Node:
        return self._chain("&", "and", self.sum_)

    def sum_(self) -> Node:
        terms = [(1.0, self.product())]
        while self.peek().text in ("+", "-"):
            sign = 1.0 if self.take().text == "+" else -1.0
            terms.append((sign, self.product()))
        return terms[0][1] if len(terms) == 1 else ("add", terms)

    def product(self) -> Node:
        node = self.unary()
        factors = [node]
        while self.peek().text in ("*", "/"):
            if self.take().text == "*":
                factors.append(self.unary())
            else:
                factors = [("div", factors[0] if len(factors) == 1 else ("mul", factors), self.unary())]
        return factors[0] if len(factors) == 1 else ("mul", factors)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.text in ("!", "~"):
            self.take()
            return ("not", self.unary())
        if tok.text == "-":
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind == "number":
            self.take()
            return ("num", float(tok.text))
        if tok.kind == "name":
            self.take()
            params = self.params() if self.peek().text == "(" else {}
            return ("name", tok.text, params, tok.pos)
        if tok.text == "(":
            self.take("(")
            node = self.or_()
            self.take(")")
            return node
        got = "end of expression" if tok.kind == "end" else repr(tok.text)
        raise ExpressionError(self.expr, tok.pos, f"expected a reward name, number or '(', got {got}")

    def params(self) -> dict[str, Any]:
        self.take("(")
        out: dict[str, Any] = {}
        while self.peek().text != ")":
            key = self.take(kind="name")
            self.take("=")
            out[key.text] = self.value()
            if self.peek().text != ")":
                self.take(",")
        self.take(")")
        return out

    def value(self) -> Any:
        tok = self.peek()
        neg = False
        if tok.text == "-":
            self.take()
            neg, tok = True, self.peek()
        if tok.kind == "number":
            self.take()
            x = float(tok.text)
            x = int(x) if re.fullmatch(r"\d+", tok.text) else x
            return -x if neg else x
        if neg:
            raise ExpressionError(self.expr, tok.pos, "expected a number after '-'")
        if tok.kind == "string":
            self.take()
            return tok.text[1:-1]
        if tok.kind == "name":
            self.take()
            return {"true": True, "false": False, "none": None}.get(tok.text.lower(), tok.text)
        raise ExpressionError(self.expr, tok.pos, f"expected a parameter value, got {tok.text!r}")


def parse(expr: str) -> Node:
    """The syntax tree of a reward expression; raises :class:`ExpressionError`."""
    return _Parser(expr).parse()


Resolver = Callable[[str, dict], Reward]


def build(node: Node, resolve: Resolver, expr: str = "") -> Reward:
    """Turn a syntax tree into a :class:`Reward`; ``resolve(name, params)`` builds the leaves."""
    out = _build(node, resolve, expr)
    if not isinstance(out, Reward):
        raise ExpressionError(expr, 0, "the expression is a constant; it names no reward")
    return out


def _scaled(r: Reward | float, k: float) -> Reward | float:
    if not isinstance(r, Reward):
        return r * k
    if k == 1:
        return r
    if isinstance(r, WeightedSum):
        return WeightedSum([(w * k, p) for w, p in r.terms], r.bias * k)
    return WeightedSum([(k, r)])


def _build(node: Node, resolve: Resolver, expr: str) -> Reward | float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "name":
        return resolve(node[1], node[2])
    if kind in ("and", "or"):
        parts = [_build(n, resolve, expr) for n in node[1]]
        if not all(isinstance(p, Reward) for p in parts):
            raise ExpressionError(expr, 0, f"{'&' if kind == 'and' else '|'} combines rewards, not numbers")
        flat: list[Reward] = []
        cls = AllOf if kind == "and" else AnyOf
        for p in parts:  # a & (b & c) -> a & b & c
            flat.extend(p.parts if type(p) is cls else [p])
        return cls(flat)
    if kind == "not":
        x = _build(node[1], resolve, expr)
        return Not(x) if isinstance(x, Reward) else 1.0 - x
    if kind == "neg":
        return _scaled(_build(node[1], resolve, expr), -1.0)
    if kind == "add":
        terms: list[tuple[float, Reward]] = []
        bias = 0.0
        for sign, n in node[1]:
            x = _build(n, resolve, expr)
            if not isinstance(x, Reward):
                bias += sign * x
            elif isinstance(x, WeightedSum):
                terms += [(sign * w, p) for w, p in x.terms]
                bias += sign * x.bias
            else:
                terms.append((sign, x))
        return WeightedSum(terms, bias) if terms else bias
    if kind == "mul":
        scale, rewards = 1.0, []
        for n in node[1]:
            x = _build(n, resolve, expr)
            if isinstance(x, Reward):
                rewards.append(x)
            else:
                scale *= x
        if not rewards:
            return scale
        return _scaled(rewards[0] if len(rewards) == 1 else Product(rewards), scale)
    if kind == "div":
        num, den = _build(node[1], resolve, expr), _build(node[2], resolve, expr)
        if isinstance(den, Reward):
            raise ExpressionError(expr, 0, "can only divide by a number, not by a reward")
        if den == 0:
            raise ExpressionError(expr, 0, "division by zero")
        return _scaled(num, 1.0 / den)
    raise AssertionError(f"unknown node {kind}")
