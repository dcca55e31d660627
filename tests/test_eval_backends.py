"""Sampling backends on a real tiny model: batching, left padding, greedy parity, seeds, stops, truncation."""

import json

import pytest
import torch

from spurious.eval.backends import Generation, SamplingSettings, TransformersBackend, VLLMBackend
from spurious.eval.runner import evaluate

PROMPTS = ["What is 1 + 2?", "compute the sum of 3 and 4 please, step by step", "x",
           "Let solve this using Python print(3)", "the answer is"]


@pytest.fixture(scope="module")
def tiny():
    from spurious.models import tiny_model_and_tokenizer

    model, tok = tiny_model_and_tokenizer("100K", vocab_size=320)
    # sampling defaults a hub model may carry must not leak into greedy decoding
    model.generation_config.do_sample, model.generation_config.top_k = True, 5
    return model, tok


def _plain_greedy(model, tok, prompt, n):
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id)
    return out[0, ids["input_ids"].shape[1]:].tolist()


def test_batched_greedy_equals_per_prompt_generate(tiny):
    model, tok = tiny
    be = TransformersBackend(model, tok, batch_size=3)
    gens = be.generate(PROMPTS, SamplingSettings(max_new_tokens=12))
    for p, g in zip(PROMPTS, gens):
        ref = _plain_greedy(model, tok, p, 12)
        assert g.text == tok.decode([t for t in ref if t != tok.eos_token_id], skip_special_tokens=True)
        assert g.n_tokens == len(ref)
        assert g.truncated == (tok.eos_token_id not in ref)


def test_sampling_is_seeded(tiny):
    model, tok = tiny
    be = TransformersBackend(model, tok, batch_size=2)
    s = SamplingSettings(temperature=1.0, max_new_tokens=10)
    a = be.generate(PROMPTS, s, seeds=[1, 2, 3, 4, 5])
    b = be.generate(PROMPTS, s, seeds=[1, 2, 3, 4, 5])
    c = be.generate(PROMPTS, s, seeds=[6, 7, 8, 9, 10])
    assert a == b and a != c


def test_finish_cuts_eos_padding_and_stop_strings(tiny):
    model, tok = tiny
    be = TransformersBackend(model, tok)
    eos, pad = tok.eos_token_id, tok.pad_token_id
    ids = tok("abc def", add_special_tokens=False)["input_ids"]
    s = SamplingSettings(max_new_tokens=len(ids) + 2)
    assert be._finish(ids + [eos, pad], s) == Generation("abc def", len(ids) + 1, False)
    full = SamplingSettings(max_new_tokens=len(ids))
    assert be._finish(ids, full) == Generation("abc def", len(ids), True)  # out of tokens, no EOS
    stop = SamplingSettings(max_new_tokens=len(ids) + 2, stop=("c d",))
    g = be._finish(ids + [pad, pad], stop)
    assert g.text == "abc d" and not g.truncated  # stop string kept, text after it dropped


def test_stop_strings_in_generation(tiny):
    model, tok = tiny
    be = TransformersBackend(model, tok, batch_size=5)
    free = be.generate(PROMPTS, SamplingSettings(temperature=1.0, max_new_tokens=30), seeds=list(range(5)))
    # stop on a character the free-running text contains, so at least one row stops early
    ch = next(c for c in free[0].text[3:] if c.isalpha())
    stopped = be.generate(PROMPTS, SamplingSettings(temperature=1.0, max_new_tokens=30, stop=(ch,)),
                          seeds=list(range(5)))
    assert any(g.text.endswith(ch) and not g.truncated for g in stopped)
    for g in stopped:
        assert g.text.count(ch) <= 1 and (g.text.endswith(ch) or g.truncated or g.n_tokens < 30)


def test_vllm_missing_gives_a_clear_error():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="--backend transformers"):
        VLLMBackend("some/model")


def test_evaluate_a_real_tiny_model_end_to_end(tiny, tmp_path):
    model, tok = tiny
    f = tmp_path / "b.jsonl"
    f.write_text("".join(json.dumps({"id": str(i), "problem": f"What is {i} + {i}?", "answer": str(2 * i)}) + "\n"
                         for i in range(3)))
    res = evaluate(model, [str(f)], tokenizer=tok, template="qwen-math", samples=2, temperature=0.6,
                   max_new_tokens=8, out_dir=tmp_path / "o", batch_size=4, show=False, model_name="tiny")
    s = res["benchmarks"][str(f)]
    assert s["n_responses"] == 6 and 0 <= s["avg_at_k"] <= 1 and s["mean_length"] <= 8
    rows = [json.loads(x) for x in (tmp_path / "o" / "samples.jsonl").read_text().splitlines()]
    assert all(r["prompt"].startswith("<|im_start|>system\nPlease reason step by step") for r in rows)
    assert all(r["length"] == 8 for r in rows if r["truncated"]) and all(r["length"] <= 8 for r in rows)
    assert s["tokens_per_second"] > 0 and res["provenance"]["backend"]["backend"] == "transformers"


def test_vllm_backend_glue_with_a_stand_in_module(monkeypatch, tiny):
    """The vLLM calls (sampling params, token prompts, outputs) against a stand-in module; vLLM itself is GPU-only."""
    import sys
    import types

    _, tok = tiny
    seen = {}

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, **kw):
            seen["llm"] = kw

        def get_tokenizer(self):
            return tok

        def generate(self, inputs, params, use_tqdm=False):
            seen["inputs"], seen["params"] = inputs, params
            outs = []
            for i, _ in enumerate(inputs):
                c = types.SimpleNamespace(text=f"out{i}</answer>" if i == 0 else "long", token_ids=[1] * (3 + i),
                                          finish_reason="stop" if i == 0 else "length")
                outs.append(types.SimpleNamespace(outputs=[c]))
            return outs

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams,
                                                                   __version__="stand-in"))
    be = VLLMBackend("some/model", seed=7)
    assert seen["llm"]["model"] == "some/model" and seen["llm"]["seed"] == 7
    s = SamplingSettings(temperature=0.6, max_new_tokens=5, stop=("</answer>",))
    gens = be.generate(["abc", "de"], s, seeds=[11, 12], add_special_tokens=False)
    assert gens == [Generation("out0</answer>", 3, False), Generation("long", 4, True)]
    assert seen["inputs"][0]["prompt_token_ids"] == tok("abc", add_special_tokens=False)["input_ids"]
    kw = seen["params"][1].kw
    assert (kw["temperature"], kw["top_p"], kw["top_k"], kw["max_tokens"], kw["seed"]) == (0.6, 1.0, -1, 5, 12)
    assert kw["stop"] == ["</answer>"] and kw["include_stop_str_in_output"] and kw["n"] == 1
    assert be.describe()["vllm"] == "stand-in"
