"""Hostile inputs: every item is answered within the wall-clock cap + 1 s, memory stays bounded, nothing crashes
or stalls.

A symbolic task may use ``timeout`` seconds of CPU time and is stopped after ``WALL_CAP_FACTOR * timeout`` seconds of
wall clock whatever happens. The bound "within the cap + 1 s" is a correctness property of that hard deadline, not a
speed claim.
"""

import os
import random
import resource
import threading
import time

import pytest

import spurious.grading.grader as grader_module
from spurious.grading import grade, grade_many, grader_stats
from spurious.grading.guards import symbolic_hazard
from spurious.grading.pool import WALL_CAP_FACTOR, WorkerPool

TIMEOUT = 2.0
BOUND = WALL_CAP_FACTOR * TIMEOUT + 1.0


@pytest.fixture(scope="module", autouse=True)
def warm_pool():
    """Start the worker pool once, so that process start-up is not charged to the first hostile input."""
    grade(r"\boxed{\sqrt{4}}", "2", timeout=60)


def _junk(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n)).decode("latin-1")


HOSTILE = {
    "exponent tower": r"9^{9^{9^{9}}}",
    "factorial of a power": r"10^{9}!",
    "huge factorial": "1000000000!",
    "huge power": r"2^{100000000}",
    "nested braces": "{" * 3000 + "1" + "}" * 3000,
    "nested parentheses": "(" * 5000 + "1" + ")" * 5000,
    "nested fractions": r"\frac{1}{" * 300 + "2" + "}" * 300,
    "long sum": "+".join(["x"] * 5000),
    "binary junk": _junk(2000),
}


