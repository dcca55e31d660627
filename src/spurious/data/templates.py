"""Prompt templates shared by training, evaluation and labelling (arXiv 2506.10947; docs/paper.md §4).

A template turns a problem into either chat ``messages`` (rendered by the model's own chat template)
or a raw ``text`` prompt (for base models without a chat template). ``assistant_prefix`` is text the
assistant turn starts with (the code-forcing intervention prefills "Let's solve this using Python.").

Names:
* ``qwen-math`` - the paper's default: system "Please reason step by step, and put your final answer
  within \\boxed{}.", user = the problem (§4.1).
* ``default`` - user turn only; whatever default system prompt the model's chat template inserts
  (the paper's behaviour for non-Qwen-Math chat models, §4.2).
* ``r1`` - the R1 text template for base models (§4.3), real newlines (the official *evaluation* form).
* ``none`` - the raw problem text, no chat template (offline majority-vote labelling, §2.3).
* ``code-forcing`` - ``qwen-math`` with the assistant turn prefilled "Let's solve this using Python." (§4.4).
* ``math-problem``, ``simplerl-zoo``, ``sober``, ``spurious-prompt`` - the prompt variants of §4.5.
* ``few-shot`` - a raw text prompt of four worked examples (:data:`FEW_SHOT_EXAMPLES`, written for this project,
  from no benchmark) each ending in a boxed answer, then ``Problem: <problem>`` and ``Solution:``; it stops at the
  next ``Problem:``. Not in the paper: a pre-RL baseline for ``spurious eval --baselines``.
* any other string containing ``{problem}`` - a custom user-turn template (no system message).
"""

from __future__ import annotations

from dataclasses import dataclass

from spurious.errors import UsageError

QWEN_MATH_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
CODE_FORCING_PREFIX = "Let's solve this using Python."

R1_TEMPLATE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.\n\n"
    "<|user|>\n{problem}\n<|assistant|>\n<think>"
)

SOBER_USER = (
    "Solve the following math problem efficiently and clearly. The last line of your response should be of the "
    "following format: 'Therefore, the final answer is: $\\boxed{{ANSWER}}$. I hope it is correct' (without quotes) "
    "where ANSWER is just the final number or expression that solves the problem. Think step by step before "
    "answering.\n\n{problem}"
)

LIPSUM_SYSTEM = "Lorem ipsum dolor sit amet, consectetuer adipiscing elit."
LIPSUM_USER = (
    "Ut purus elit, vestibulum ut, placerat ac, adipiscing vitae, felis. Curabitur dictum gravida mauris. Nam arcu "
    "libero, nonummy eget, consectetuer id, vulputate a, magna. Donec vehicula augue eu neque. Pellentesque habitant "
    "morbi tristique senectus et netus et malesuada fames ac turpis egestas. Mauris ut leo. Cras viverra metus "
    "rhoncus sem. Nulla et lectus vestibulum urna fringilla ultrices. Phasellus eu tellus sit amet tortor gravida "
    "placerat.\n\n{problem}"
)

# (problem, worked solution ending in a boxed answer): written for this project, not taken from any benchmark
# (tests/test_data_templates.py checks they share no 8-word run with the evaluation sets).
FEW_SHOT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Mira reads 14 pages of her book on Monday and twice as many on Tuesday. The book has 90 pages. How many "
     "pages are left for her to read?",
     "On Tuesday she reads $2 \\times 14 = 28$ pages, so in the two days she reads $14 + 28 = 42$ pages. That "
     "leaves $90 - 42 = 48$ pages. The final answer is $\\boxed{48}$."),
    ("Solve for $y$: $7y - 9 = 3y + 15$.",
     "Subtracting $3y$ from both sides gives $4y - 9 = 15$. Adding $9$ gives $4y = 24$, so $y = 6$. The final "
     "answer is $\\boxed{6}$."),
    ("Compute $\\frac{5}{6} - \\frac{1}{4}$ and write the result as a fraction in lowest terms.",
     "With the common denominator $12$: $\\frac{10}{12} - \\frac{3}{12} = \\frac{7}{12}$. The final answer is "
     "$\\boxed{\\frac{7}{12}}$."),
    ("A jar holds 3 green and 5 yellow beads. Two beads are taken out at random, one after the other, without "
     "putting the first back. What is the probability that both are green? Express your answer as a common "
     "fraction.",
     "The first bead is green with probability $\\frac{3}{8}$; then 2 of the remaining 7 beads are green, so "
     "both are green with probability $\\frac{3}{8} \\cdot \\frac{2}{7} = \\frac{6}{56} = \\frac{3}{28}$. The "
     "final answer is $\\boxed{\\frac{3}{28}}$."),
)
FEW_SHOT_STOP = "Problem:"


