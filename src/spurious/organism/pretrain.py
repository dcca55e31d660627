"""Pre-training an organism on its family's corpus, cached on disk by the full configuration.

Next-token loss on completion tokens (and the final ``<eos>``) only; fresh demonstrations every step;
AdamW with linear warm-up and cosine decay. The corpus covers all 512 problems
(as a real model's pre-training covers its benchmarks' distribution); RL trains on the train split and
evaluation uses the held-out split, which RL never sees.

Style-balanced training (``style_balanced=True``, the default). The style is decided by the first
completion token (``python`` or a digit). Demonstrations are drawn with both styles equally often, and
the first token's loss is kept with weight ``w(style) = p(style) / max(p_code, 1 - p_code)`` (a random
mask), so the style *decision* is trained on exactly the family's mix while both styles' arithmetic gets
the same amount of practice. Without it a 10% minority style stays under-trained at CPU budgets and its
accuracy falls far below the corpus value. The result is a normal Hugging Face
directory (model + tokenizer) plus ``organism.json`` with the configuration, the calibration table
(style frequency, accuracy per style, boxed rate; T=1 and greedy) and provenance.

Where an organism comes from (:func:`ensure_organism`): the organisms shipped with the package
(``spurious/organism/pretrained/<key>/``, built by ``spurious organism pretrain --into``) when the
configuration's key matches one, so every machine starts from the same weights; otherwise the cache
``$SPURIOUS_CACHE/organisms/<key>/`` (default ``~/.cache/spurious``), pre-training on a miss. The key
hashes the family's full specification, the size preset and every training setting, so a changed prior
never reuses a stale model.

Reproducibility: pre-training runs on one torch thread whatever the caller's setting (the float
reduction order, hence the weights, depends on the thread count); the same configuration on the same
machine then gives bit-identical weights. ``organism.json`` records ``weights_sha256``, the sha256 of
``model.safetensors``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from spurious.io import write_json
from spurious.organism.corpus import all_problems, get_family, iter_demonstrations, split_problems
from spurious.organism.evaluate import calibration
from spurious.organism.model import build_model, n_parameters, size_dict
from spurious.organism.tokenizer import build_tokenizer, load_tokenizer
from spurious.provenance import provenance

CORPUS_VERSION = 1  # bump when corpus rendering changes


@dataclass(frozen=True)
class PretrainConfig:
    family: str = "qwen-like"
    size: str = "tiny"
    steps: int = 2000
    batch_size: int = 64
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    split_seed: int = 0
    n_eval: int = 128
    calibration_samples: int = 1024
    style_balanced: bool = True

    def full(self) -> dict:
        """Everything the trained weights depend on (the hash input)."""
        return {"config": asdict(self), "family": get_family(self.family).to_dict(), "size": size_dict(self.size),
                "corpus_version": CORPUS_VERSION}

    def key(self) -> str:
        blob = json.dumps(self.full(), sort_keys=True).encode()
        return f"{self.family}-{self.size}-{hashlib.sha256(blob).hexdigest()[:12]}"


def cache_root() -> Path:
    return Path(os.environ.get("SPURIOUS_CACHE") or Path.home() / ".cache" / "spurious") / "organisms"


SHIPPED_ROOT = Path(__file__).parent / "pretrained"


def shipped_dir(config: PretrainConfig) -> Path | None:
    """The organism shipped with the package for ``config``, if there is one."""
    d = SHIPPED_ROOT / config.key()
    return d if (d / "organism.json").exists() else None


def organism_dir(config: PretrainConfig) -> Path:
    """Where ``config``'s organism lives: the shipped copy if there is one, else its cache folder."""
    return shipped_dir(config) or cache_root() / config.key()


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of an organism folder's ``model.safetensors`` (what ``sha256sum`` prints)."""
    h = hashlib.sha256()
    with open(Path(path) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def lr_at(step: int, config: PretrainConfig) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    t = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * t))


def first_token_weights(p_code: float) -> dict[str, float]:
    """Keep-probability of the style token's loss per style, so that style-balanced demonstrations train
    the style decision on a ``p_code : 1 - p_code`` mix."""
    top = max(p_code, 1 - p_code)
    return {"code": p_code / top, "language": (1 - p_code) / top}


def _batch(tokenizer, demos, keep_first=None):
    """Right-padded input ids and labels masked to completion + eos (``keep_first[i]`` False: also mask the
    first completion token of demonstration i)."""
    import torch

    rows, labels = [], []
    for i, d in enumerate(demos):
        p = tokenizer(d.problem.problem, add_special_tokens=False)["input_ids"]
        c = tokenizer(d.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(p + c)
        lab = list(c)
        if keep_first is not None and not keep_first[i]:
            lab[0] = -100
        labels.append([-100] * len(p) + lab)
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    lab = torch.tensor([r + [-100] * (width - len(r)) for r in labels])
    att = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return ids, att, lab


def pretrain(config: PretrainConfig, out_dir: str | os.PathLike | None = None,
             on_step: Callable[[int, float], None] | None = None) -> Path:
    """Train an organism from scratch on one torch thread, calibrate it and save it (atomically) to
    ``out_dir``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _pretrain(config, out_dir, on_step)
    finally:
        torch.set_num_threads(threads)


def _pretrain(config: PretrainConfig, out_dir, on_step) -> Path:
    import torch

    out = Path(out_dir) if out_dir else cache_root() / config.key()
    family = get_family(config.family)
    _, eval_problems = split_problems(config.split_seed, config.n_eval)
    tok = build_tokenizer()
    model = build_model(config.size, tok, seed=config.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.98), weight_decay=config.weight_decay)
    corpus_family = replace(family, p_code=0.5) if config.style_balanced else family
    weights = first_token_weights(family.p_code)
    demos = iter_demonstrations(corpus_family, all_problems(), seed=config.seed)
    mask_rng = random.Random(config.seed + 1)
    t0 = time.time()
    model.train()
    loss_val = float("nan")
    for step in range(config.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, config)
        batch = [next(demos) for _ in range(config.batch_size)]
        keep = [mask_rng.random() < weights[d.style] for d in batch] if config.style_balanced else None
        ids, att, lab = _batch(tok, batch, keep)
        loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_val = loss.item()
        if on_step:
            on_step(step, loss_val)
    train_s = time.time() - t0
    calib = calibration(model, tok, eval_problems, n_samples=config.calibration_samples, seed=config.seed)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    write_json(tmp / "organism.json", {
        "key": config.key(), **config.full(), "weights_sha256": weights_sha256(tmp),
        "expected": family.expected(), "calibration": calib,
        "final_loss": loss_val, "train_seconds": round(train_s, 1), "parameters": n_parameters(model),
        "provenance": provenance(pretrain_config=asdict(config)),
    })
    if out.exists():  # another process finished first: keep theirs
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out)
    return out


@dataclass
class Organism:
    """A loaded organism: model, tokenizer, its metadata (config, calibration) and where it lives."""

    model: object
    tokenizer: object
    info: dict
    path: Path


def load_organism(path: str | os.PathLike) -> Organism:
    from transformers import LlamaForCausalLM

    p = Path(path)
    info = json.loads((p / "organism.json").read_text())
    tok = load_tokenizer(p)
    model = LlamaForCausalLM.from_pretrained(p)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    return Organism(model, tok, info, p)


def ensure_organism(config: PretrainConfig, on_step: Callable[[int, float], None] | None = None) -> Path:
    """The organism's directory (shipped, else cached), pre-training it into the cache if it is in neither."""
    d = organism_dir(config)
    if (d / "organism.json").exists():
        return d
    return pretrain(config, d, on_step=on_step)
