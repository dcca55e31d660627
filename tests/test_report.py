"""HTML report: self-contained, escaped; `spurious analyze` end to end; rendering in headless Chromium."""

from __future__ import annotations

import base64
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from spurious.report import (Image, KeyValues, Paragraph, Section, Table, Verdict, build_report,
                             external_references, format_value)
from spurious.analysis.pipeline import analyze, seed_group
from spurious.report.chromium import find_chromium, render_in_chromium



def _png(tmp_path: Path) -> Path:
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    p = tmp_path / "line.png"
    fig.savefig(p, format="png")
    return p


def test_external_references_finds_real_references_only():
    page = ('<link rel="stylesheet" href="https://cdn.example/x.css"><img src="//cdn.example/a.png">'
            '<a href="#sec-1">in page</a><img src="data:image/png;base64,AAAA"><p>src=http://text.only</p>'
            '<div style="background:url(http://x.example/b.png)"></div>'
            '<style>@import "https://y.example/c.css";</style>')
    assert external_references(page) == ["https://cdn.example/x.css", "//cdn.example/a.png",
                                          "http://x.example/b.png", "https://y.example/c.css"]


def test_format_value():
    assert [format_value(v) for v in (None, float("nan"), True, 3, 12345, 2.0, 0.123456, 1e-5, 58.333333)] == \
        ["—", "n/a", "yes", "3", "12,345", "2", "0.1235", "1.000e-05", "58.33"]


def test_report_is_self_contained_and_escaped(tmp_path):
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().bar([0, 1], [1, 2])
    evil = '<script>alert("x")</script> & <img src=http://evil.example/x.png>'
    out = build_report(f"T {evil}", [
        Section("Verdicts", [Verdict(f"claim {evil}", "Supported", {"delta": 0.0812, "n": 5}),
                             Verdict("b", "not_supported", "−2 ± 1"), Verdict("c", "inconclusive")]),
        Section("Body", [evil, Paragraph("plain"), Image(_png(tmp_path), caption=evil), fig,
                         Table([{"name": evil, "acc_%": 61.234, "n": 3}, {"name": "b", "acc_%": None}],
                               formats={"n": "{:03d}"}),
                         [{"x": 1}], {"seeds": [0, 1, 2], "nested": {"url": "https://example.org"}}]),
        ("Tuple section", [KeyValues({"k": evil}, title=evil)]),
    ], tmp_path / "sub" / "r.html", provenance={"git_commit": "abc"})
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "&lt;script&gt;" in text
    assert external_references(text) == []
    assert "http://evil.example" in text  # present only as escaped text
    assert text.count('src="data:image/png;base64,') == 2
    for m in re.finditer(r'src="data:image/png;base64,([^"]+)"', text):
        assert base64.b64decode(m.group(1)).startswith(b"\x89PNG")
    assert ">61.2<" in text and ">003<" in text and ">—<" in text  # % columns 1 decimal, custom format, None
    assert "supported</span>" in text and "not supported</span>" in text and "inconclusive</span>" in text
    assert "delta = 0.0812; n = 5" in text
    assert "<dd>[0, 1, 2]</dd>" in text and "<pre>{\n  &#34;url&#34;" in text  # flat list inline, dict as JSON
    assert text.count("<section") == 4 and "Provenance" in text  # provenance appended as last section
    assert not list(out.parent.glob(".r.html.*"))  # atomic write left no temporary file


def test_percent_columns_never_show_negative_zero():
    from spurious.report import render_report

    text = render_report("t", [Section("s", [Table([{"C %": -0.0}, {"C %": -1e-9}, {"C %": -0.06}])])])
    assert ">-0.0<" not in text and text.count(">0.0<") == 2 and ">-0.1<" in text


