"""Child processes that never outlive their parent (grading workers, organism grid workers)."""

from __future__ import annotations

import os
import sys
import threading
import time


def die_with_parent(use_pdeathsig: bool) -> None:
    """Never outlive the parent, even stuck in a computation (the parent may be SIGKILLed mid-task).

    Linux ``PR_SET_PDEATHSIG`` is exact but fires when the *thread* that started us exits, so the parent asks
    for it only when it spawns from its main thread; a watchdog thread that notices re-parenting covers the rest
    (it runs whenever the computation releases the GIL, which pure-Python SymPy does constantly).
    """
    parent = os.getppid()
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before we got here
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
