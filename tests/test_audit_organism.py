"""Full-size organism audits (slow): a real signal must beat the controls, a spurious one must not.

Both use the default pre-trained organisms (cached; pre-trained on first use), the organism recipe at 40 phases,
3 seeds, random and format controls, two single-thread workers. docs/audit.md gives the measured numbers and
wall times.
"""

from __future__ import annotations

import pytest

from spurious.audit.plan import AuditSpec
from spurious.audit.run import run_audit
from spurious.audit.verdicts import EXCEEDS
from spurious.organism.runner import RunSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def audit(tmp_path, family: str, reward: str) -> dict:
    spec = AuditSpec(family=family, reward=reward, controls=("random", "format"), seeds=(0, 1, 2),
                     settings=RunSettings(phases=40))
    return run_audit(spec, tmp_path / f"{reward}-{family}", workers=2)


def test_ground_truth_exceeds_every_spurious_control(tmp_path):
    s = audit(tmp_path, "bad-code", "gt")
    assert s["verdict"]["verdict"] == EXCEEDS, s["verdict"]["text"]
    user = next(a for a in s["arms"] if a["arm"] == "user")
    assert user["gain"]["low"] > 0
    # the gain of a label-based reward on this family is reasoning, not formatting
    assert user["decomposition_mean"]["reasoning"] > user["decomposition_mean"]["format_fixes"]


def test_python_reward_posing_as_the_users_is_not_shown_to_exceed_the_controls(tmp_path):
    s = audit(tmp_path, "qwen-like", "python")
    assert s["verdict"]["verdict"] != EXCEEDS, s["verdict"]["text"]
    user = next(a for a in s["arms"] if a["arm"] == "user")
    assert user["shift_mean"]["code_frequency"]["mean"] > 0.1      # the gain comes with the style shift
