"""No-repetition reward: our scan vs the official brute-force rule (docs/paper.md §2.9), same texts, same verdicts.

The brute force checks every period L in 10..256 and start i for 10 back-to-back copies, as the official
implementation does. Prints time per text and the ratio. ``python benchmarks/no_repetition.py``
"""

from __future__ import annotations

import random
import time

from spurious.rewards.no_repetition import has_repetition, has_repetition_brute_force


def main() -> None:
    rng = random.Random(0)
    alphabet = "abcdefghijklmnopqrstuvwxyz .,=+0123456789"
    for n in (2_000, 12_000):
        texts = ["".join(rng.choice(alphabet) for _ in range(n)) for _ in range(5)]
        # plant one 10x repeat in half of them, so both verdicts occur
        for j in range(0, len(texts), 2):
            unit = "".join(rng.choice(alphabet) for _ in range(rng.randint(10, 40)))
            texts[j] = texts[j][: n // 2] + unit * 10 + texts[j][n // 2:]
        t = time.perf_counter()
        ours = [has_repetition(x) for x in texts]
        fast = time.perf_counter() - t
        t = time.perf_counter()
        ref = [has_repetition_brute_force(x) for x in texts]
        slow = time.perf_counter() - t
        assert ours == ref, "verdicts differ"
        print(f"{n:>6} chars: ours {fast / len(texts) * 1e3:8.2f} ms/text   brute force "
              f"{slow / len(texts) * 1e3:8.1f} ms/text   ratio {slow / fast:6.0f}x   verdicts equal ({sum(ours)} repeat)")


if __name__ == "__main__":
    main()
