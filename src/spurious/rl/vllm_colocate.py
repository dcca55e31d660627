"""The colocated vLLM engine of a GRPO run: its sampling seed, and weight sync on vLLM's CPU build.

* Seed. TRL 1.16 builds the colocated engine with ``seed = process_index // tensor_parallel_size``, and with
  ``distributed_executor_backend="external_launcher"`` the engine runs inside the training process and reseeds
  its global RNGs with that value, which then drive vLLM's sampling. So every run, whatever its seed, sampled
  the same completions. :func:`run_seeded_engines` builds the engine with :func:`engine_seed` instead: a hash of
  the run seed and the tensor-parallel group (ranks of one group must sample alike, as TRL intends).
* CPU weight sync. On CPU, vLLM repacks every linear layer's weight into a kernel layout after loading and
  empties the original parameter, so TRL's per-tensor ``model.load_weights`` fails. :func:`sync_weights_cpu`
  uses vLLM's own in-place reload (``model_runner.reload_weights``, which restores the checkpoint layout,
  loads and repacks) and then rebuilds the LM head's packed copy, which that reload leaves stale when the
  embeddings are tied.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from spurious.eval.backends import combine_seeds


def engine_seed(run_seed: int, group: int) -> int:
    """The vLLM engine seed of tensor-parallel group ``group`` in a run seeded ``run_seed`` (31 bits)."""
    return combine_seeds("vllm-engine", run_seed, group) % (2 ** 31)


@contextmanager
def run_seeded_engines(run_seed: int) -> Iterator[None]:
    """While active, TRL's colocated engines are built with :func:`engine_seed` of ``run_seed``.

    TRL passes ``seed=process_index // tensor_parallel_size`` (the group index); it is mapped, not dropped.
    """
    import trl.generation.vllm_generation as vg

    original = getattr(vg, "LLM", None)
    if original is None:  # vllm not importable: TRL raises its own error if use_vllm is asked for
        yield
        return

    def seeded_llm(*args: Any, seed: int = 0, **kwargs: Any):
        return original(*args, seed=engine_seed(run_seed, seed), **kwargs)

    vg.LLM = seeded_llm
    try:
        yield
    finally:
        vg.LLM = original


def is_cpu_engine() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def sync_weights_cpu(generation: Any) -> None:
    """Push the training weights into a colocated engine on vLLM's CPU build (see the module docstring).

    ``generation`` is TRL's ``VLLMGeneration``; its parameter iterator gathers ZeRO-3 partitions one by one and
    must run on every process.
    """
    from vllm.model_executor.layers.utils import dispatch_cpu_unquantized_gemm

    runner = generation.llm.llm_engine.model_executor.driver_worker.model_runner
    runner.reload_weights(weights_iterator=generation._iter_named_params(), is_checkpoint_format=True)
    for module in runner.get_model().modules():
        weight = getattr(module, "weight", None)
        # layers that keep their weight next to a packed copy (LM head, embeddings) get a fresh copy
        if hasattr(module, "cpu_linear") and weight is not None and weight.ndim == 2 and weight.numel() > 0:
            dispatch_cpu_unquantized_gemm(module, remove_weight=False)
    generation.llm.reset_prefix_cache()


def adapt_colocated_engine(trainer: Any) -> None:
    """On vLLM's CPU build, route the trainer's colocated weight sync through :func:`sync_weights_cpu`."""
    generation = getattr(trainer, "vllm_generation", None)
    if generation is None or getattr(generation, "mode", None) != "colocate" or not is_cpu_engine():
        return
    generation.sync_weights = lambda: sync_weights_cpu(generation)
