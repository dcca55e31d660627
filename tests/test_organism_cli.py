"""`spurious organism` sub-commands (fast paths only)."""

import json

from typer.testing import CliRunner

from spurious.cli import app


def test_families_lists_every_prior():
    r = CliRunner().invoke(app, ["organism", "families"])
    assert r.exit_code == 0
    for name in ("qwen-like", "qwen-like-65", "qwen-like-90", "bad-code", "no-code"):
        assert name in r.output


def test_simulate_writes_table_and_plot(tmp_path):
    r = CliRunner().invoke(app, ["organism", "simulate", "--p0", "0.9", "--replicas", "300", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "simulation.json").read_text())["rows"]
    assert [x["mode"] for x in rows] == ["clip", "no-clip", "on-policy"]
    assert rows[2]["clip_frac"] == 0 and (tmp_path / "clip_regions.png").exists()
    r = CliRunner().invoke(app, ["organism", "simulate", "--minibatches", "7"])
    assert r.exit_code == 2


def test_show_and_pretrain_reject_bad_input(tmp_path):
    r = CliRunner().invoke(app, ["organism", "show", str(tmp_path)])
    assert r.exit_code == 2 and "organism.json" in r.stderr
    r = CliRunner().invoke(app, ["organism", "pretrain", "--family", "llama"])
    assert r.exit_code == 2