def test_report_rejects_bad_blocks(tmp_path):
    with pytest.raises(ValueError, match="verdict must be one of"):
        Verdict("c", "maybe")
    with pytest.raises(TypeError, match="unsupported report block"):
        build_report("t", [Section("s", [42])], tmp_path / "r.html")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        build_report("t", [Section("s", [Image(tmp_path / "missing.png")])], tmp_path / "r.html")
    (tmp_path / "fake.png").write_text("not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        build_report("t", [Section("s", [Image(tmp_path / "fake.png")])], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------- analyze end to end

def _eval_dir(root: Path, name: str, flips: dict[int, tuple[bool, bool]], n: int = 8, model: str = "tiny"):
    """n problems; problem i is (code, correct) = flips.get(i, (i % 2 == 0, i < n // 2))."""
    d = root / name
    d.mkdir(parents=True)
    with open(d / "samples.jsonl", "w") as f:
        for i in range(n):
            code, correct = flips.get(i, (i % 2 == 0, i < n // 2))
            resp = "```python\nprint(2)\n```" if code else "so x = 2 <&>"
            f.write(json.dumps({"benchmark": "math500", "problem_id": f"p{i}", "sample_index": 0,
                                "response": resp, "correct": correct}) + "\n")
    (d / "summary.json").write_text(json.dumps({"math500": {"accuracy": 0.5}, "provenance": {"model": model}}))
    return d


def _run_dir(root: Path, name: str, slope: float):
    d = root / name
    d.mkdir(parents=True)
    with open(d / "metrics.jsonl", "w") as f:
        for p in range(15):
            f.write(json.dumps({"phase": p, "optimizer_step": p, "reward/mean": 0.5, "accuracy": 0.4 + slope * p,
                                "code_frequency": 0.6 + slope * p, "pi_bar": 0.85 + slope * p / 2,
                                "clip/low_frac": 0.01, "clip/high_frac": 0.02}) + "\n")
    return d


def _inputs(tmp_path: Path):
    base = _eval_dir(tmp_path, "base", {})
    # base: p0 C+, p1 L+, p2 C+, p3 L+, p4 C-, p5 L-, p6 C-, p7 L- (code, correct)
    gt = _eval_dir(tmp_path, "gt", {5: (True, True), 7: (False, True), 6: (True, True), 0: (False, False)})
    flat = _eval_dir(tmp_path, "flat", {})
    runs = [_run_dir(tmp_path, f"clip-seed{s}", 0.01 + 0.002 * s) for s in range(2)] + [_run_dir(tmp_path, "noclip", 0)]
    return base, gt, flat, runs


def test_analyze_end_to_end(tmp_path):
    base, gt, flat, runs = _inputs(tmp_path)
    out = tmp_path / "out"
    res = analyze([base, gt, flat, *runs], out, baseline=base, group_seeds=True)
    t2 = json.loads((out / "tables" / "table2.json").read_text())
    assert "provenance" in t2 and t2["provenance"]["analysis"]["rule"] == "python"
    by_run = {r["run"]: r for r in t2["rows"]}
    # gt vs base: p5 Lang->Code +1, p7 Lang->Lang +1, p6 Code->Code +1, p0 Code->Lang -1: net 2
    assert by_run["gt"]["net_newly_correct"] == 2
    assert [by_run["gt"][f"C {d} %"] for d in ("Code→Code", "Code→Lang", "Lang→Code", "Lang→Lang")] == \
        [50.0, -50.0, 50.0, 50.0]
    assert by_run["flat"]["C Code→Code %"] is None  # net change 0: undefined, not 0
    assert by_run["unweighted mean"]["C Code→Lang %"] == -50.0  # flat is skipped, not averaged in as 0
    with open(out / "tables" / "table1.csv") as fh:
        t1 = list(csv.DictReader(fh))
    assert {(r["eval"], r["rule"]) for r in t1} >= {("base", "python"), ("gt", "fenced")}
    assert float(next(r for r in t1 if r["eval"] == "base" and r["rule"] == "python")["code_freq_%"]) == 50.0
    assert (out / "figures" / "gain_math500.png").exists() and (out / "figures" / "pi_bar.png").exists()
    html = res.report.read_text(encoding="utf-8")
    assert "clip (mean of 2 seeds)" not in html  # legends live inside the PNGs, not the HTML
    assert "Table 2 column (unweighted mean over 1 evaluations)" in html and "Skipped (net change 0): flat" in html
    assert external_references(html) == []
    assert "entropy" in html  # listed among quantities without a figure
    listed = json.loads((out / "outputs.json").read_text())["files"]
    assert all(Path(f).exists() for f in listed)


def test_seed_group_names():
    assert seed_group("clip-seed3") == "clip" and seed_group("no_clip_s12") == "no_clip"
    assert seed_group("gt") is None and seed_group("seed3") is None


def test_analyze_cli_errors_name_the_path(tmp_path):
    bad = tmp_path / "not_a_run"
    bad.mkdir()
    cmd = [sys.executable, "-m", "spurious", "analyze", str(bad), "-o", str(tmp_path / "o")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "not_a_run" in p.stderr and "neither a training run" in p.stderr
    ev = _eval_dir(tmp_path, "ev", {})
    run = _run_dir(tmp_path, "run", 0.01)
    p = subprocess.run([sys.executable, "-m", "spurious", "analyze", str(ev), "--baseline", str(run),
                        "-o", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--baseline must be an evaluation folder" in p.stderr and str(run) in p.stderr


def test_analyze_uses_a_runs_checkpoint_evaluations(tmp_path):
    """<run>/eval/step-N/samples.jsonl and eval/curve.json (as `spurious eval` of a run writes them)."""
    from spurious.eval.checkpoints import CURVE_METRICS, curve_from_summaries

    runs = []
    for name, slope in (("gt", 0.1), ("random", 0.05)):
        run = _run_dir(tmp_path, name, 0.01)
        _eval_dir(run / "eval", "step-0", {})
        _eval_dir(run / "eval", "step-4", {})  # an intermediate checkpoint: not used for the buckets
        _eval_dir(run / "eval", "step-16", {5: (True, True), 7: (False, True)} if name == "gt" else {5: (True, True)})
        summaries = [{"benchmarks": {"math500": {"headline": "pass@1", **{m: 0.5 + slope * i for m in CURVE_METRICS}}}}
                     for i in range(3)]
        curves = curve_from_summaries([0, 8, 16], summaries)
        (run / "eval" / "curve.json").write_text(json.dumps({"steps": [0, 8, 16], "phases": [0, 1, 2],
                                                             "curves": curves}))
        runs.append(run)
    out = tmp_path / "out"
    res = analyze(runs, out)
    rows = {r["run"]: r for r in json.loads((out / "tables" / "table2_runs.json").read_text())["rows"]}
    assert rows["gt"]["net_newly_correct"] == 2 and rows["gt"]["C Lang→Code %"] == 50.0
    assert rows["random"]["C Lang→Code %"] == 100.0
    assert rows["unweighted mean"]["C Lang→Code %"] == 75.0
    assert (out / "figures" / "eval_math500_score.png").exists()
    assert (out / "figures" / "eval_math500_code_frequency.png").exists()
    html = res.report.read_text(encoding="utf-8")
    assert "Strategy transitions within runs" in html and "gt@0 → gt@16" in html


# ---------------------------------------------------------------- headless Chromium

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium/chromium-browser/google-chrome on PATH (Debian: apt-get install -y chromium)")


@needs_chromium
def test_chromium_detects_console_errors(tmp_path):
    """Positive control: the checker must see an uncaught exception and a console.error."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>console.error('boom'); nope();</script></body></html>")
    res = render_in_chromium(page, tmp_path / "bad.png", width=400, height=300)
    assert any("boom" in e for e in res.errors) and any("nope" in e for e in res.errors)


@needs_chromium
def test_report_renders_in_chromium_without_errors(tmp_path):
    base, gt, flat, runs = _inputs(tmp_path)
    res = analyze([base, gt, *runs], tmp_path / "out", baseline=base, group_seeds=True)
    shot = tmp_path / "report.png"
    rendered = render_in_chromium(res.report, shot, width=1280, height=2000)
    assert rendered.errors == []
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000
    external = [u for u in rendered.requests if not u.startswith(("file:", "data:"))]
    assert external == []


def test_percentage_point_columns_get_one_decimal():
    from spurious.report.html import _cell

    assert _cell("Δacc pts", -1.80712, {}) == "-1.8"
    assert _cell("± (95%)", 9.6912, {}) == "9.7"
    assert _cell("acc %", -0.01, {}) == "0.0"
    assert _cell("s/run", 68.93, {}) == "68.93"
