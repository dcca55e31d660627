"""The colocated vLLM engine's seed comes from the run seed (no vLLM needed: TRL's engine class is replaced by a
recorder). The end-to-end check with vLLM on CPU is in test_distributed_vllm.py."""

from __future__ import annotations

import trl.generation.vllm_generation as vg

from spurious.rl.vllm_colocate import engine_seed, run_seeded_engines


def test_engine_seed_depends_on_run_seed_and_tensor_parallel_group_only():
    assert engine_seed(42, 0) == engine_seed(42, 0)
    assert len({engine_seed(s, g) for s in (0, 1, 42) for g in (0, 1, 2)}) == 9
    assert all(0 <= engine_seed(s, 0) < 2 ** 31 for s in range(20))


def test_trl_engine_is_built_with_the_run_seed_and_restored_after(monkeypatch):
    built = []

    def fake_llm(*args, **kwargs):
        built.append(kwargs)
        return object()

    monkeypatch.setattr(vg, "LLM", fake_llm, raising=False)
    with run_seeded_engines(7):
        vg.LLM(model="m", seed=1)  # what TRL passes: process_index // tensor_parallel_size
        vg.LLM(model="m", seed=0)
    assert vg.LLM is fake_llm
    assert [k["seed"] for k in built] == [engine_seed(7, 1), engine_seed(7, 0)]
    assert built[0]["model"] == "m"
    with run_seeded_engines(8):
        vg.LLM(model="m", seed=0)
    assert built[-1]["seed"] == engine_seed(8, 0) != engine_seed(7, 0)
