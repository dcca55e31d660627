"""The diagnostics summariser (spurious.analysis.diagnostics) on hand-made metrics.jsonl files."""

from __future__ import annotations

import json

import pytest

from spurious.analysis.diagnostics import (KeySummary, diagnostic_keys, mean_summaries, run_diagnostics,
                                           summarize_diagnostics, table_row)
from spurious.io import InputError


def _write(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _phase(i, **kv):
    return {"kind": "phase", "phase": i, **kv}


def test_start_end_mean_change_over_phase_lines_only(tmp_path):
    rows = [_phase(i, entropy=1.0 - 0.1 * i, **{"clip/low_frac": 0.01 * i, "grader/items": 5}) for i in range(7)]
    rows += [{"kind": "step", "entropy": 9.0, "clip/low_frac": 9.0}, {"kind": "eval", "entropy": 9.0}]
    rows[0]["dlogp/p<0.1/low_clip"] = -0.4       # a bucket seen in two phases only
    rows[2]["dlogp/p<0.1/low_clip"] = -0.2
    rows[3]["cov/logp_old_adv"] = float("nan")   # NaN, a bool and a string are not values
    rows[4]["cov/logp_old_adv"] = True
    rows[5]["adv/pos_frac"] = "0.5"
    s = run_diagnostics(_write(tmp_path / "run", rows))
    assert list(s) == ["entropy", "clip/low_frac", "dlogp/p<0.1/low_clip"]  # grader/* is not a diagnostic
    e = s["entropy"]
    # phases 1.0, 0.9, ..., 0.4: start 1.0; end = mean of the last 5 = (0.8+0.7+0.6+0.5+0.4)/5 = 0.6; mean 0.7
    assert (e.start, e.n) == (1.0, 7)
    assert (e.end, e.mean, e.change) == (pytest.approx(0.6), pytest.approx(0.7), pytest.approx(-0.4))
    b = s["dlogp/p<0.1/low_clip"]
    assert (b.start, b.end, b.mean, b.change, b.n) == (-0.4, pytest.approx(-0.3), pytest.approx(-0.3),
                                                      pytest.approx(0.1), 2)
    assert summarize_diagnostics(rows, end_phases=1)["entropy"].end == pytest.approx(0.4)


def test_one_phase_has_no_change_and_no_metrics_no_summary(tmp_path):
    s = summarize_diagnostics([_phase(0, entropy=0.5)])
    assert s["entropy"] == KeySummary(0.5, 0.5, 0.5, None, 1)
    assert run_diagnostics(tmp_path) == {} and table_row({}) == {}
    with pytest.raises(ValueError):
        summarize_diagnostics([], end_phases=0)


def test_malformed_metrics_line_names_file_and_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(json.dumps(_phase(0, entropy=1.0)) + "\n{oops\n")
    with pytest.raises(InputError) as e:
        run_diagnostics(tmp_path)
    assert "metrics.jsonl" in str(e.value) and "2" in str(e.value)


def test_keys_in_logged_order_fixed_then_buckets_then_forks():
    row = {"pi_bar": 0.7, "fork/clip_low_frac/top20": 0.1, "dlogp/p>thr": 0.0, "dlogp/p<0.1": 0.0, "dlogp/p<0.1/high_clip": 0.0,
           "dlogp/all": 0.0, "entropy": 1.0, "fork/tokens_frac/top20": 0.2, "fork/dlogp/rest": 0.0}
    assert diagnostic_keys([row]) == ["entropy", "pi_bar", "dlogp/all", "dlogp/p>thr", "dlogp/p<0.1", "dlogp/p<0.1/high_clip",
                                      "fork/clip_low_frac/top20", "fork/dlogp/rest"]


def test_mean_over_runs_field_by_field():
    a = {"entropy": KeySummary(1.0, 0.8, 0.9, -0.2, 10), "cov/logp_old_adv": KeySummary(0.1, 0.3, 0.2, 0.2, 10)}
    b = {"entropy": KeySummary(2.0, 1.0, 1.5, None, 1)}
    m = mean_summaries([a, b])
    assert m["entropy"] == KeySummary(1.5, 0.9, 1.2, -0.2, 2)  # change: over the runs that have one
    assert m["cov/logp_old_adv"] == KeySummary(0.1, 0.3, 0.2, 0.2, 1)
    assert mean_summaries([]) == {}


def test_table_row_shows_phase_means_and_marks_missing_keys():
    def k(mean, start=None, end=None):
        return KeySummary(start if start is not None else mean, end if end is not None else mean, mean, 0.0, 3)
    s = {"entropy": k(1.1, start=1.2345, end=1.0), "clip/low_frac": k(0.01), "clip/high_frac": k(0.025),
         "dlogp/p<0.1": k(0.0012), "dlogp/p<0.1/low_clip": k(-0.0003), "dlogp/p<0.1/high_clip": k(0.0),
         "entropy_attr/low_clip": k(0.0007), "fork/clip_high_frac/top20": k(0.5), "fork/dlogp/top20": k(-0.25),
         "adv/pos_frac": k(0.4), "adv/neg_frac": k(0.6)}
    row = table_row(s)
    assert row["entropy start → end"] == "1.234 → 1.000"
    assert row["clip low / high %"] == "1.00 / 2.50"
    assert row["δ p<0.1: all (low-clip / high-clip part)"] == "+0.0012 (-0.0003 / +0)"
    assert row["Cov(log π_old, A)"] == "—"
    assert row["H attr. low / high clip"] == "+0.0007 / —"
    assert row["fork top20: clip low / high %"] == "— / 50.00" and row["fork top20: δ"] == "-0.25"
    assert row["Â > 0 / < 0 %"] == "40.00 / 60.00" and row["zero-std groups %"] == "—"
    assert not any(c.startswith("δ p>thr") for c in row)  # only the buckets that were logged


# ---------------------------------------------------------------- the reports that show it

def _diag_phase(i, low):
    return _phase(i, entropy=1.0 - 0.01 * i, **{"clip/low_frac": low, "clip/high_frac": 0.002,
                                                 "dlogp/p<0.1": 0.001, "dlogp/p<0.1/low_clip": -0.0005,
                                                 "dlogp/p<0.1/high_clip": 0.0002, "adv/pos_frac": 0.5,
                                                 "adv/neg_frac": 0.5, "reward/frac_zero_std_groups": 0.25})


def test_analyze_report_has_one_diagnostics_row_per_run_that_logged_them(tmp_path):
    from spurious.analysis.pipeline import analyze

    new = _write(tmp_path / "new", [_diag_phase(i, 0.01) for i in range(3)])
    old = _write(tmp_path / "old", [_phase(i, **{"reward/mean": 0.5}) for i in range(3)])  # no diagnostics
    out = analyze([new, old], tmp_path / "an")
    html = out.report.read_text()
    assert "Training diagnostics" in html and "1.000 → 0.990" in html and "δ p&lt;0.1" in html
    saved = json.loads((tmp_path / "an" / "tables" / "diagnostics.json").read_text())
    assert list(saved["runs"]) == ["new"] and "provenance" in saved
    assert saved["runs"]["new"]["entropy"] == {"start": 1.0, "end": pytest.approx(0.99), "mean": pytest.approx(0.99),
                                               "change": pytest.approx(-0.01), "n": 3}  # end: all 3 phases
    out = analyze([old], tmp_path / "an2")
    assert "Training diagnostics" not in out.report.read_text()
    assert not (tmp_path / "an2" / "tables" / "diagnostics.json").exists()


def test_demo_diagnostics_rows_average_the_seeds(tmp_path):
    from spurious.organism.grid import GridSpec
    from spurious.organism.report import diagnostics_rows

    spec = GridSpec(families=("qwen-like",), arms={"random": (0, 1, 2), "gt": (0,)})
    for seed, low in ((0, 0.01), (1, 0.03)):  # seed 2 has no run yet; gt none at all
        _write(tmp_path / f"qwen-like__random__s{seed}", [_diag_phase(i, low) for i in range(2)])
    rows = diagnostics_rows(spec, tmp_path)
    assert [(r["arm"], r["seeds"]) for r in rows] == [("random", 2)]
    assert rows[0]["clip low / high %"] == "2.00 / 0.20"  # mean over the two seeds of 1 % and 3 %
    assert rows[0]["zero-std groups %"] == "25.00"
