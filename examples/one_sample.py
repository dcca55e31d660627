"""Follow one MATH-500 problem through the whole pipeline, with every step in plain sight.

dataset -> prompt -> rollouts -> rewards -> advantages -> clipped loss (+ clip statistics) -> metrics.

Runs in a few seconds on a CPU with a tiny, untrained Qwen2 model built offline; swap in any Hugging Face
causal LM (``spurious.models.load_model_and_tokenizer``) for real numbers. ``python examples/one_sample.py``.
"""

from __future__ import annotations

import torch

from spurious.data import get_template, load_problems
from spurious.eval.metrics import avg_at_k, pass_at_k_unbiased
from spurious.grading import grade_many
from spurious.models import tiny_model_and_tokenizer
from spurious.rewards import Sample, get_reward
from spurious.rl.advantages import group_advantages
from spurious.rl.loss import policy_loss

G = 4  # rollouts per prompt (the paper uses 16)


def completion_logps(model, prompt_ids: torch.Tensor, seqs: torch.Tensor) -> torch.Tensor:
    """Per-token log-probabilities of the completion part of ``seqs`` (B, T) under ``model``."""
    logits = model(seqs).logits[:, prompt_ids.shape[1] - 1:-1]
    return torch.log_softmax(logits.float(), -1).gather(-1, seqs[:, prompt_ids.shape[1]:, None]).squeeze(-1)


def main() -> dict[str, float]:
    torch.manual_seed(0)
    # 1. Dataset: one problem (local ../shared/data/math500.jsonl, or the hub by name when online).
    problem = load_problems("math500", limit=1)[0]

    # 2. Prompt: the paper's Qwen-Math chat template (system prompt asks for \boxed{}).
    model, tok = tiny_model_and_tokenizer("1M", seed=0)
    prompt = get_template("qwen-math").render(problem.problem, tok)
    prompt_ids = tok(prompt, return_tensors="pt").input_ids

    # 3. Rollouts: G samples at T = 1 from the current (= old) policy.
    with torch.no_grad():
        seqs = model.generate(prompt_ids.repeat(G, 1), do_sample=True, temperature=1.0, top_k=0,
                              max_new_tokens=24, min_new_tokens=24, pad_token_id=tok.pad_token_id)
    responses = tok.batch_decode(seqs[:, prompt_ids.shape[1]:], skip_special_tokens=True)
    # A real policy would answer; make one of the four do so, to see a non-zero ground-truth reward.
    responses[0] = f"... so the answer is \\boxed{{{problem.answer}}}"
    seqs[0, prompt_ids.shape[1]:] = torch.tensor(
        (tok(responses[0], add_special_tokens=False).input_ids * 24)[:24])

    # 4. Rewards: ground truth (graded), and a spurious one (random, reproducible from the sample's identity).
    samples = [Sample(prompt=prompt, response=r, answer=problem.answer, group=0, step=0, prompt_index=0,
                      sample_index=i) for i, r in enumerate(responses)]
    r_gt = get_reward("ground_truth")(samples)
    r_random = get_reward("random", gamma=0.5, seed=3)(samples)

    # 5. Advantages: group z-score (unbiased std); a zero-variance group gets 0.
    adv = group_advantages(torch.tensor(r_random), group_size=G)

    # 6. Loss: the clipped surrogate on per-token log-probs, one off-policy SGD step later.
    mask = torch.ones(G, seqs.shape[1] - prompt_ids.shape[1])
    with torch.no_grad():
        old_logps = completion_logps(model, prompt_ids, seqs)
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    for _ in range(2):  # step 1 is on-policy (ratio == 1); step 2 is off-policy and the clip can act
        logps = completion_logps(model, prompt_ids, seqs)
        loss, stats = policy_loss(logps, old_logps, adv, mask, eps_low=0.2, eps_high=0.2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    instruments = stats.metrics()

    # 7. Metrics: accuracy (avg@k, unbiased pass@k) from the grader's verdicts.
    verdicts = [g.correct for g in grade_many(responses, [problem.answer] * G)]
    result = {
        "problem_id": problem.id, "reward_gt": r_gt, "reward_random": r_random, "advantages": adv.tolist(),
        "loss": float(loss.detach()), "clip/low_frac": instruments["clip/low_frac"],
        "clip/high_frac": instruments["clip/high_frac"], "pi_bar": instruments["pi_bar"],
        "avg@4": avg_at_k([verdicts]), "pass@2": pass_at_k_unbiased([verdicts], 2),
    }
    for k, v in result.items():
        print(f"{k:>16}: {v}")
    return result


if __name__ == "__main__":
    main()
