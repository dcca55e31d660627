"""GRPO training on the paper's schedule: our loss, advantages, rewards and instrumentation on top of TRL.

Programmatic use::

    from spurious.rl import TrainConfig, build_config, train
    result = train(build_config("tiny-cpu", ["phases=5"]))
    result.phases[-1]["reward/mean"], result.run_dir

Heavy libraries (torch, trl) are imported only when :func:`train` runs.
"""

from spurious.rl.config import ConfigError, TrainConfig, build_config, load_preset, preset_names, read_config


def train(config, **kwargs):
    """See :func:`spurious.rl.run.train`."""
    from spurious.rl.run import train as _train

    return _train(config, **kwargs)


def __getattr__(name):
    if name in ("TrainResult", "find_checkpoint"):
        from spurious.rl import run

        return getattr(run, name)
    if name == "SpuriousGRPOTrainer":
        from spurious.rl.trainer import SpuriousGRPOTrainer

        return SpuriousGRPOTrainer
    raise AttributeError(name)


__all__ = ["ConfigError", "TrainConfig", "build_config", "load_preset", "preset_names", "read_config", "train",
           "TrainResult", "SpuriousGRPOTrainer", "find_checkpoint"]
