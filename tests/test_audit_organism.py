"""Full-size organism audits (slow): a real signal must beat the controls, a spurious one posing as the user's
reward must not.

Both audit the default ``bad-code`` organism (cached; pre-trained on first use), whose majority style is the
inaccurate one: ground truth as the user's reward, then ``python`` (rewarding that style) as the user's reward.
Organism recipe, 40 phases, 3 seeds, random and format controls, two single-thread workers. The second audit
reuses the first one's control runs (same family, recipe, seeds and evaluation fingerprint: finished cells are
never rerun). docs/audit.md gives the measured numbers and wall times, and the audit of ``python`` on
``qwen-like``, where the same reward *does* exceed both controls.
"""

from __future__ import annotations

import shutil

import pytest

from spurious.audit.plan import AuditSpec
from spurious.audit.run import run_audit
from spurious.audit.verdicts import EXCEEDS, NOT_DISTINGUISHABLE
from spurious.organism.runner import RunSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def spec(reward: str) -> AuditSpec:
    return AuditSpec(family="bad-code", reward=reward, controls=("random", "format"), seeds=(0, 1, 2),
                     settings=RunSettings(phases=40))


@pytest.fixture(scope="module")
def audits(tmp_path_factory):
    root = tmp_path_factory.mktemp("audits")
    gt = run_audit(spec("gt"), root / "gt", workers=2)
    (root / "python" / "runs").mkdir(parents=True)
    for run in (root / "gt" / "runs").iterdir():
        if "__user__" not in run.name:
            shutil.copytree(run, root / "python" / "runs" / run.name)
    events: list[str] = []
    py = run_audit(spec("python"), root / "python", workers=2, on_event=lambda k, d: events.append(k))
    return gt, py, events


def user_arm(summary: dict) -> dict:
    return next(a for a in summary["arms"] if a["arm"] == "user")


def test_ground_truth_exceeds_every_spurious_control(audits):
    gt, _, _ = audits
    assert gt["verdict"]["verdict"] == EXCEEDS, gt["verdict"]["text"]
    user = user_arm(gt)
    assert user["gain"]["low"] > 0
    assert user["decomposition_mean"]["reasoning"] > 0       # the organism parses every response: all reasoning


def test_python_posing_as_the_users_reward_is_not_distinguishable(audits):
    _, py, events = audits
    assert events.count("cell_done") == 3                     # only the user's arm ran; the controls were reused
    assert py["verdict"]["verdict"] == NOT_DISTINGUISHABLE, py["verdict"]["text"]
    assert user_arm(py)["shift_mean"]["code_frequency"]["mean"] > 0   # it did move the style it rewards
