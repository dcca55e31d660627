"""A process pool with a per-task CPU-time budget and a hard wall-clock cap, for SymPy/math-verify work.

Why not ``multiprocessing.Pool``/``ProcessPoolExecutor``: neither can abandon one stuck task without tearing
down the pool, and math-verify's own timeouts use ``signal.alarm`` (main thread only). Here each worker is a
fresh interpreter (``python -m spurious.grading._worker``, so nothing of the caller -- torch, CUDA, threads,
the ``__main__`` script -- is inherited or re-imported) that handles one task at a time over a pipe.

Deadline: a task may use ``timeout`` seconds of its worker's **CPU time** (read from ``/proc``), so a correct
answer is not lost because the machine is busy and the worker got only part of a core; whatever happens it is
stopped after ``WALL_CAP_FACTOR * timeout`` seconds of wall clock (a task that sleeps or is starved). The
parent waits on all pipes with the earliest moment a budget could run out as timeout; a worker past its
budget or cap is killed (SIGKILL) and replaced, and its task is reported as ``"timeout"``. A task that passed
``timeout`` seconds of wall clock with CPU budget left is counted in ``counters.extended``. Without ``/proc``
(not Linux) the budget is wall clock. A worker that dies (crash, memory limit) yields ``"error"``. Nothing a
task does can stall the batch for longer than the wall-clock cap.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

__all__ = ["WorkerPool", "TaskResult", "default_worker_count", "process_cpu_seconds", "WALL_CAP_FACTOR"]

WALL_CAP_FACTOR = 3.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory that contains `spurious/`


def process_cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU seconds of a live process (Linux ``/proc``), or None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


try:
    _CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # not POSIX
    _CLOCK_TICKS = 100


def default_worker_count() -> int:
    """Usable CPU cores (affinity-aware), at least 1, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


@dataclass
class TaskResult:
    status: str  # "ok" | "timeout" | "error"
    value: Any = None
    seconds: float = 0.0


