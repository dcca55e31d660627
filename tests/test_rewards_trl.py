"""The TRL adapter: TRL 1.16's reward-function signature, sample identities, and multi-process group scoring."""

import inspect
import threading
import types

import pytest

from spurious.rewards import FunctionReward, Sample, get_reward
from spurious.rewards import trl as adapter
from spurious.rewards.trl import message_text, prompt_key, trl_reward_func
from spurious.rollout import rollout_keys


def _state(step):
    return types.SimpleNamespace(global_step=step)


def _batch(n_prompts=3, group=4, conversational=True):
    """A generation batch as TRL passes it: each prompt's completions next to each other."""
    prompts, completions, answers, indices = [], [], [], []
    for p in range(n_prompts):
        for k in range(group):
            text = f"answer {p + k % 2} is \\boxed{{{p + (k % 2)}}}" + (" python" if k == 3 else "")
            if conversational:
                prompts.append([{"role": "system", "content": "sys"}, {"role": "user", "content": f"Q{p}"}])
                completions.append([{"role": "assistant", "content": text}])
            else:
                prompts.append(f"Q{p}")
                completions.append(text)
            answers.append(str(p))
            indices.append(100 + p)
    return prompts, completions, answers, indices


def test_signature_matches_trl():
    from trl.trainer.utils import get_callable_name, is_async_callable

    from trl.trainer.grpo_trainer import GRPOTrainer

    source = inspect.getsource(GRPOTrainer._calculate_rewards)  # how TRL 1.16 calls a reward function
    assert "prompts=prompts, completions=completions, completion_ids=completion_ids_list, **reward_kwargs" in source
    assert 'reward_kwargs["trainer_state"] = self.state' in source
    f = trl_reward_func(get_reward("format & !python"))
    params = inspect.signature(f).parameters
    assert list(params)[:4] == ["prompts", "completions", "completion_ids", "trainer_state"]
    assert any(p.kind is p.VAR_KEYWORD for p in params.values())
    assert get_callable_name(f) == "format&!python"
    assert not is_async_callable(f)
    # TRL's own call: keyword arguments, dataset columns as lists, plus its extras
    prompts, completions, answers, _ = _batch()
    logged = {}
    out = f(prompts=prompts, completions=completions, completion_ids=[[1]] * len(prompts), answer=answers,
            trainer_state=_state(0), log_extra=lambda c, v: None, log_metric=logged.__setitem__)
    assert out == [1.0, 1.0, 1.0, 0.0] * 3


def test_conversational_and_text_inputs_give_the_same_rewards():
    reward = get_reward("0.5*format + 0.5*python")
    for conversational in (True, False):
        prompts, completions, answers, _ = _batch(conversational=conversational)
        assert trl_reward_func(reward)(prompts, completions, trainer_state=_state(0)) == [0.5, 0.5, 0.5, 1.0] * 3


def test_message_text():
    assert message_text("plain") == "plain"
    assert message_text([{"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"},
                         {"role": "assistant", "content": [{"type": "text", "text": "b"}]}], "assistant") == "ab"
    assert message_text([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]) == "s\nu"


def test_samples_carry_labels_indices_and_columns():
    seen = []

    def spy(samples):
        seen.extend(samples)
        return [0.0] * len(samples)

    spy.needs_label = True
    f = trl_reward_func(FunctionReward(spy, name="spy"), steps_per_generation=4)
    prompts, completions, answers, indices = _batch(n_prompts=2, group=3)
    f(prompts, completions, trainer_state=_state(9), answer=answers, prompt_index=indices, level=[5] * 6)
    assert [s.answer for s in seen] == ["0", "0", "0", "1", "1", "1"]
    assert [(s.group, s.prompt_index, s.sample_index) for s in seen] == \
        [(100, 100, 0), (100, 100, 1), (100, 100, 2), (101, 101, 0), (101, 101, 1), (101, 101, 2)]
    assert {s.step for s in seen} == {2}  # 9 // 4
    assert seen[0].meta == {"prompt_index": 100, "level": 5} and seen[0].prompt == "sys\nQ0"
    with pytest.raises(ValueError, match="no 'answer' column"):
        trl_reward_func(get_reward("gt"))(prompts, completions, trainer_state=_state(0))


