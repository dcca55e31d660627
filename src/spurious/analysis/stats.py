"""Small statistics without SciPy: Student-t quantiles and the mean with a t confidence interval.

``mean_ci`` is what "mean with a 95 % interval across seeds" means everywhere in spurious:
mean ± t_{(1+level)/2, n-1} · s / sqrt(n), with s the sample (n-1) standard deviation.

Ours on purpose: no dependency of the project ships a Student-t quantile (SciPy is not one, NumPy has none, and
``torch.distributions.StudentT`` has no ``icdf``), and adding SciPy for one function is not worth its size. The
quantile bisects the CDF, which comes from the regularised incomplete beta function; the tests check
it against printed t tables to 1e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Inverse CDF of Student's t (bisection to 1e-12; exact enough for intervals)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class MeanCI:
    """A mean with its two-sided t interval. ``low``/``high`` are nan when n < 2 (no spread to estimate)."""

    mean: float
    low: float
    high: float
    n: int
    level: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def mean_ci(values: Iterable[float], level: float = 0.95) -> MeanCI:
    """Mean and two-sided Student-t confidence interval of ``values`` (NaNs are dropped).

    Raises ValueError for no finite values or a level outside (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        raise ValueError("mean_ci needs at least one finite value")
    mean = math.fsum(xs) / n
    if n < 2:
        return MeanCI(mean, math.nan, math.nan, n, level)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return MeanCI(mean, mean - half, mean + half, n, level)


def welch_difference(a: list[float], b: list[float], level: float = 0.95
                     ) -> tuple[float, float, float] | None:
    """Mean of ``a`` minus mean of ``b`` with its Welch t-interval; None with fewer than 2 values on a side."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return ma - mb, ma - mb, ma - mb
    df = (va + vb) ** 2 / ((va ** 2 / (len(a) - 1) if va else 0) + (vb ** 2 / (len(b) - 1) if vb else 0))
    half = t_quantile(0.5 + level / 2, df) * se
    return ma - mb, ma - mb - half, ma - mb + half


def ols_slope(xs: list[float], ys: list[float], level: float = 0.95) -> tuple[float, float, float] | None:
    """Least-squares slope of ``ys`` on ``xs`` with its two-sided t interval (n - 2 degrees of freedom);
    None with fewer than 3 points or a single distinct x."""
    n = len(xs)
    if n != len(ys):
        raise ValueError(f"ols_slope: {n} x values for {len(ys)} y values")
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    sse = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys))
    half = t_quantile(0.5 + level / 2, n - 2) * math.sqrt(sse / (n - 2) / sxx)
    return b, b - half, b + half
