"""Follow one MATH-500 problem through the pipeline, calling exactly what the trainer calls, with its defaults.

dataset row -> prompt -> G rollouts -> Rollout records (graded once) -> reward -> advantages -> clipped loss
(+ clip statistics) -> metrics, Table 1 row.

Every step below is the function ``spurious.rl.train`` uses at that point (``TrainConfig()``'s defaults: the
paper's recipe, docs/paper.md), with two sizes shrunk: G = 4 rollouts of 24 tokens. Runs in seconds on a CPU
with a tiny, untrained Qwen2 model built offline. ``python examples/one_sample.py``.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from spurious.analysis.strategy import strategy_row
from spurious.data import load_problems
from spurious.eval.metrics import avg_at_k, pass_at_k_unbiased
from spurious.measure import measure_rollouts
from spurious.models import tiny_model_and_tokenizer
from spurious.rewards import get_reward
from spurious.rewards.trl import TRLRewardFunction
from spurious.rl.advantages import compute_advantages
from spurious.rl.config import TrainConfig
from spurious.rl.loss import policy_loss
from spurious.rl.run import build_trl_dataset
from spurious.rl.trainer import diagnostic_grading

G, TOKENS = 4, 24


def completion_logps(model, prompt_len: int, seqs: torch.Tensor) -> torch.Tensor:
    """Per-token log-probabilities of the completion part of ``seqs`` (B, T) under ``model``."""
    logits = model(seqs).logits[:, prompt_len - 1:-1]
    return torch.log_softmax(logits.float(), -1).gather(-1, seqs[:, prompt_len:, None]).squeeze(-1)


def main() -> dict[str, object]:
    torch.manual_seed(0)
    cfg = TrainConfig(group_size=G, prompts_per_phase=1, minibatch_size=G, max_completion_tokens=TOKENS)
    # 1. Dataset row: one problem (local ../shared/data/math500.jsonl, or the hub by name when online).
    problem = load_problems("math500", limit=1)[0]
    row = {"problem": problem.problem, "answer": problem.answer, "problem_id": problem.id}

    # 2. Prompt: build_trl_dataset renders the template (qwen-math: the paper's chat template, §4) as the trainer
    #    does; prompt_text is what the model reads, prompt_index the rollout key.
    model, tok = tiny_model_and_tokenizer("1M", seed=0)
    example = build_trl_dataset([row], cfg, tok)[0][0]
    prompt_ids = tok(example["prompt_text"], return_tensors="pt", add_special_tokens=False).input_ids

    # 3. Rollouts: G samples at T = 1 from the current (= old) policy (TRL's generation in training).
    with torch.no_grad():
        seqs = model.generate(prompt_ids.repeat(G, 1), do_sample=True, temperature=cfg.temperature, top_k=0,
                              max_new_tokens=TOKENS, min_new_tokens=TOKENS, pad_token_id=tok.pad_token_id)
    responses = tok.batch_decode(seqs[:, prompt_ids.shape[1]:], skip_special_tokens=True)
    # A real policy would answer; make one of the four do so, to see a non-zero ground-truth reward.
    responses[0] = f"... so the answer is \\boxed{{{problem.answer}}}"
    seqs[0, prompt_ids.shape[1]:] = torch.tensor((tok(responses[0], add_special_tokens=False).input_ids * TOKENS)[:TOKENS])

    # 4. Reward through TRL's reward route: the adapter keys each rollout (rollout_keys), measure_rollouts grades it
    #    once and flags code/format, the reward scores it (ground truth reuses the grade). TRL passes the dataset's
    #    columns; phase = global_step // optimizer steps per phase.
    reward = get_reward(cfg.reward, **cfg.reward_params).with_seed(cfg.seed)
    grader, extract = diagnostic_grading(cfg, reward)
    reward_func = TRLRewardFunction(reward, seed=None, steps_per_generation=cfg.optimizer_steps_per_phase,
                                    measure=lambda rs: measure_rollouts(rs, grader=grader, extract=extract))
    columns = {k: [example[k]] * G for k in ("answer", "prompt_index", "problem_id", "prompt_text")}
    batch = dict(prompts=[example["prompt"]] * G, completions=[[{"role": "assistant", "content": r}] for r in responses],
                 trainer_state=SimpleNamespace(global_step=0), **columns)
    r_gt = reward_func(**batch)
    rollouts = reward_func.last_rollouts  # one Rollout record per response: identity, grade, flags, reward
    # A spurious reward through the same route: random, reproducible from the rollout's identity.
    r_random = TRLRewardFunction(get_reward("random", gamma=0.5), seed=cfg.seed,
                                 steps_per_generation=cfg.optimizer_steps_per_phase)(**batch)

    # 5. Advantages: the trainer's default, the official code's group z-score + token-weighted whitening.
    mask = torch.ones(G, seqs.shape[1] - prompt_ids.shape[1])
    adv = compute_advantages(torch.tensor(r_gt), G, mode=cfg.advantage, unbiased=cfg.advantage_unbiased_std,
                             eps=cfg.advantage_eps, lengths=mask.sum(1))
    for r, a, n in zip(rollouts, adv.tolist(), mask.sum(1).tolist()):
        r.advantage, r.length, r.truncated = a, int(n), True  # 24 tokens, no EOS: cut by the token limit

    # 6. Loss: the clipped surrogate with the official aggregation, one off-policy SGD step later.
    with torch.no_grad():
        old_logps = completion_logps(model, prompt_ids.shape[1], seqs)
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    for _ in range(2):  # step 1 is on-policy (ratio == 1); step 2 is off-policy and the clip can act
        logps = completion_logps(model, prompt_ids.shape[1], seqs)
        loss, stats = policy_loss(logps, old_logps, adv, mask, eps_low=cfg.eps_low, eps_high=cfg.eps_high,
                                  surrogate=cfg.surrogate, aggregation=cfg.loss_aggregation,
                                  max_completion_length=cfg.max_completion_tokens,
                                  micro_batch_size=cfg.official_micro_batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    instruments = stats.metrics()

    # 7. Metrics and analysis: from the records, as `spurious analyze RUN` reads a run's rollouts.
    verdicts = [r.correct for r in rollouts]
    table1 = strategy_row(rollouts, "python", benchmark="train")
    result = {
        "problem_id": problem.id, "reward_gt": r_gt, "reward_random": r_random, "advantages": adv.tolist(),
        "loss": float(loss.detach()), "clip/low_frac": instruments["clip/low_frac"],
        "clip/high_frac": instruments["clip/high_frac"], "pi_bar": instruments["pi_bar"],
        "avg@4": avg_at_k([verdicts]), "pass@2": pass_at_k_unbiased([verdicts], 2),
        "code_frequency": table1.code_frequency, "record": rollouts[0].to_row(),
    }
    for k, v in result.items():
        print(f"{k:>16}: {v}")
    return result


if __name__ == "__main__":
    main()
