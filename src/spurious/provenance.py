"""What produced a result: versions, git commit, seeds, command line, machine. Stored in every result file."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

_PACKAGES = ("spurious", "torch", "transformers", "trl", "accelerate", "datasets", "math-verify", "sympy", "vllm")


def package_versions(names: tuple[str, ...] = _PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = _md.version(n)
        except _md.PackageNotFoundError:
            out[n] = None
    return out


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The commit of the spurious checkout (with '-dirty' if it has uncommitted changes), or None."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_description() -> str:
    """The accelerator the process uses (CUDA only if torch is already imported: a process that never imported
    torch, such as ``spurious grade``, ran on the CPU and does not pay torch's start-up to say so)."""
    try:
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            return f"cuda:{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    except Exception:  # noqa: BLE001 - provenance must never fail
        pass
    return f"cpu:{platform.processor() or platform.machine()} x{os.cpu_count()}"


def provenance(**extra: Any) -> dict[str, Any]:
    """A dict to embed in any result file. ``extra`` adds config, seeds, grader, ..."""
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device_description(),
        "git_commit": git_commit(),
        "versions": package_versions(),
        **extra,
    }
