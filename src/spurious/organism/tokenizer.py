"""A character-level Hugging Face tokenizer for the organism, with two whole-word tokens.

Every character is one token, except ``python`` and ``\\boxed{``, which are single tokens so that the
standard markers (the paper's code detector, the boxed answer) cost one decision each. Prompts are raw
text (no chat template, no BOS); completions end with ``<eos>``; ``<pad>`` pads on the left.

Load a saved tokenizer with :func:`load_tokenizer` (``PreTrainedTokenizerFast.from_pretrained``), never
``AutoTokenizer``: a model config beside it would make transformers pick a model-specific class that
rebuilds the pre-tokenizer, so the saved tokenizer would encode differently after reloading.
"""

from __future__ import annotations

import os
import string

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
WORDS = ("python", "\\boxed{")
CHARS = string.digits + string.ascii_lowercase + " +-*=;,.:{}()#>\\"


def vocabulary() -> list[str]:
    return [PAD, EOS, UNK, *WORDS, *CHARS]


def build_tokenizer():
    """A fresh ``PreTrainedTokenizerFast`` (left padding, EOS, pad, no special tokens added on encode)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    words = "|".join(w.replace("\\", "\\\\").replace("{", "\\{") for w in WORDS)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"{words}|[\\s\\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD, unk_token=UNK,
                                   padding_side="left", model_max_length=64)


def load_tokenizer(path: str | os.PathLike):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(path), padding_side="left")
