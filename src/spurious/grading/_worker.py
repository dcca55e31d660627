"""A grading worker process: ``python -m spurious.grading._worker MEMORY_MB [--pdeathsig] [--fork-server]``.

With ``--fork-server`` the process warms up once and forks ready workers on request (see :func:`serve_forks`).
A worker reads ``(task_id, kind, args)`` messages from stdin and writes ``(task_id, "ok"|"error", value)`` to the
original stdout (both :class:`multiprocessing.connection.Connection` framing). Everything the libraries print
goes to stderr. The parent enforces the wall-clock deadline by killing this process, so math-verify's own
``signal.alarm`` timeouts are switched off here (they would end a call early with a silent ``False``).
Its address space is capped (``RLIMIT_AS``) so that a runaway SymPy computation raises ``MemoryError``
instead of exhausting the machine.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from typing import Any, Callable

from spurious.lifecycle import die_with_parent


class TruncatingFilter(logging.Filter):
    """Shorten log records: math-verify logs whole (possibly 200 KB) inputs on failures."""

    def __init__(self, limit: int = 300):
        super().__init__()
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if len(msg) > self.limit:
            record.msg, record.args = msg[: self.limit] + f"... [{len(msg)} chars]", None
        return True


def cap_math_verify_logging(level: int = logging.ERROR) -> None:
    """Raise math-verify's log level and truncate what it still logs."""
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "math_verify.utils"):
        lg = logging.getLogger(name)
        lg.setLevel(level)
        if not any(isinstance(f, TruncatingFilter) for f in lg.filters):
            lg.addFilter(TruncatingFilter())


@functools.lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> tuple:
    """Parsed gold answers are reused: a batch usually grades many responses against each gold."""
    from math_verify import parse

    return tuple(parse("$" + gold + "$", parsing_timeout=None))


def one_line(latex: str) -> str:
    """Line breaks (and the spaces around them) as one space: in LaTeX math they are plain whitespace, but
    math-verify's ``$...$`` pattern does not cross a newline (a multi-line ``pmatrix`` gold would not parse)."""
    return _LINE_BREAK.sub(" ", latex) if "\n" in latex or "\r" in latex else latex


_LINE_BREAK = re.compile(r"\s*[\r\n]\s*")


def math_verify_equal(gold: str, answer: str, raw: bool = False) -> bool:
    """math-verify's verdict, gold first (``"$" + gold + "$"``), without its signal-based timeouts.

    ``answer`` is parsed as the content of a box (``\\boxed{answer}``, so a ``\\$`` inside cannot unbalance math
    delimiters) unless ``raw``: then it is prose that math-verify searches for its last expression, as it does
    with a whole response.
    """
    from math_verify import parse, verify

    gold_parsed = list(_parse_gold(one_line(gold)))
    answer = one_line(answer)
    answer_parsed = parse(answer if raw else "\\boxed{" + answer + "}", parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=None))


def official_sympy_equal(pairs: list[tuple[str, str]]) -> bool:
    """The official grader's SymPy stage: every ``(gt_elem, given_elem)`` must simplify to a zero difference."""
    from spurious.grading.official import sympy_equal

    return all(sympy_equal(g, a) for g, a in pairs)


def sleep_for(seconds: float) -> bool:
    """A task that just sleeps (used by tests of the deadline machinery)."""
    import time

    time.sleep(seconds)
    return True


def spin_for(cpu_seconds: float) -> bool:
    """A task that burns ``cpu_seconds`` of CPU time (used by tests of the CPU-time budget)."""
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass
    return True


def sleep_then(seconds: float, kind: str, args: tuple) -> Any:
    """Wait ``seconds`` without using CPU, then run task ``kind`` (tests: a starved worker on a busy machine)."""
    time.sleep(seconds)
    return HANDLERS[kind](*args)


HANDLERS: dict[str, Callable[..., Any]] = {
    "math_verify": math_verify_equal,
    "official_sympy": official_sympy_equal,
    "sleep": sleep_for,
    "spin": spin_for,
    "sleep_then": sleep_then,
}


def _warm_up() -> None:
    """Build math-verify's LaTeX parser tables (about a second on the first parse) before announcing readiness,
    so that start-up is never charged to the first task's budget."""
    cap_math_verify_logging()
    math_verify_equal(r"\frac{1}{2}", r"\sqrt{x}+0.5")
    official_sympy_equal([("x^2+2x+1", "(x+1)^2")])


def _quiet_stdout() -> int:
    """Point fd 1 and ``sys.stdout`` at stderr (stray prints never reach a result channel); the old fd 1."""
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out_fd


def _work(in_fd: int, out_fd: int, memory_mb: int) -> None:
    """Serve tasks from ``in_fd``, results to ``out_fd``, under the address-space cap, until the inbox closes."""
    from multiprocessing.connection import Connection

    if memory_mb > 0:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    inbox, outbox = Connection(in_fd, writable=False), Connection(out_fd, readable=False)
    outbox.send(("ready", os.getpid(), None))
    while True:
        try:
            task_id, kind, args = inbox.recv()
        except (EOFError, OSError):
            return
        try:
            outbox.send((task_id, "ok", HANDLERS[kind](*args)))
        except MemoryError:
            outbox.send((task_id, "error", "MemoryError"))
        except Exception as e:  # noqa: BLE001 - one bad item must not end the worker
            outbox.send((task_id, "error", f"{type(e).__name__}: {str(e)[:200]}"))


def serve(memory_mb: int, use_pdeathsig: bool = False) -> None:
    """One worker: tasks on stdin, results on the original stdout."""
    die_with_parent(use_pdeathsig)
    out_fd = _quiet_stdout()
    _warm_up()
    _work(0, out_fd, memory_mb)


def _reap() -> bool:
    """Collect every exited child; whether some child is still running."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def serve_forks(memory_mb: int, use_pdeathsig: bool = False) -> None:
    """A fork server: warm up once, then for every ``b"fork"`` request on the unix socket at fd 0 (carrying the
    new worker's inbox and outbox fds) fork a worker that is warm from its first instant. Forked workers die with
    this process, which dies with the pool's owner, and are reaped here."""
    import signal
    import socket

    die_with_parent(use_pdeathsig)
    _quiet_stdout()
    _warm_up()
    signal.signal(signal.SIGCHLD, lambda *_: _reap())  # the pool kills workers by pid; we reap them
    control = socket.socket(fileno=0)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 16, 2)
        except OSError:
            msg, fds = b"", []
        if not msg or len(fds) != 2:  # the pool closed: reap what is left (their CPU time is then accounted)
            end = time.monotonic() + 2.0
            while _reap() and time.monotonic() < end:
                time.sleep(0.01)
            os._exit(0)  # skip the interpreter's teardown of SymPy
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                die_with_parent(True)  # forked from this process's main thread: PR_SET_PDEATHSIG is exact
                _work(fds[0], fds[1], memory_mb)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    _memory = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    (serve_forks if "--fork-server" in sys.argv[2:] else serve)(_memory, use_pdeathsig="--pdeathsig" in sys.argv[2:])
