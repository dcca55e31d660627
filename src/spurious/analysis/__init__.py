"""Analyses of evaluations and training runs (docs/paper.md §5.3, §7.5-7.7, §8.6-8.7, §9).

* ``loading`` - evaluation folders (samples.jsonl, summary.json) and training runs (metrics.jsonl);
* ``stats`` - Student-t quantiles and ``mean_ci`` (mean with a t interval across seeds);
* ``strategy`` - Table 1: code frequency and accuracy by strategy;
* ``transitions`` - Fig. 7 buckets, partial contribution scores C_d, Table 2 means;
* ``curves`` / ``plots`` - training and checkpoint-evaluation curves, one PNG per quantity, seed bands;
* ``bars`` - Fig.-1-style gain bars;
* ``pipeline`` - :func:`~spurious.analysis.pipeline.analyze`, what ``spurious analyze`` runs: every table and
  figure above, written with one HTML report (built with :mod:`spurious.report`).

The code-reasoning detector and the curve smoothing are bottom-layer modules
(:mod:`spurious.code_reasoning`, :mod:`spurious.smoothing`) that training and evaluation use too; see
docs/analysis.md.
"""
