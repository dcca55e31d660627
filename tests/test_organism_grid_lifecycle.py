"""A killed ``spurious demo`` must not leave grid workers training orphaned cells."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process semantics")

PARENT = textwrap.dedent("""
    import sys, time
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from spurious.organism.grid import _single_thread

    def job(path):
        import os, time
        open(path, "w").write(str(os.getpid()))
        time.sleep(120)

    if __name__ == "__main__":
        pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=_single_thread,
                                   initargs=(True,))
        pool.submit(job, sys.argv[1])
        time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie awaiting its (new) parent's wait() counts as dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_grid_worker_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script, pid_file = tmp_path / "parent.py", tmp_path / "worker.pid"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)])
    try:
        deadline = time.time() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert time.time() < deadline and parent.poll() is None, "the worker never started"
            time.sleep(0.2)
        worker = int(pid_file.read_text())
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 10
        while _alive(worker) and time.time() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the grid worker outlived the killed parent"
    finally:
        parent.kill()
        parent.wait()