class _ForkedProcess:
    """A worker forked by the fork server (not our child): its pid is known once it reports ready."""

    def __init__(self) -> None:
        self.pid: Optional[int] = None

    def kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> None:
        """Until the process is gone (the fork server reaps it), at most ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while self.pid is not None and time.monotonic() < end:
            try:
                os.kill(self.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.005)


@dataclass
class _Worker:
    proc: Any  # subprocess.Popen, or _ForkedProcess
    inbox: Connection  # parent -> worker
    outbox: Connection  # worker -> parent
    started: float
    ready: bool = False
    task: Optional[int] = None
    deadline: float = 0.0  # the next moment the task's budget could be spent (then its CPU time is read)
    hard_deadline: float = 0.0  # the wall-clock cap
    dispatched: float = 0.0
    cpu_at_dispatch: Optional[float] = None
    extended: bool = False
    queued: Optional[int] = None  # the next task, already sent: the worker starts it as soon as ``task`` is done


@dataclass
class PoolCounters:
    restarts: int = 0
    timeouts: int = 0
    errors: int = 0
    tasks: int = 0
    extended: int = 0  # tasks that ran past ``timeout`` of wall clock with CPU budget left
    start_failures: int = 0
    extra: dict = field(default_factory=dict)


class WorkerPool:
    """``size`` worker processes; :meth:`run` executes a list of tasks with a per-task deadline."""

    def __init__(self, size: int, *, memory_mb: int = 1024, startup_timeout: float = 120.0,
                 wall_cap_factor: float = WALL_CAP_FACTOR, fork_server: bool = True):
        if size < 1:
            raise ValueError(f"a worker pool needs at least 1 worker, got {size}")
        if wall_cap_factor < 1:
            raise ValueError(f"wall_cap_factor must be at least 1, got {wall_cap_factor}")
        self.size, self.memory_mb, self.startup_timeout = size, memory_mb, startup_timeout
        self.wall_cap_factor = wall_cap_factor
        self.prefetch = True  # keep one more task in each busy worker's pipe
        self.counters = PoolCounters()
        self._owner_pid = os.getpid()
        self._closed = False
        self._forks: Optional[tuple[subprocess.Popen, socket.socket]] = self._start_fork_server() \
            if fork_server and size > 1 else None
        self._workers: list[_Worker] = [self._spawn() for _ in range(size)]

    # -- worker lifecycle ---------------------------------------------------------------------------------------
    def _command(self, *flags: str) -> tuple[list[str], dict]:
        env = dict(os.environ)
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        main = ["--pdeathsig"] if threading.current_thread() is threading.main_thread() else []
        return [sys.executable, "-m", "spurious.grading._worker", str(self.memory_mb), *main, *flags], env

    def _start_fork_server(self) -> Optional[tuple[subprocess.Popen, socket.socket]]:
        """One warmed-up process that forks the workers (each extra worker then costs milliseconds, not an
        interpreter start and a parser warm-up); None where that is not available."""
        if not (hasattr(os, "fork") and hasattr(socket, "send_fds") and sys.platform.startswith("linux")):
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cmd, env = self._command("--fork-server")
        try:
            proc = subprocess.Popen(cmd, stdin=theirs.fileno(), stdout=subprocess.DEVNULL, env=env, close_fds=True)
        except OSError:
            ours.close()
            return None
        finally:
            theirs.close()
        return proc, ours

    def _spawn(self) -> _Worker:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            proc: Any = None
            if self._forks is not None and self._forks[0].poll() is None:
                try:
                    socket.send_fds(self._forks[1], [b"fork"], [to_child_r, from_child_w])
                    proc = _ForkedProcess()
                except OSError:  # the fork server is gone: start interpreters from now on
                    self._stop_fork_server()
            if proc is None:
                cmd, env = self._command()
                proc = subprocess.Popen(cmd, stdin=to_child_r, stdout=from_child_w, env=env, close_fds=True)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        return _Worker(proc, Connection(to_child_w, readable=False), Connection(from_child_r, writable=False),
                       started=time.monotonic())

    def _stop_fork_server(self) -> None:
        if self._forks is not None:
            proc, sock = self._forks
            self._forks = None
            with contextlib.suppress(OSError):
                sock.close()  # the fork server reaps its workers and exits
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait(timeout=10)

    def _kill(self, w: _Worker) -> None:
        try:
            w.proc.kill()
            w.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for conn in (w.inbox, w.outbox):
            try:
                conn.close()
            except OSError:
                pass

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        self._workers[self._workers.index(w)] = self._spawn()
        self.counters.restarts += 1

    @property
    def owned_here(self) -> bool:
        """False in a process forked from the one that started the workers (they are not ours to use)."""
        return os.getpid() == self._owner_pid

    def close(self) -> None:
        """Stop every worker (idempotent; a forked child never kills its parent's workers)."""
        if self._closed:
            return
        self._closed = True
        if not self.owned_here:
            return
        for w in self._workers:
            self._kill(w)
        self._stop_fork_server()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return not self._closed

    # -- running tasks ------------------------------------------------------------------------------------------
    def run(self, tasks: Sequence[tuple[str, tuple]], timeout: float,
            on_result: Optional[Callable[[int, TaskResult], None]] = None) -> list[TaskResult]:
        """Run ``(kind, args)`` tasks (see ``_worker.HANDLERS``); each gets ``timeout`` seconds of CPU time, at
        most ``wall_cap_factor * timeout`` of wall clock, from the moment it is handed to an idle worker. Results
        come back in task order."""
        if self._closed or not self.owned_here:
            raise RuntimeError("the worker pool is closed or belongs to another process")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        results: list[Optional[TaskResult]] = [None] * len(tasks)
        queue = deque(range(len(tasks)))
        failures_in_a_row = 0

        def finish(w: _Worker, result: TaskResult) -> None:
            idx = w.task
            assert idx is not None
            result.seconds = time.monotonic() - w.dispatched
            results[idx] = result
            w.task = None
            self.counters.tasks += 1
            if result.status == "timeout":
                self.counters.timeouts += 1
            elif result.status == "error":
                self.counters.errors += 1
            if on_result is not None:
                on_result(idx, result)

        def start(w: _Worker, idx: int, now: float) -> None:
            w.task, w.dispatched, w.deadline = idx, now, now + timeout
            w.hard_deadline, w.extended = now + self.wall_cap_factor * timeout, False
            w.cpu_at_dispatch = process_cpu_seconds(w.proc.pid)

        def drop(w: _Worker) -> None:
            """Replace ``w``; the task queued behind its current one goes back to the front of the queue."""
            if w.queued is not None:
                queue.appendleft(w.queued)
                w.queued = None
            self._replace(w)

        while queue or any(w.task is not None for w in self._workers):
            now = time.monotonic()
            for w in list(self._workers):
                if w.ready and w.task is None and queue:
                    idx = queue.popleft()
                    try:
                        w.inbox.send((idx, tasks[idx][0], tasks[idx][1]))
                    except (OSError, ValueError):  # the worker died while idle
                        queue.appendleft(idx)
                        self._replace(w)
                        continue
                    start(w, idx, now)
                if self.prefetch and w.task is not None and w.queued is None and queue:
                    # one task waits in the worker's pipe, so it never idles waiting for this loop to be scheduled
                    idx = queue.popleft()
                    try:
                        w.inbox.send((idx, tasks[idx][0], tasks[idx][1]))
                        w.queued = idx
                    except (OSError, ValueError):  # the worker died: its result channel reports it
                        queue.appendleft(idx)
            waiting = [w for w in self._workers if w.task is not None or not w.ready]
            if not waiting:
                continue
            horizon = [w.deadline for w in waiting if w.task is not None]
            horizon += [w.started + self.startup_timeout for w in waiting if not w.ready]
            ready = wait([w.outbox for w in waiting], timeout=max(0.0, min(horizon) - time.monotonic()))
            now = time.monotonic()
            for w in list(waiting):
                if w.outbox in ready:
                    try:
                        msg = w.outbox.recv()
                    except (EOFError, OSError):  # the worker died (crash, memory limit, killed)
                        if w.task is not None:
                            finish(w, TaskResult("error", "worker process died"))
                        elif not w.ready:
                            failures_in_a_row += 1
                            self.counters.start_failures += 1
                        drop(w)
                        if failures_in_a_row >= 3 * self.size:
                            self._fail_everything(results, queue, "grading workers fail to start")
                            return results  # type: ignore[return-value]
                        continue
                    if not w.ready:
                        w.ready, failures_in_a_row = True, 0
                        if isinstance(w.proc, _ForkedProcess):
                            w.proc.pid = msg[1]
                    elif w.task is not None and msg[0] == w.task:
                        finish(w, TaskResult(msg[1], msg[2]))
                        if w.queued is not None:  # the worker has already started it
                            start(w, w.queued, time.monotonic())
                            w.queued = None
                elif w.task is not None and now >= w.deadline:
                    left = self._budget_left(w, timeout, now)
                    if left <= 0:
                        finish(w, TaskResult("timeout", None))
                        drop(w)
                    else:
                        if not w.extended:
                            w.extended = True
                            self.counters.extended += 1
                        w.deadline = min(now + left, w.hard_deadline)
                elif not w.ready and now >= w.started + self.startup_timeout:
                    self.counters.start_failures += 1
                    failures_in_a_row += 1
                    self._replace(w)
                    if failures_in_a_row >= 3 * self.size:
                        self._fail_everything(results, queue, "grading workers fail to start")
                        return results  # type: ignore[return-value]
        return results  # type: ignore[return-value]

    def _budget_left(self, w: _Worker, timeout: float, now: float) -> float:
        """Seconds of CPU budget the task on ``w`` has left (0 once it is spent or the wall-clock cap is reached;
        without a CPU reading the budget is wall clock)."""
        if now >= w.hard_deadline or w.cpu_at_dispatch is None:
            return 0.0
        cpu = process_cpu_seconds(w.proc.pid)
        if cpu is None:
            return 0.0
        return max(0.0, timeout - (cpu - w.cpu_at_dispatch))

    def _fail_everything(self, results: list, queue: deque, why: str) -> None:
        for w in self._workers:
            for idx in (w.task, w.queued):
                if idx is not None:
                    results[idx] = TaskResult("error", why)
            w.task = w.queued = None
        while queue:
            results[queue.popleft()] = TaskResult("error", why)

    def warm(self, timeout: float = 120.0) -> None:
        """Block until every worker has started (optional: :meth:`run` waits for them anyway)."""
        end = time.monotonic() + timeout
        while not all(w.ready for w in self._workers) and time.monotonic() < end:
            pending = [w for w in self._workers if not w.ready]
            for conn in wait([w.outbox for w in pending], timeout=max(0.0, end - time.monotonic())):
                w = next(x for x in pending if x.outbox is conn)
                try:
                    msg = conn.recv()
                    w.ready = True
                    if isinstance(w.proc, _ForkedProcess):
                        w.proc.pid = msg[1]
                except (EOFError, OSError):
                    self.counters.start_failures += 1
                    self._replace(w)
