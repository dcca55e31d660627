"""Clipping bias under random rewards: the band theory (docs/paper.md §8) and a tabular GRPO simulator.

Theory (§8.2-8.4). For a token with old probability ``pi_old`` and clip range ``eps``, the PPO clip removes
the gradient of a response with advantage A when its ratio leaves the band
``[(1-eps_low) pi_old, min(1, (1+eps_high) pi_old)]`` on the side A pushes towards. Under zero-mean
random advantages the surviving gradient is a restoring force: *below* the band a token is pushed up
(positive bias), *above* it pushed down (negative bias). A token with ``pi_old > 1/(1+eps_high)`` can never
rise above the band, so it can only gain: clipping concentrates mass on what the model already prefers.

Simulator. An exact-sampling model of random-reward GRPO on a softmax *style* choice:
``n_decisions`` independent binary logits (prompt j uses decision j mod n_decisions), 64 prompts x G=16
rollouts per phase, Bernoulli(gamma) rewards, group-normalised advantages (unbiased std, as TRL/OpenRLHF),
the 1,024 rollouts shuffled into K mini-batches, one plain-SGD step each on the token-level surrogate
(one token per rollout: the style token), gradient-norm clip. Modes:

* ``clip``      - min(rho A, clip(rho, 1-eps_low, 1+eps_high) A), K steps per phase (the paper's default)
* ``no-clip``   - rho A, same K steps (docs/paper.md §8.5 arm 2, ratio form)
* ``on-policy`` - one step on all rollouts per phase: rho = 1, the clip never acts (arm 3, "batch 1,024")

:func:`phase_drift` separates bias from noise: many independent replicas of one phase from the same start
give the expected logit change (the bias, with its standard error) and its spread (the noise).
:func:`simulate_runs` runs whole trainings and reports how often they end on the majority side.
numpy only, vectorised over replicas; a phase for 4,000 replicas takes milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from spurious.errors import UsageError

MODES = ("clip", "no-clip", "on-policy")


# ----------------------------------------------------------------------------------------------------------------
# Theory


def threshold(eps_high: float = 0.2) -> float:
    """``1/(1+eps_high)``: above this old probability the upper clip can never bind (0.833 at eps=0.2)."""
    return 1.0 / (1.0 + eps_high)


def clip_band(pi_old: float | np.ndarray, eps_low: float = 0.2, eps_high: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the probability band inside which the clip does not act."""
    eps_high = eps_low if eps_high is None else eps_high
    p = np.asarray(pi_old, dtype=float)
    return (1 - eps_low) * p, np.minimum(1.0, (1 + eps_high) * p)


def can_receive_negative_bias(pi_old: float | np.ndarray, eps_high: float = 0.2) -> np.ndarray:
    """True where a probability above the band is reachable: ``(1+eps_high) pi_old < 1``."""
    return (1 + eps_high) * np.asarray(pi_old, dtype=float) < 1.0


def can_receive_positive_bias(pi_old: float | np.ndarray, eps_low: float = 0.2) -> np.ndarray:
    """True where a probability below the band is reachable: ``(1-eps_low) pi_old > 0`` (any pi_old > 0 if eps<1)."""
    return (1 - eps_low) * np.asarray(pi_old, dtype=float) > 0.0


def bias_sign(pi_new: float | np.ndarray, pi_old: float | np.ndarray, eps_low: float = 0.2,
              eps_high: float | None = None) -> np.ndarray:
    """+1 below the band (pushed up), 0 inside, -1 above (pushed down): the sign of E[g] in docs/paper.md §8.3."""
    lo, hi = clip_band(pi_old, eps_low, eps_high)
    pn = np.asarray(pi_new, dtype=float)
    return np.where(pn < lo, 1, np.where(pn > (1 + (eps_low if eps_high is None else eps_high))
                                         * np.asarray(pi_old, dtype=float), -1, 0))


