"""``spurious audit``: is a recipe's gain more than a spurious reward gives the same model under the same recipe?

The user's reward and control arms (random, format, ...) run through the same engine with the same recipe,
seeds and budget (:mod:`spurious.audit.plan`, :mod:`spurious.audit.run`); one evaluation fingerprint before and
after (:mod:`spurious.audit.evaluation`); gains, comparisons, exact gain decompositions and behaviour shifts
(:mod:`spurious.audit.summary`, :mod:`spurious.audit.decomposition`); a verdict by fixed rules
(:mod:`spurious.audit.verdicts`); JSON + HTML (:mod:`spurious.audit.report`). See docs/audit.md.
"""
