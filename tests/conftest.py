"""Test-wide settings: offline hub (no retries against the hub), one torch thread and passive OpenMP (parallel
torch processes on a small machine otherwise oversubscribe its cores)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's benchmark files (../shared/data); tests that need them skip, saying so, if absent."""
    if not (SHARED_DATA / "math500.jsonl").exists():
        pytest.skip(f"benchmark data absent: no {SHARED_DATA / 'math500.jsonl'} (the ../shared/data folder beside "
                    f"the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def organism_cache(tmp_path_factory) -> Path:
    """A fresh ``$SPURIOUS_CACHE`` for one test module's organisms (restored afterwards)."""
    d = tmp_path_factory.mktemp("cache")
    old = os.environ.get("SPURIOUS_CACHE")
    os.environ["SPURIOUS_CACHE"] = str(d)
    yield d
    if old is None:
        del os.environ["SPURIOUS_CACHE"]
    else:
        os.environ["SPURIOUS_CACHE"] = old


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
