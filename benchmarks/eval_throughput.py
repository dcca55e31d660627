"""Generation throughput of our evaluation backend vs a plain per-prompt ``model.generate`` loop.

Same model, same prompts (the first N MATH-500 problems in the qwen-math chat template, so prompt lengths vary
as in a real evaluation), same greedy decoding and max_new_tokens. Three ways, measured alternately in the same
process (repeats interleaved so machine load hits all alike):

* ``plain``    - one ``model.generate`` call per prompt (what a naive evaluation loop does);
* ``unsorted`` - our ``TransformersBackend`` with batching but without length sorting;
* ``ours``     - our ``TransformersBackend``: batches of prompts sorted by length, left padding.

Reports generated tokens per second of each and the ratios ours/plain and ours/unsorted. A randomly initialised
tiny model rarely emits EOS, so every row generates max_new_tokens tokens; padding waste comes from prompts only.

    OMP_NUM_THREADS=1 python benchmarks/eval_throughput.py [--preset 10M] [--n 32] [--max-new-tokens 64]
        [--batch-size 16] [--repeats 2] [--device cpu|cuda] [--source math500|synthetic]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="10M", help="tiny model preset (spurious.models.TINY_PRESETS)")
    ap.add_argument("--n", type=int, default=32, help="number of MATH-500 prompts")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: OMP_NUM_THREADS)")
    ap.add_argument("--source", choices=("math500", "synthetic"), default="math500",
                    help="synthetic: problems of 10-700 random words (when the data files are not at hand)")
    args = ap.parse_args()

    import torch

    from spurious.data import get_template, load_problems
    from spurious.eval.backends import SamplingSettings, TransformersBackend
    from spurious.models import tiny_model_and_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = tiny_model_and_tokenizer(args.preset)
    model = model.to(args.device).eval()
    tmpl = get_template("qwen-math")
    if args.source == "math500":
        problems = [p.problem for p in load_problems("math500", limit=args.n)]
    else:
        import random

        rng = random.Random(0)
        words = ["solve", "the", "sum", "of", "x", "and", "12", "what", "is", "find", "+", "=", "\\frac{1}{2}"]
        problems = [" ".join(rng.choice(words) for _ in range(rng.randint(10, 700))) for _ in range(args.n)]
    prompts = [tmpl.render(p, tok) for p in problems]
    lengths = [len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    settings = SamplingSettings(temperature=0.0, max_new_tokens=args.max_new_tokens)
    ours = TransformersBackend(model, tok, batch_size=args.batch_size, sort_by_length=True)
    unsorted = TransformersBackend(model, tok, batch_size=args.batch_size, sort_by_length=False)

    def run_plain() -> int:
        n = 0
        for p in prompts:
            enc = tok(p, return_tensors="pt", add_special_tokens=False).to(args.device)
            with torch.inference_mode():
                out = model.generate(**enc, max_new_tokens=args.max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            new = out[0, enc["input_ids"].shape[1]:].tolist()
            n += new.index(tok.eos_token_id) + 1 if tok.eos_token_id in new else len(new)
        return n

    def run_backend(be) -> int:
        return sum(g.n_tokens for g in be.generate(prompts, settings))

    ways = {"plain": run_plain, "unsorted": lambda: run_backend(unsorted), "ours": lambda: run_backend(ours)}
    run_backend(ours)  # warm-up (allocator, kernels)
    rates: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(args.repeats):
        for name, fn in ways.items():
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            n = fn()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            rates[name].append(n / (time.perf_counter() - t0))

    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"model tiny:{args.preset} on {args.device} ({torch.get_num_threads()} threads), "
          f"{len(prompts)} {args.source} prompts ({min(lengths)}-{max(lengths)} tokens), greedy, "
          f"{args.max_new_tokens} new tokens, "
          f"batch {args.batch_size}, median of {args.repeats}")
    for k in ways:
        print(f"  {k:9s} {med[k]:10,.0f} generated tokens/s   (runs: {', '.join(f'{r:,.0f}' for r in rates[k])})")
    print(f"ratio ours / plain per-prompt loop: {med['ours'] / med['plain']:.2f}x")
    print(f"ratio ours / batched unsorted:      {med['ours'] / med['unsorted']:.2f}x  (length sorting alone)")


if __name__ == "__main__":
    main()