def test_random_reward_step_and_identity():
    prompts, completions, _, indices = _batch(n_prompts=16, group=8, conversational=False)
    f = trl_reward_func(get_reward("random"), seed=3, steps_per_generation=2)
    a = f(prompts, completions, trainer_state=_state(4), prompt_index=indices)
    assert a == f(prompts, completions, trainer_state=_state(5), prompt_index=indices)  # same rollout phase
    assert a != f(prompts, completions, trainer_state=_state(6), prompt_index=indices)
    assert a != trl_reward_func(get_reward("random"), seed=4, steps_per_generation=2)(
        prompts, completions, trainer_state=_state(4), prompt_index=indices)
    expected = get_reward("random", seed=3)([Sample("", "", step=2, prompt_index=100 + i // 8, sample_index=i % 8)
                                             for i in range(len(prompts))])
    assert a == expected
    # without a prompt_index column: a stable hash of the prompt text
    b = f(prompts, completions, trainer_state=_state(4))
    assert b == get_reward("random", seed=3)([Sample("", "", step=2, prompt_index=prompt_key(p), sample_index=i % 8)
                                              for i, p in enumerate(prompts)])
    assert prompt_key("Q1") == prompt_key("Q1") != prompt_key("Q2") and prompt_key("Q1") >= 0
    assert [j for _, j in rollout_keys(["a", "b", "a", "a", "b"])] == [0, 0, 1, 2, 1]


def _simulate(num_processes, f, prompts, completions, **columns):
    """Run ``f`` as ``num_processes`` processes (threads), each on its contiguous slice, with a real exchange."""
    n = len(prompts)
    size = n // num_processes
    slots = [None] * num_processes
    barrier = threading.Barrier(num_processes)
    local = threading.local()
    results, errors = [None] * num_processes, []

    def gather(obj):
        slots[local.rank] = obj
        barrier.wait()
        out = [x for s in slots for x in s]
        barrier.wait()
        return out

    def run(rank):
        local.rank = rank
        sl = slice(rank * size, (rank + 1) * size)
        try:
            results[rank] = f(prompts[sl], completions[sl], trainer_state=_state(0),
                              **{k: v[sl] for k, v in columns.items()})
        except Exception as e:  # noqa: BLE001
            errors.append(e)
            barrier.abort()

    patch = pytest.MonkeyPatch()
    patch.setattr(adapter, "_distributed", lambda: (num_processes, local.rank))
    patch.setattr(adapter, "_gather", gather)
    try:
        threads = [threading.Thread(target=run, args=(r,)) for r in range(num_processes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        patch.undo()
    assert not errors, errors
    return results


@pytest.mark.parametrize("spec", ["mv", "random", "mv & !python", "format"])
def test_groups_split_over_processes_score_like_one_process(spec):
    # 3 prompts x 4 completions over 2 processes: prompt 1's group is split between the processes
    prompts, completions, answers, indices = _batch(n_prompts=3, group=4)
    f = trl_reward_func(get_reward(spec))
    single = f(prompts, completions, trainer_state=_state(0), prompt_index=indices)
    parts = _simulate(2, f, prompts, completions, prompt_index=indices)
    assert [len(p) for p in parts] == [6, 6]
    assert parts[0] + parts[1] == single
    if spec == "mv":
        assert single == [1.0, 0.0, 1.0, 0.0] * 3  # the first of two tied answers wins


def test_split_groups_without_gathering_would_be_wrong():
    """Control: scoring each process's slice alone breaks the majority vote of the split group."""
    prompts, completions, _, indices = _batch(n_prompts=3, group=4)
    completions[6] = [{"role": "assistant", "content": r"\boxed{2}"}]  # group 1: votes 1, 2, 2, 2 -> 2 wins
    f = trl_reward_func(get_reward("mv"))
    single = f(prompts, completions, trainer_state=_state(0), prompt_index=indices)
    assert single[4:8] == [0.0, 1.0, 1.0, 1.0]
    first_process_alone = f(prompts[:6], completions[:6], trainer_state=_state(0), prompt_index=indices[:6])
    assert first_process_alone[4:6] == [1.0, 0.0]  # it sees only votes 1, 2: a tie, so 1 wins
    assert sum(_simulate(2, f, prompts, completions, prompt_index=indices), []) == single


def test_majority_vote_logs_label_rate():
    prompts, completions, _, indices = _batch(n_prompts=2, group=4)
    completions[4:8] = [[{"role": "assistant", "content": "no answer"}]] * 4
    logged = {}
    out = trl_reward_func(get_reward("mv"))(prompts, completions, trainer_state=_state(0), prompt_index=indices,
                                            log_metric=logged.__setitem__)
    assert out[4:] == [0.0] * 4
    assert logged == {"rewards/majority_vote/groups_with_label": 0.5}


@pytest.mark.slow
def test_adapter_inside_a_real_grpo_trainer(tmp_path):
    """End to end: TRL's GRPOTrainer calls the adapter; names, steps and sample indices come through."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from spurious.models import tiny_model_and_tokenizer

    model, tok = tiny_model_and_tokenizer("1M")
    seen = []

    def spy(samples):
        seen.extend((s.step, s.prompt_index, s.sample_index, s.answer) for s in samples)
        return [float(len(s.response) % 2) for s in samples]

    spy.needs_label = True
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": f"What is {i} + 1?"}], "answer": str(i + 1),
                               "prompt_index": i} for i in range(8)])
    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", max_steps=2,
                      per_device_train_batch_size=8, num_generations=4, max_completion_length=8,
                      logging_steps=1, save_strategy="no", seed=0, beta=0.0)
    trainer = GRPOTrainer(model=model, processing_class=tok, train_dataset=data, args=args,
                          reward_funcs=[trl_reward_func(get_reward("format | random")),
                                        trl_reward_func(FunctionReward(spy, name="spy"))])
    trainer.train()
    keys = {k for row in trainer.state.log_history for k in row}
    assert {"rewards/format|random/mean", "rewards/spy/mean"} <= keys
    assert {step for step, *_ in seen} == {0, 1}
    for step in (0, 1):
        rows = [r for r in seen if r[0] == step]
        assert len(rows) == 8
        by_prompt = {}
        for _, p, k, answer in rows:
            by_prompt.setdefault(p, []).append(k)
            assert answer == str(p + 1)
        assert all(sorted(v) == [0, 1, 2, 3] for v in by_prompt.values())
