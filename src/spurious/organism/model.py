"""A tiny standard Hugging Face causal LM (``LlamaForCausalLM``) from a size preset.

Standard architecture on purpose: the organism goes through exactly the same generation, training
and evaluation code as a real model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from spurious.errors import UsageError


@dataclass(frozen=True)
class SizePreset:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int = 64


SIZES: dict[str, SizePreset] = {
    "tiny": SizePreset(hidden=64, layers=2, heads=4, intermediate=256),     # ~0.1M params (the shipped organism)
    "small": SizePreset(hidden=128, layers=3, heads=4, intermediate=512),   # ~0.6M params (docs/organism.md, conditions map)
}


def get_size(name: str) -> SizePreset:
    try:
        return SIZES[name]
    except KeyError:
        raise UsageError(f"unknown organism size {name!r}; choose from {sorted(SIZES)}") from None


def size_dict(name: str) -> dict:
    return asdict(get_size(name))


def build_model(size: str, tokenizer, seed: int = 0):
    """A freshly initialised ``LlamaForCausalLM`` with tied embeddings, sized by preset ``size``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    p = get_size(size)
    cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=p.hidden, num_hidden_layers=p.layers,
        num_attention_heads=p.heads, num_key_value_heads=p.heads, intermediate_size=p.intermediate,
        max_position_embeddings=p.max_positions, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model


def n_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
