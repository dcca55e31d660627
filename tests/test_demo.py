"""`spurious demo`: CLI wiring (fast) and the real default demo (slow)."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spurious.cli import app
from spurious.organism.plans import get_plan


def test_demo_report_only_on_an_empty_folder_fails_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SPURIOUS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "d").mkdir()
    res = CliRunner().invoke(app, ["demo", "--report-only", "--out", str(tmp_path / "d")])
    assert res.exit_code == 2 and "no finished runs" in res.stderr and len(res.stderr.splitlines()) == 1
    assert list((tmp_path / "d").iterdir()) == []


def test_report_without_runs_is_all_inconclusive(tmp_path, monkeypatch):
    from spurious.organism.grid import summarize
    from spurious.organism.plans import get_plan
    from spurious.organism.report import build_demo_report

    monkeypatch.setenv("SPURIOUS_CACHE", str(tmp_path / "cache"))
    spec = get_plan("default")
    stages = []
    report = build_demo_report(tmp_path / "d", spec, summarize(spec, tmp_path / "d" / "runs"), wall_seconds=0.0,
                               mode="default", on_stage=stages.append)
    html = report.read_text()
    assert "Verdicts" in html and html.count("inconclusive") >= 4 and "supported</" not in html
    assert "Clipping theory" in html and "training curves 6/6" in stages
    assert html.count("learning_rate") == 1  # the grid configuration once (not again under Provenance)


def test_demo_rejects_unknown_arms(tmp_path):
    r = CliRunner().invoke(app, ["demo", "--arm", "nosuch", "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "--arm: 'nosuch' not in plan 'default'" in r.stderr
    assert not (tmp_path / "d").exists()


def test_demo_rejects_bad_options(tmp_path):
    r = CliRunner().invoke(app, ["demo", "--plan", "huge", "--out", str(tmp_path)])
    assert r.exit_code == 2
    r = CliRunner().invoke(app, ["demo", "--family", "llama", "--out", str(tmp_path)])
    assert r.exit_code == 2
    r = CliRunner().invoke(app, ["demo", "--workers", "0", "--out", str(tmp_path)])
    assert r.exit_code == 2


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the whole default demo: ~12 min on 2 quiet cores, more under load
def test_default_demo_end_to_end(tmp_path):
    """The real default demo (~12 min on 2 quiet cores): report with four verdict lines and every figure."""
    env = {**os.environ, "SPURIOUS_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}  # shipped organisms
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "spurious", "demo", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("report.html")
    summary = json.loads((out / "summary.json").read_text())
    assert sum(g["runs"] for g in summary["groups"]) == len(get_plan("default").cells()) and not summary["cut"]
    html = (out / "report.html").read_text()
    for text in ("(a) clipped random reward", "(b)", "(c)", "(d) ground truth", "Table 1 analogue",
                 "Table 2 analogue", "Clipping diagnostics", "Training curves"):
        assert text in html


def test_demo_rejects_a_negative_first_seed_and_a_zero_budget(tmp_path):
    r = CliRunner().invoke(app, ["demo", "--first-seed", "-1", "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "--first-seed" in r.stderr
    r = CliRunner().invoke(app, ["demo", "--budget", "0", "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "--budget" in r.stderr
    assert not (tmp_path / "d").exists()