def plot_regions(path: str | Path, eps_low: float = 0.2, eps_high: float | None = None, title: str | None = None
                 ) -> Path:
    """A figure of the (pi_old, pi_theta) plane: positive-bias, no-bias and negative-bias regions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps_high = eps_low if eps_high is None else eps_high
    x = np.linspace(0, 1, 401)
    lo, hi = (1 - eps_low) * x, (1 + eps_high) * x
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    ax.fill_between(x, 0, lo, color="#4c9f70", alpha=0.35, label="below band: pushed up (+ bias)")
    ax.fill_between(x, lo, np.minimum(hi, 1), color="#cccccc", alpha=0.5, label="inside band: no bias")
    ax.fill_between(x, np.minimum(hi, 1), 1, where=hi < 1, color="#c4504f", alpha=0.35,
                    label="above band: pushed down (- bias)")
    t = threshold(eps_high)
    ax.axvline(t, color="k", ls="--", lw=1)
    ax.text(t - 0.01, 0.04, f"1/(1+ε) = {t:.3f}", rotation=90, ha="right", va="bottom", fontsize=8)
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    ax.set_xlabel("π_old(token)"), ax.set_ylabel("π_θ(token) during the phase")
    ax.set_title(title or f"Clipping bias regions (ε_low={eps_low}, ε_high={eps_high})", fontsize=10)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------------------------------
# Simulator


@dataclass(frozen=True)
class SimConfig:
    """One random-reward GRPO setting on a softmax style choice."""

    p0: float = 0.65              # initial probability of the "code" style
    mode: str = "clip"
    lr: float = 4.0               # SGD step on the logit(s)
    minibatches: int = 8          # K optimizer steps per phase (ignored by on-policy: 1)
    prompts: int = 64
    group: int = 16
    gamma: float = 0.5
    eps_low: float = 0.2
    eps_high: float = 0.2
    grad_clip: float = 1.0        # on the gradient norm over all logits; 0 disables
    n_decisions: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0 < self.p0 < 1:
            raise UsageError(f"p0 must be in (0, 1), got {self.p0}")
        if (self.prompts * self.group) % self.minibatches:
            raise UsageError("prompts*group must be divisible by minibatches")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def group_advantages(rewards: np.ndarray, group: int) -> np.ndarray:
    """(r - group mean) / (unbiased group std + 1e-4); zero-variance groups get 0. rewards: (..., n)."""
    r = rewards.reshape(*rewards.shape[:-1], -1, group)
    a = (r - r.mean(-1, keepdims=True)) / (r.std(-1, ddof=1, keepdims=True) + 1e-4)
    return a.reshape(rewards.shape)


def run_phase(theta: np.ndarray, cfg: SimConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One rollout phase for R replicas. theta: (R, D) logits. Returns (new theta, style-token clip fraction (R,))."""
    R, D = theta.shape
    n = cfg.prompts * cfg.group
    dec = (np.arange(cfg.prompts) % D).repeat(cfg.group)                  # decision used by each rollout
    p_old = _sigmoid(theta)[:, dec]                                       # (R, n) P(code) under pi_old
    code = rng.random((R, n)) < p_old
    adv = group_advantages((rng.random((R, n)) < cfg.gamma).astype(float), cfg.group)
    pi_old = np.where(code, p_old, 1 - p_old)
    sign = np.where(code, 1.0, -1.0)                                      # d pi(style)/d theta = sign * p(1-p)
    k = 1 if cfg.mode == "on-policy" else cfg.minibatches
    order = np.argsort(rng.random((R, n)), axis=1)
    clipped = np.zeros(R)
    theta = theta.copy()
    rows = np.arange(R)[:, None]
    for step in range(k):
        idx = order[:, step * (n // k):(step + 1) * (n // k)]
        d = dec[idx]
        p = _sigmoid(theta)[rows, d]                                      # current P(code) for these rollouts
        s, a, po = sign[rows, idx], adv[rows, idx], pi_old[rows, idx]
        pi = np.where(s > 0, p, 1 - p)
        rho = pi / po
        live = np.ones_like(rho, dtype=bool)
        if cfg.mode == "clip":
            cut = ((a > 0) & (rho > 1 + cfg.eps_high)) | ((a < 0) & (rho < 1 - cfg.eps_low))
            live = ~cut
            clipped += cut.mean(1)
        g_tok = np.where(live, a * s * p * (1 - p) / po, 0.0) / idx.shape[1]   # d(mean surrogate)/d theta_d
        grad = np.zeros((R, D))
        for j in range(D):
            grad[:, j] = np.where(d == j, g_tok, 0.0).sum(1)
        if cfg.grad_clip > 0:
            norm = np.linalg.norm(grad, axis=1, keepdims=True)
            grad = grad * np.minimum(1.0, cfg.grad_clip / np.maximum(norm, 1e-12))
        theta += cfg.lr * grad                                            # ascent on the surrogate
    return theta, clipped / k


def _start(cfg: SimConfig, replicas: int) -> np.ndarray:
    return np.full((replicas, cfg.n_decisions), np.log(cfg.p0 / (1 - cfg.p0)))


def phase_drift(cfg: SimConfig, replicas: int = 4000, seed: int = 0) -> dict[str, float]:
    """Bias and noise of one phase from ``p0``: mean logit change with its standard error, and its spread."""
    rng = np.random.default_rng(seed)
    th0 = _start(cfg, replicas)
    th1, clip = run_phase(th0, cfg, rng)
    d = (th1 - th0).mean(1)
    dp = (_sigmoid(th1) - _sigmoid(th0)).mean(1)
    return {"drift": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(replicas)), "noise": float(d.std(ddof=1)),
            "drift_p": float(dp.mean()), "se_p": float(dp.std(ddof=1) / np.sqrt(replicas)),
            "clip_frac": float(clip.mean())}


def simulate_runs(cfg: SimConfig, phases: int = 150, runs: int = 500, seed: int = 0,
                  record_every: int = 10) -> dict:
    """Whole random-reward trainings: share ending above the start, mean final p, sampled trajectories."""
    rng = np.random.default_rng(seed)
    theta = _start(cfg, runs)
    traj = [float(_sigmoid(theta).mean())]
    clip = np.zeros(runs)
    for t in range(phases):
        theta, c = run_phase(theta, cfg, rng)
        clip += c
        if (t + 1) % record_every == 0:
            traj.append(float(_sigmoid(theta).mean()))
    p = _sigmoid(theta).mean(1)
    return {"config": asdict(cfg), "phases": phases, "runs": runs, "p_start": cfg.p0,
            "frac_up": float((p > cfg.p0).mean()), "frac_majority_side": float(((p > 0.5) == (cfg.p0 > 0.5)).mean()),
            "mean_p_end": float(p.mean()), "mean_clip_frac": float(clip.mean() / phases),
            "mean_p_trajectory": traj}


def drift_table(p0s: Sequence[float] = (0.1, 0.35, 0.5, 0.65, 0.8, 0.9), modes: Sequence[str] = MODES,
                base: SimConfig = SimConfig(), replicas: int = 4000, seed: int = 0) -> list[dict]:
    """:func:`phase_drift` over a grid of starting probabilities and modes (same random numbers per cell)."""
    return [{"p0": p0, "mode": m, **phase_drift(replace(base, p0=p0, mode=m), replicas, seed)}
            for p0 in p0s for m in modes]
