"""Analyses of evaluations and training runs (docs/paper.md §5.3, §7.5-7.7, §8.6-8.7, §9).

* ``code_reasoning`` - the code-reasoning detector (python / fenced rules);
* ``loading`` - evaluation folders (samples.jsonl, summary.json) and training runs (metrics.jsonl);
* ``smoothing`` - the paper's curve smoothing (trailing window 10, step 0 raw, final = smoothed last);
* ``stats`` - Student-t quantiles and ``mean_ci`` (mean with a t interval across seeds);
* ``strategy`` - Table 1: code frequency and accuracy by strategy;
* ``transitions`` - Fig. 7 buckets, partial contribution scores C_d, Table 2 means;
* ``curves`` / ``plots`` - training and checkpoint-evaluation curves, one PNG per quantity, seed bands;
* ``bars`` - Fig.-1-style gain bars.

The HTML report and ``spurious analyze`` live in :mod:`spurious.report`; see docs/analysis.md.
"""