@pytest.mark.parametrize("grader", ["default", "official"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answers_are_bounded(name, grader):
    bad = HOSTILE[name]
    for response, gold in ((r"\boxed{" + bad + "}", "5"), (r"\boxed{5}", bad), (r"\boxed{" + bad + "}", "x")):
        t0 = time.monotonic()
        r = grade(response, gold, grader=grader, timeout=TIMEOUT)
        assert time.monotonic() - t0 < BOUND, (name, grader, response[:40], gold[:40])
        assert not r.correct
        assert r.status in ("ok", "no_answer", "timeout", "error")


@pytest.mark.parametrize("grader", ["default", "official"])
def test_hostile_responses_are_bounded(grader):
    rng = random.Random(1)
    words = ["the", "sum", "is", "x", "{", "}", "(", ")", r"\frac", "12", "$", "boxed", "\\text{", "answer"]
    responses = {
        "200 KB prose, box at the end": " ".join(rng.choice(words[:4]) for _ in range(50_000)) + r" \boxed{7}",
        "200 KB of LaTeX tokens": " ".join(rng.choice(words) for _ in range(40_000)),
        "200 KB of digits": "7" * 200_000,
        "200 KB of boxes": r"\boxed{1}" * 22_000,
        "200 KB of \\text{": "\\text{" * 35_000 + "}",
        "unbalanced braces": r"\boxed{" + "{" * 100_000,
        "nested \\text wrappers": r"\boxed{" + r"\text{" * 20_000 + "x" + "}" * 20_000 + "}",
        "answer is + 200 KB of LaTeX": "The answer is " + " ".join(rng.choice(words) for _ in range(40_000)),
        "binary junk": _junk(200_000, seed=2),
        "empty": "",
    }
    for name, response in responses.items():
        t0 = time.monotonic()
        r = grade(response, "7", grader=grader, timeout=TIMEOUT)
        assert time.monotonic() - t0 < BOUND, (name, grader)
        assert r.status in ("ok", "no_answer", "timeout", "error")
    assert grade(responses["200 KB prose, box at the end"], "7").correct
    assert grade(responses["unbalanced braces"], "7").status == "no_answer"


def test_guards_catch_the_classic_cases_cheaply():
    for name, bad in HOSTILE.items():
        assert symbolic_hazard(bad) is not None, name
    for fine in [r"\frac{1}{2}", r"2^{10}", "5!", "(3)!", r"2^{3}!", r"10^{3}!", r"x^2+2x+1", r"\sqrt{8}", r"e^{i\pi}"]:
        assert symbolic_hazard(fine) is None, fine
    for bad in [r"10^{4}!", "1001!", r"2^{10001}", "x^{y^{z}}", "x**y**z", "a" * 1001, "1\x00"]:
        assert symbolic_hazard(bad) is not None, bad


def test_unguarded_hang_is_killed_at_the_deadline(monkeypatch):
    """Without the guards, math-verify hangs on an exponent tower; the parent kills the worker at the deadline."""
    monkeypatch.setattr(grader_module, "symbolic_hazard", lambda s: None)
    before = grader_stats()
    t0 = time.monotonic()
    out = grade_many([r"\boxed{9^{9^{9^{9}}}}", r"\boxed{\sqrt{25}}"], ["7", "5"], timeout=1.0)
    assert time.monotonic() - t0 < WALL_CAP_FACTOR * 1.0 + 1.0  # two items on two workers, each under the cap
    assert out[0].status == "timeout" and not out[0].correct
    assert out[1].status == "ok" and out[1].correct  # the batch is not stalled by the hung item
    after = grader_stats()
    assert after.timeouts == before.timeouts + 1 and after.worker_restarts >= before.worker_restarts + 1
    # the timeout verdict is cached: asking again costs nothing
    t0 = time.monotonic()
    assert grade(r"\boxed{9^{9^{9^{9}}}}", "7", timeout=1.0).status == "timeout"
    assert time.monotonic() - t0 < 0.5


def test_official_sympy_without_timeout_upstream_is_bounded_here():
    t0 = time.monotonic()
    r = grade(r"\boxed{1000000000!}", "x", grader="official", timeout=1.0)
    assert time.monotonic() - t0 < WALL_CAP_FACTOR * 1.0 + 1.0
    assert r.status in ("timeout", "error") and not r.correct


def test_pool_deadline_and_crash_recovery():
    with WorkerPool(2) as pool:
        pool.warm()
        t0 = time.monotonic()
        out = pool.run([("spin", (10,)), ("sleep", (0.01,)), ("sleep", (0.01,))], timeout=0.5)
        assert time.monotonic() - t0 < WALL_CAP_FACTOR * 0.5 + 1.0
        assert [r.status for r in out] == ["timeout", "ok", "ok"]
        assert pool.counters.timeouts == 1 and pool.counters.restarts == 1

        def kill_busy_worker():
            time.sleep(0.5)
            for w in pool._workers:
                if w.task is not None:
                    os.kill(w.proc.pid, 9)

        killer = threading.Thread(target=kill_busy_worker)
        killer.start()
        out = pool.run([("sleep", (20,))], timeout=30)
        killer.join()
        assert out[0].status == "error" and "died" in out[0].value
        assert pool.run([("math_verify", ("2", r"\sqrt{4}"))], timeout=30)[0].value is True  # still works


def test_fork_server_workers_are_warm_replaced_and_reaped():
    """With two or more workers, one warmed-up process forks them; a killed worker is replaced by a new fork,
    and closing the pool leaves no process behind."""
    with WorkerPool(2) as pool:
        pool.warm()
        assert pool._forks is not None
        pids = [w.proc.pid for w in pool._workers]
        assert all(_alive(p) for p in pids) and len(set(pids)) == 2
        out = pool.run([("spin", (30,)), ("math_verify", ("2", r"\sqrt{4}"))], timeout=0.3)
        assert [r.status for r in out] == ["timeout", "ok"] and out[1].value is True
        assert pool.run([("math_verify", ("3", r"\sqrt{9}"))] * 4, timeout=30)[0].value is True
        pids += [w.proc.pid for w in pool._workers]
        server = pool._forks[0].pid
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids + [server]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids + [server])


def test_a_task_queued_behind_a_killed_one_is_run_again():
    """Each busy worker holds one more task in its pipe; when the running task is killed, that one is requeued."""
    with WorkerPool(1) as pool:
        pool.warm()
        out = pool.run([("spin", (30,)), ("math_verify", ("2", r"\sqrt{4}")), ("sleep", (0.01,))], timeout=0.3)
        assert [r.status for r in out] == ["timeout", "ok", "ok"] and out[1].value is True
        assert pool.counters.timeouts == 1 and pool.counters.tasks == 3


def test_deadline_is_cpu_time_with_a_wall_clock_cap():
    """A task that waits (as one starved on a busy machine does) is not charged for the wall clock it spends
    without CPU; one that burns CPU is stopped when its budget is spent; one that never finishes dies at the cap."""
    with WorkerPool(2, wall_cap_factor=50) as pool:
        pool.warm()
        out = pool.run([("sleep", (1.0,)), ("spin", (30,))], timeout=0.25)
        assert [r.status for r in out] == ["ok", "timeout"]  # 1 s asleep > 0.25 s budget, yet not a timeout
        assert pool.counters.extended >= 1 and pool.counters.timeouts == 1
    with WorkerPool(1, wall_cap_factor=2) as pool:
        pool.warm()
        assert pool.run([("sleep", (60,))], timeout=0.25)[0].status == "timeout"  # the cap: 0.5 s of wall clock


def test_grader_counts_deadline_extensions(monkeypatch):
    """A symbolic check that outlives its timeout in wall clock but not in CPU time scores its real verdict."""
    from spurious.grading import clear_cache

    real_pool = grader_module._pool

    class SlowPool:
        """Each task is preceded by a CPU-free wait longer than the timeout (a busy machine, simulated)."""

        def __init__(self, pool):
            self.pool = pool
            self.counters = pool.counters

        def run(self, tasks, timeout, on_result=None):
            slowed = [("sleep_then", (timeout * 3, kind, args)) for kind, args in tasks]
            return self.pool.run(slowed, timeout, on_result=on_result)

    def slow_pool(workers):
        pool = real_pool(workers)
        monkeypatch.setattr(pool, "wall_cap_factor", 50.0)  # the cap is not what this test is about
        return SlowPool(pool)

    monkeypatch.setattr(grader_module, "_pool", slow_pool)
    clear_cache()
    before = grader_stats()
    r = grade(r"\boxed{\sqrt{49}}", "7", timeout=0.3)
    assert r.status == "ok" and r.correct
    assert grader_stats().deadline_extensions == before.deadline_extensions + 1


def test_memory_stays_bounded():
    """The parent and every (reaped) worker stayed under 1 GB peak resident memory during these tests."""
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert self_kb < 1024 * 1024 and children_kb < 1024 * 1024


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in fh)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc"), reason="needs /proc")
@pytest.mark.parametrize("size", [1, 2])  # one interpreter; workers forked by the fork server
@pytest.mark.parametrize("spawn_in_thread", [False, True])  # PR_SET_PDEATHSIG / the watchdog thread
def test_workers_die_with_a_killed_parent(spawn_in_thread, size):
    """A SIGKILLed parent (no atexit) must not leave a worker stuck in a computation."""
    import subprocess
    import sys

    make = f"p = WorkerPool({size})"
    if spawn_in_thread:
        make = ("import threading\n"
                f"t = threading.Thread(target=lambda: globals().update(p=WorkerPool({size})))\nt.start(); t.join()")
    script = ("from spurious.grading.pool import WorkerPool\n" + make + "\n"
              "p.warm(); print(p._workers[0].proc.pid, flush=True)\n"
              "p.run([('sleep', (120,))], timeout=300)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(child.stdout.readline())
        time.sleep(0.5)  # the worker is now inside the 120 s task
        assert _alive(worker)
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


# --- lone surrogates ("\ud800" is valid JSON and a valid Python str, but UTF-8 cannot encode it) ---------------

LONE = "\ud800"


@pytest.mark.parametrize("grader", ["default", "official"])
def test_lone_surrogates_never_crash_grading(grader):
    responses = [LONE + r" so \boxed{5}", r"\boxed{5" + LONE + "}", r"\boxed{\sqrt{4}}", LONE, r"\boxed{6}"]
    golds = ["5", "5", "2" + LONE, "5", LONE]
    out = grade_many(responses, golds, grader=grader, timeout=TIMEOUT)
    assert out[0].correct and out[0].status == "ok"  # a surrogate in the prose does not matter
    assert not any(r.correct for r in out[1:])
    if grader == "default":  # a surrogate inside the compared answer is refused before SymPy
        assert out[1].status == "error" and out[2].status == "error"


def test_lone_surrogates_are_written_losslessly(tmp_path):
    import json

    from spurious.io import append_jsonl, read_jsonl, write_json, write_jsonl

    rows = [{"response": "a" + LONE + "b \udfff é", "answer": "5"}]
    write_jsonl(tmp_path / "x.jsonl", rows)
    write_jsonl(tmp_path / "x.jsonl.gz", rows)
    append_jsonl(tmp_path / "a.jsonl", rows[0])
    write_json(tmp_path / "s.json", {"rows": rows})
    assert read_jsonl(tmp_path / "x.jsonl") == rows == read_jsonl(tmp_path / "x.jsonl.gz")
    assert read_jsonl(tmp_path / "a.jsonl") == rows
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == {"rows": rows}
    text = (tmp_path / "x.jsonl").read_text(encoding="utf-8")
    assert "\\ud800" in text and "é" in text  # escaped surrogate, other text as is


def test_commands_write_rows_with_lone_surrogates(tmp_path):
    import json

    from typer.testing import CliRunner

    from spurious.cli import app

    rows = [{"response": LONE + r" \boxed{5}", "answer": "5"}, {"response": (LONE + "0123456789") * 12, "answer": "5"},
            {"response": r"\boxed{5" + LONE + "}", "answer": "5"}]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")  # ensure_ascii: "\ud800"
    runner = CliRunner()
    r = runner.invoke(app, ["grade", str(inp), "-o", str(tmp_path / "g.jsonl"), "--no-progress"])
    assert r.exit_code == 0, r.output
    graded = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [g["response"] for g in graded] == [row["response"] for row in rows]
    assert [g["status"] for g in graded] == ["ok", "no_answer", "error"]
    assert [g["correct"] for g in graded] == [True, False, False]
    for spec, expected in (("no_repetition", [1.0, 0.0, 1.0]), ("gt", [1.0, 0.0, 0.0]), ("format", None)):
        out = tmp_path / f"{spec}.jsonl"
        r = runner.invoke(app, ["reward", spec, str(inp), "-o", str(out)])
        assert r.exit_code == 0, (spec, r.output, r.exception)
        scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [s["response"] for s in scored] == [row["response"] for row in rows]
        if expected is not None:
            assert [s["reward"] for s in scored] == expected, spec
