"""``spurious analyze``: Table 1, Table 2, curves, gain bars and an offline HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def analyze(
    paths: List[Path] = typer.Argument(..., help="Training run folders (metrics.jsonl), evaluation folders "
                                                 "(samples.jsonl) and/or what eval --run writes (step-<N>/; its "
                                                 "step 0 is the baseline unless --baseline is given); the kind is "
                                                 "detected."),
    out: Path = typer.Option(Path("analysis"), "-o", "--out", help="Output folder (report.html, tables/, figures/)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Step-0 evaluation folder: enables Table 2 "
                                                                      "(transition buckets) and gain bars."),
    rule: str = typer.Option("python", help="Code-reasoning rule for the transition buckets: python (paper) or "
                                            "fenced. Table 1 always shows both."),
    window: int = typer.Option(10, help="Trailing smoothing window for curves (paper: 10)."),
    group_seeds: bool = typer.Option(False, "--group-seeds", help="Average runs named NAME-seedK / NAME_sK over "
                                                                  "seeds (mean ± 95% t-interval)."),
    title: str = typer.Option("spurious analysis", help="Report title."),
    phases: Optional[str] = typer.Option(None, "--phases", metavar="A,B",
                                         help="Training phases (1-based) whose rollouts a run's Table 1 and "
                                              "transitions compare; default its first and last logged phase."),
    leaks: Optional[List[Path]] = typer.Option(None, "--leaks", metavar="FILE|DIR",
                                               help="Leak flags of spurious contamination (leaks.jsonl, or a folder "
                                                    "holding one; repeatable): split every table into leaked, clean "
                                                    "and unflagged problems. A leaks.jsonl in an input folder is "
                                                    "used without this option."),
) -> None:
    """Analyse runs and evaluations: Table 1, Table 2, training curves, gain bars, one report.html."""
    from spurious.analysis.pipeline import analyze as run_analysis
    from spurious.console import wide_console
    from spurious.errors import UsageError

    pair = None
    if phases is not None:
        parts = phases.split(",")
        if len(parts) != 2 or not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
            raise UsageError(f"expected two phase numbers A,B (1-based), got {phases!r}", option="--phases")
        pair = (int(parts[0]), int(parts[1]))

    console = wide_console(stderr=True)
    with console.status("analysing"):
        result = run_analysis(paths, out, baseline=baseline, rule=rule, window=window, group_seeds=group_seeds,
                              title=title, phases=pair, leaks=leaks or ())
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"wrote {len(result.files)} files; report: [bold]{result.report}[/]")


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