def few_shot_text(examples: tuple[tuple[str, str], ...] = FEW_SHOT_EXAMPLES) -> str:
    """The few-shot prompt as a format string with one ``{problem}`` field (the examples' braces escaped)."""
    shots = "".join(f"Problem: {p}\nSolution: {s}\n\n" for p, s in examples)
    return shots.replace("{", "{{").replace("}", "}}") + "Problem: {problem}\nSolution:"


@dataclass(frozen=True)
class Template:
    """How a problem becomes a prompt. Exactly one of ``user`` (chat) or ``text`` (raw) is set."""

    name: str
    user: str | None = "{problem}"
    system: str | None = None
    text: str | None = None
    assistant_prefix: str = ""
    stop: tuple[str, ...] = ()
    r1_style: bool = False  # rewards/extraction should look after the last <answer>

    @property
    def is_chat(self) -> bool:
        return self.text is None

    def messages(self, problem: str) -> list[dict[str, str]]:
        """Chat messages for ``problem`` (system first when set). Raises for raw templates."""
        if not self.is_chat:
            raise ValueError(f"template {self.name!r} is a raw text template; use .render()")
        msgs = []
        if self.system is not None:
            msgs.append({"role": "system", "content": self.system})
        msgs.append({"role": "user", "content": self.user.format(problem=problem)})
        return msgs

    def render(self, problem: str, tokenizer=None) -> str:
        """The exact prompt string the model sees, ``assistant_prefix`` included.

        Chat templates need a ``tokenizer`` with a chat template; raw ones need none.
        """
        if not self.is_chat:
            return self.text.format(problem=problem) + self.assistant_prefix
        if tokenizer is None or getattr(tokenizer, "chat_template", None) is None:
            raise ValueError(f"template {self.name!r} needs a tokenizer with a chat template")
        prompt = tokenizer.apply_chat_template(self.messages(problem), tokenize=False, add_generation_prompt=True)
        return prompt + self.assistant_prefix


TEMPLATES: dict[str, Template] = {
    "qwen-math": Template("qwen-math", system=QWEN_MATH_SYSTEM),
    "default": Template("default"),
    "r1": Template("r1", user=None, text=R1_TEMPLATE, stop=("</answer>",), r1_style=True),
    "none": Template("none", user=None, text="{problem}"),
    "code-forcing": Template("code-forcing", system=QWEN_MATH_SYSTEM, assistant_prefix=CODE_FORCING_PREFIX),
    "math-problem": Template("math-problem", system="You are a helpful Assistant.", user="Math Problem: {problem}"),
    "simplerl-zoo": Template("simplerl-zoo", system="You are a helpful Assistant.",
                             user="{problem}\n" + QWEN_MATH_SYSTEM.replace("{", "{{").replace("}", "}}")),
    "sober": Template("sober", user=SOBER_USER),
    "spurious-prompt": Template("spurious-prompt", system=LIPSUM_SYSTEM, user=LIPSUM_USER),
    "few-shot": Template("few-shot", user=None, text=few_shot_text(), stop=(FEW_SHOT_STOP,)),
}


def get_template(name_or_string: str) -> Template:
    """A named template, or a custom user-turn template from a string containing ``{problem}``."""
    if name_or_string in TEMPLATES:
        return TEMPLATES[name_or_string]
    if "{problem}" in name_or_string:
        return Template("custom", user=name_or_string)
    raise UsageError(
        f"unknown template {name_or_string!r}: choose from {sorted(TEMPLATES)} or give a string containing '{{problem}}'"
    )
