"""Generate responses in the shapes model outputs take, for differential tests of the official-parity grader.

Each case is ``{"id", "kind", "response", "label"}``: a gold answer (from a fixed list of MATH-style answer
shapes written here, not taken from any data set) posed in one wrapper (last box, several boxes, an unclosed
box, Minerva "final answer is $..$. I hope", "The answer is X. So ...", "final answer is", Chinese 答案是,
last-number fallback, R1 ``<answer>`` tags, code reasoning, PRM ``ки`` markers), with an equivalent or a
non-equivalent variant of the gold; plus multiple-choice letters, number words, format-reward edge cases,
repetition (for the no-repetition reward), junk and hostile text (lone surrogates, NUL, bidi controls).

The verdicts are not computed here: a separate runner (outside this repository) feeds the cases to the
official code and records what it answers; ``tests/data/official_cases.jsonl.gz`` holds the result.

    python scripts/official_cases.py -o cases.jsonl [--seed 0] [--per-gold 40]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Iterator

GOLDS = [
    "42", "0", "-7", "1000", "12345", "025", "3.0", "1,000", "10,455", "2", "18", "5", "7", "100",
    r"\frac{1}{2}", r"\dfrac{3}{4}", r"-\frac{5}{7}", r"\frac{\sqrt{3}}{2}", "1/2", r"\tfrac{2}{3}",
    "0.5", "3.14", "2.25", "-0.125",
    r"2\sqrt{2}", r"\sqrt{13}", r"3+2\sqrt{5}", r"\sqrt[3]{2}",
    r"2\pi", r"\frac{\pi}{4}", r"4\pi^2",
    "x^2+1", "2x-3", "(x+1)(x-1)", "a+b", "n^2", r"\frac{x}{y}", "3x^{10}",
    "(2, 3)", r"(-\infty, 5]", "[1,4)", "(1,2,3)", "1, 2", r"\{1,2,3\}", "(2, 2), (6, 2)", r"(3, \frac{\pi}{2})",
    r"\text{Evelyn}", r"\text{(C)}", "Monday", "yes", r"\text{east}",
    r"5\text{ cm}", r"90^\circ", r"10\%", r"\$18.90", r"40 \text{ miles}", r"12\text{ square units}",
    r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
    "y = 2x + 3", "x=5", r"x \le 3", "x > 2",
    "3-4i", "1+2i", "2^{10}", "10^6", r"\infty", r"\emptyset", "1.5", "11,\\!880", "6.0",
    "A", "B", "C", "D", "E", "(A)", "A.", " B", "a",
    "twenty", "",
]

_WORDS_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_WORDS_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

NUMBER_WORDS = [
    "twenty five", "twenty-five", "two hundred fifty-six", "one thousand and one", "thousand five", "three point one four",
    "fifty fifty", "a hundred", "one million two", "seven apples", "point five", "zero", "one hundred", "ninety nine",
    "two million three thousand", "thousand", "one billion", "twelve hundred", "five thousand thousand",
    "three hundred and forty two", "eleven point zero", "Twenty", "FORTY TWO", "one two three", "million",
    "six point", "four point two point", "hundred twenty", "nineteen eighty four", "two thousand million",
]

JUNK_PIECES = ["\\", "{", "}", "$", "(", ")", "[", "]", "^", "_", "=", ",", ".", ":", "/", " ", "\n", "\n\n", "a",
               "x", "A", "b", "E", "1", "2", "0", "-", "+", "*", "boxed", "\\boxed{", "\\frac", "\\sqrt", "\\text{",
               "ки", "答案是", "he answer is", "final answer is", "<answer>", "</answer>", "python", "\ud800",
               "\udfff", "\x00", "\u202e", "\u0301", "ß", "ﬁ", "é", "π", "∞", "√", "×", "\t", "%", "\\%", "\\$",
               "\\left(", "\\right)", "\\!", "~", "@", "#", "&", "'", '"', "\u3000", "１", "Ａ", "²", "٣",
               "\\ensuremath{", "\\mathrm{", "\\pm", "\\cdot", " or ", " and ", "\\infty", "\\pi", "\\dfrac{"]

FORMAT_EDGE = [r"\boxed{:}", r"\boxed{/}", r"\boxed{ки}", r"\boxed{.}", r"\boxed{}", r"\boxed{ }", r"\boxed{\text{}}",
               r"\boxed{ : }", r"\boxed{./}", r"\boxed{/.}", r"\boxed{::}", r"\boxed{\n}", "\\boxed{\n  }", r"\boxed{$}",
               r"\boxed{\$}", r"\boxed{\%}", r"\boxed{\left(\right)}", r"\boxed{a}", r"\boxed{m}", r"\boxed{th}",
               r"\boxed{cm}", r"\boxed{\text{ cm}}", r"\boxed{and}", r"\boxed{\mbox{x}}", r"\boxed{x=}",
               r"\boxed{\!}", r"\boxed{^\circ}", r"\boxed{\\}", r"\boxed{.5}", r"\boxed{0}", r"\fbox{3}", "boxed",
               "boxed{", "the boxed answer", "\\boxed", "\\boxed ", "\\boxed $", "\\boxed{18} and \\boxed{}",
               "\\boxed{1}\\boxed{:}", "\\boxed{\\boxed{}}", "\\boxed{{}}", "\\boxed{}}", "$\\boxed 7$", "\\boxed{ки5}",
               "\\boxed{5ки}", "ки\\boxed{}", "\\boxed{:5.}", "\\boxed{5/}", "\\boxed{5./}", "\\boxed{/5}"]


def int_to_words(n: int) -> str:
    """English words for 0 <= n < 10**9 ("two hundred fifty-six", "one million two thousand three")."""
    if n < 20:
        return _WORDS_SMALL[n]
    if n < 100:
        return _WORDS_TENS[n // 10] + ("" if n % 10 == 0 else "-" + _WORDS_SMALL[n % 10])
    if n < 1000:
        rest = n % 100
        return _WORDS_SMALL[n // 100] + " hundred" + ("" if rest == 0 else " " + int_to_words(rest))
    for scale, word in ((10**6, "million"), (1000, "thousand")):
        if n >= scale:
            rest = n % scale
            return int_to_words(n // scale) + " " + word + ("" if rest == 0 else " " + int_to_words(rest))
    raise ValueError(n)


def variants(gold: str, rng: random.Random) -> list[tuple[str, str]]:
    """(name, answer text) pairs: equivalent forms and near misses of ``gold``."""
    out = [("same", gold), ("spaces", " " + gold.replace(",", ", ") + " "), ("dollars", f"${gold}$"),
           ("x_eq", f"x = {gold}"), ("unit", gold + r"\text{ cm}"), ("degree", gold + r"^\circ"),
           ("percent", gold + r"\%"), ("period", gold + "."), ("dfrac", gold.replace(r"\frac", r"\dfrac")),
           ("frac_plain", gold.replace(r"\frac", r"\frac ")), ("left_right", gold.replace("(", r"\left(")
                                                                .replace(")", r"\right)")),
           ("text", r"\text{" + gold + "}"), ("mbox", gold + r"\mbox{ units}"), ("newline", gold.replace(" ", "\n ")),
           ("prm", gold + "ки"), ("other_gold", rng.choice(GOLDS)), ("plus_one", gold + "+1"),
           ("ensuremath", r"\ensuremath{" + gold + "}"), ("mathrm", r"\mathrm{" + gold + "}"),
           ("or_other", gold + " or " + rng.choice(GOLDS)),
           ("negated", "-" + gold), ("swapped", ",".join(reversed(gold.split(",")))), ("upper", gold.upper()),
           ("bmatrix", gold.replace("pmatrix", "bmatrix")), ("array", gold.replace(r"\begin{pmatrix}", r"\begin{array}{cc}")
                                                              .replace(r"\end{pmatrix}", r"\end{array}"))]
    stripped = gold.replace(",", "")
    if stripped.lstrip("-").isdigit():
        n = int(stripped)
        out += [("int_plus1", str(n + 1)), ("int_dec", f"{n}.0"), ("int_dec00", f"{n}.00"), ("int_lead0", f"0{n}"),
                ("int_sci", f"{n}e0"), ("int_frac", f"\\frac{{{2 * n}}}{{2}}"), ("int_sqrt", f"\\sqrt{{{n * n}}}"),
                ("int_comma", f"{n:,}"), ("int_thin", f"{n:,}".replace(",", ",\\!")), ("int_space", f"{n:,}".replace(",", " ")),
                ("int_words", int_to_words(abs(n)) if abs(n) < 10**9 else str(n)), ("int_tuple", f"({n})"),
                ("int_minus", f"{n} - 0"), ("int_half", f"{n}/1")]
    if r"\frac" in gold:
        out += [("frac_slash", gold.replace(r"\frac{", "").replace("}{", "/").replace("}", "")),
                ("frac_unreduced", gold.replace("{1}{2}", "{2}{4}").replace("{3}{4}", "{6}{8}")),
                ("frac_decimal", {"\\frac{1}{2}": "0.5", "\\dfrac{3}{4}": "0.75"}.get(gold, "0.3333"))]
    return out


def wrap(answer: str, rng: random.Random) -> list[tuple[str, str]]:
    """(wrapper name, response) pairs posing ``answer`` in the shapes model outputs take."""
    n = rng.randrange(2, 99)
    other = rng.choice(GOLDS)
    steps = f"First, {n} + {n + 1} = {2 * n + 1}. Then we simplify.\n\n"
    return [
        ("box", f"{steps}So the answer is $\\boxed{{{answer}}}$."),
        ("box_bare", f"\\boxed{{{answer}}}"),
        ("box_multi", f"{steps}We get \\boxed{{{other}}} at first, and finally \\boxed{{{answer}}}."),
        ("box_before_final", f"{steps}\\boxed{{{other}}}. The final answer is ${answer}$."),
        ("box_nobrace", f"$\\boxed {answer}$ done"),
        ("box_unclosed", f"{steps}\\boxed{{{answer}"),
        ("box_newline", f"\\boxed{{\n{answer}\n}}"),
        ("fbox", f"\\fbox{{{answer}}}"),
        ("minerva", f"{steps}Final Answer: The final answer is ${answer}$. I hope it is correct."),
        ("minerva_box", f"Final Answer: The final answer is ${answer}$. I hope it is correct. \\boxed{{{other}}}"),
        ("answer_is", f"{steps}The answer is {answer}. So we are done."),
        ("answer_is_colon", f"the answer is: {answer}"),
        ("answer_is_dollar", f"Therefore, the answer is ${answer}$."),
        ("answer_is_twice", f"The answer is {other}. Wait, the answer is {answer}"),
        ("final_answer_is", f"My final answer is {answer}"),
        ("cn", f"经过计算，答案是 {answer}\n\n检查一下：{n}"),
        ("cn_period", f"答案是{answer}。"),
        ("cn_blank_first", f"答案是\n\n{answer}"),
        ("cn_twice", f"答案是 {answer}，不对，答案是 {other}"),
        ("last_number", f"We compute step by step: 3 + 4 = 7, and then {answer} remains."),
        ("last_number_trailing", f"{answer} is what we get after {n} tries, total {n * 3}."),
        ("r1", f"<think>{steps}</think>\n<answer>{answer}</answer>"),
        ("r1_box", f"<think>{steps}</think>\n<answer>\\boxed{{{answer}}}</answer>"),
        ("r1_open", f"<think>ok</think><answer> {answer}"),
        ("r1_trailing", f"<answer>{other}</answer> then <answer>{answer}</answer> answers"),
        ("code", f"Let me check with code.\n```python\nprint({n} * 2)\n```\nOutput: {2 * n}\nSo the answer is "
                 f"$\\boxed{{{answer}}}$."),
        ("code_python_word", f"I will use Python to compute it: {answer}"),
        ("code_upper", f"PYTHON says \\boxed{{{answer}}}"),
        ("code_fence_only", f"```\nx = {n}\n```\n\\boxed{{{answer}}}"),
        ("prm_steps", f"Step 1: {n} ки\nStep 2: the answer is {answer} ки"),
        ("long", long_reasoning(rng) + f"\n\nTherefore the answer is $\\boxed{{{answer}}}$."),
        ("long_unboxed", long_reasoning(rng) + f"\n\nSo we end with {answer}."),
    ]


def long_reasoning(rng: random.Random) -> str:
    """A few hundred to a few thousand characters of step-by-step prose with numbers, LaTeX and boxes."""
    parts = []
    for k in range(rng.randrange(3, 25)):
        a, b = rng.randrange(1, 500), rng.randrange(1, 500)
        parts.append(rng.choice([
            f"Step {k + 1}: we have ${a} + {b} = {a + b}$, so the total is {a + b}.",
            f"Next, $\\frac{{{a}}}{{{b}}}$ simplifies; multiplying by {b} gives {a}.",
            f"Let $x = {a}$. Then $x^2 = {a * a}$ and one of the two roots is {a}.",
            f"We could check this in Python, but by hand: {a} * {b} = {a * b}.",
            f"An intermediate result is $\\boxed{{{a}}}$, but we are not done yet.",
            f"Hence the answer is not {a}; we continue with {b}.",
            f"Wait, let me recheck. ${a}-{b}={a - b}$.",
        ]))
    return "\n".join(parts)


def letter_cases(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    labels = ["A", "B", "C", "D", "E", "(A)", "A.", " B", "a", "b"]
    texts = ["The answer is (B).", "\\boxed{C}", "I think (B) or maybe C.", "a cat sat", "Answer: E",
             "the answer is b", "\\boxed{D}.", "Option (A) is wrong, so (D)", "None of them", "A", "(C)",
             "The correct choice is B/", ":A.", "ABCD", "A-B", "A_B", "a.b.c", "\\text{(B)}", "$\\boxed{\\text{A}}$",
             "Ａ", "ß", "ﬁrst D", "<answer>C</answer> but B", "答案是 B", "final answer is $A$. I hope", "the answer is \\boxed{B}",
             "E", "BE", "b) c) d)", "\n\nA.\n\n", "/A/", "A/", "\\boxed{7}", "x = 5", "", "ки B ки"]
    for label in labels:
        for t in texts:
            yield "letters", t, label
        for _ in range(6):
            yield "letters_random", " ".join(rng.choice(texts) for _ in range(rng.randrange(1, 4))), label


def number_word_cases(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    golds = ["25", "256", "1001", "5", "3.14", "100", "42", "7", "0", "2003000", "1000000000", "1200", "342", "11",
             "0.5", "99", "1984"]
    for words in NUMBER_WORDS:
        for gold in rng.sample(golds, 4):
            yield "number_words", f"So the answer is \\boxed{{{words}}}.", gold
            yield "number_words_is", f"The answer is {words}", gold
    for _ in range(120):
        n = rng.choice([rng.randrange(0, 100), rng.randrange(100, 10**4), rng.randrange(10**4, 10**7)])
        w = int_to_words(n)
        if rng.random() < 0.3:
            w = w.replace("-", " ")
        if rng.random() < 0.2:
            w = w.replace(" hundred ", " hundred and ")
        gold = str(n if rng.random() < 0.8 else n + 1)
        yield "number_words_gen", rng.choice([f"\\boxed{{{w}}}", f"The answer is {w}.", f"答案是 {w}"]), gold


def repetition_cases(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    for unit_len in (9, 10, 11, 37, 128, 255, 256, 257):
        unit = "".join(rng.choice("abcxyz 0123\\{}") for _ in range(unit_len))
        for copies in (8, 9, 10, 11, 15):
            body = unit * copies
            if rng.random() < 0.5:
                body = "Let me think. " + body + " \\boxed{5}"
            yield "repetition", body, "5"
    for _ in range(40):
        unit = rng.choice(["so the answer is 5050. ", "\\boxed{}. ", "Wait, ", "1+1=2, ", "ab" * 5, "abc" * 4])
        copies = rng.randrange(5, 14)
        yield "repetition_phrase", "Start. " + unit * copies + "End.", "5050"
    yield "repetition_surrogate", "\ud800" * 120, "1"
    yield "repetition_surrogate", ("\ud83d abcdefghi" * 12), "1"


def junk_cases(rng: random.Random, count: int) -> Iterator[tuple[str, str, str]]:
    for _ in range(count):
        text = "".join(rng.choice(JUNK_PIECES) for _ in range(rng.randrange(0, 30)))
        label = rng.choice(GOLDS) if rng.random() < 0.7 else "".join(rng.choice(JUNK_PIECES)
                                                                         for _ in range(rng.randrange(0, 5)))
        yield "junk", text, label
    for text in ["", " ", "\n", "\n\n", "\ud800", "\\boxed{\ud800}", "The answer is \udfff", "\x00\\boxed{1}\x00",
                 "\u202e\\boxed{2}", "\\boxed{1}" * 50, "{" * 200 + "\\boxed{" + "{" * 50, "}" * 100,
                 "$" * 40, "\\boxed{" + "1" * 400 + "}", "x" * 600, "答案是", "he answer is", "final answer is $",
                 "final answer is $5$. I hope", "final answer is $$. I hope", "<answer></answer>", "<answer>",
                 "\\boxed{9^{9^{9}}}", "\\boxed{9^9^9}", "\\boxed{(x^5)^2}", "\\boxed{xyz}", "\\boxed{\\sqrt}",
                 "\\boxed{\\frac}", "\\boxed{\\frac1}", "\\boxed{\\frac12}", "\\boxed{\\sqrt2}", "\\boxed{1\\text{ a}\\text{ b}}",
                 "\\boxed{\\text{ a}}", "\\boxed{-0}", "\\boxed{(-0, 1)}", "\\boxed{(0, 1)}", "\\boxed{1e400}", "\\boxed{inf}",
                 "\\boxed{nan}", "\\boxed{infinity}", "\\boxed{0.5}", "\\boxed{.5}", "\\boxed{5.}", "\\boxed{1,234}",
                 "\\boxed{1,2345}", "\\boxed{1 2}", "\\boxed{7 3/4}", "\\boxed{- 5}", "\\boxed{j}", "\\boxed{2j}",
                 "\\boxed{3-4j}", "\\boxed{\\mathbf{v}}", "\\boxed{\\emptyset}", "\\boxed{(-\\infty,\\infty)}"]:
            for label in ("", "1", "0", "5", "(0,1)", "x", "\\frac{1}{2}", "1234", "\\infty", "3-4i"):
                yield "hostile", text, label


def generate(seed: int = 0, per_gold: int = 40, junk: int = 600) -> list[dict]:
    """The case list (deterministic for a given seed); ids are stable positions."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str]] = []
    for gold in GOLDS:
        pairs = [(v, w, r) for v, a in variants(gold, rng) for w, r in wrap(a, rng)]
        for v, w, r in rng.sample(pairs, min(per_gold, len(pairs))):
            rows.append((f"{w}:{v}", r, gold))
    rows += letter_cases(rng)
    rows += number_word_cases(rng)
    rows += repetition_cases(rng)
    rows += [("format_edge", t, "1") for t in FORMAT_EDGE]
    rows += [("format_edge_wrapped", f"So $ {t} $.\n\nDone", "") for t in FORMAT_EDGE]
    rows += junk_cases(rng, junk)
    return [{"id": i, "kind": k, "response": r, "label": g} for i, (k, r, g) in enumerate(rows)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-gold", type=int, default=40)
    ap.add_argument("--junk", type=int, default=600)
    args = ap.parse_args(argv)
    rows = generate(args.seed, args.per_gold, args.junk)
    with open(args.output, "w", encoding="ascii") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True) + "\n")
    print(f"{len(rows)} cases -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
