#!/usr/bin/env python3
"""Reference values for src/compare/stats.rs, computed with SciPy and NumPy.

Regenerate (only when a statistic changes) with:

    pip install scipy numpy
    python3 scripts/stat_fixtures.py > tests/fixtures/stats/reference.json

The JSON is committed so the Rust tests need no Python.
"""

import json
import sys

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20240611)


def floats(a):
    return [float(v) for v in a]


def welch_cases():
    cases = []
    samples = [
        ("small", [3.1, 2.9, 3.3], [3.6, 3.4, 3.9, 3.5, 3.8]),
        ("unequal_var", [10.0, 10.2, 9.9, 10.1], [12.0, 8.0, 11.5, 9.0, 13.0]),
        ("log_ttft", list(np.log([41.2, 40.8, 42.0])), list(np.log([40.1, 40.6, 39.8, 40.4, 41.0]))),
        ("two_each", [1.0, 1.5], [2.0, 2.2]),
        ("random", floats(rng.normal(0.1, 0.03, 5)), floats(rng.normal(0.0, 0.02, 7))),
    ]
    for name, x, y in samples:
        r = stats.ttest_ind(x, y, equal_var=False)
        ci = r.confidence_interval(0.95)
        cases.append({"name": name, "x": floats(x), "y": floats(y), "t": float(r.statistic),
                      "df": float(r.df), "p": float(r.pvalue),
                      "ci_low": float(ci.low), "ci_high": float(ci.high)})
    return cases


def prediction_cases():
    cases = []
    for x, y in [(3.7, [3.1, 2.9, 3.3]), (0.05, floats(rng.normal(0.0, 0.02, 5))), (10.0, [10.0, 10.1, 9.9, 10.05])]:
        n = len(y)
        s = np.std(y, ddof=1)
        se = s * np.sqrt(1 + 1 / n)
        d = x - np.mean(y)
        t = stats.t(df=n - 1)
        crit = t.ppf(0.975)
        cases.append({"x": float(x), "y": floats(y), "ci_low": float(d - crit * se),
                      "ci_high": float(d + crit * se), "p": float(2 * t.sf(abs(d) / se))})
    return cases


def holm(p):
    # Holm (1979), written out with NumPy: SciPy has no Holm adjustment.
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return floats(adjusted)


def holm_cases():
    return [{"p": p, "adjusted": holm(p)} for p in (
        [0.01, 0.04, 0.03, 0.005],
        [0.5, 0.001, 0.02, 0.2, 0.04, 0.9],
        [0.0],
        floats(rng.uniform(0, 0.1, 10)),
    )]


def mann_whitney_cases():
    cases = []
    samples = [
        ("no_ties", [1.1, 2.3, 3.5, 4.2, 5.9], [0.5, 1.7, 2.2, 2.8]),
        ("ties", [1, 2, 2, 3, 3, 3, 4], [2, 3, 4, 4, 5, 5]),
        ("random", floats(rng.lognormal(0.1, 0.3, 60)), floats(rng.lognormal(0.0, 0.3, 80))),
    ]
    for name, x, y in samples:
        case = {"name": name, "x": floats(x), "y": floats(y)}
        for alt in ("two-sided", "greater", "less"):
            r = stats.mannwhitneyu(x, y, alternative=alt, method="asymptotic", use_continuity=True)
            case["p_" + alt.replace("-", "_")] = float(r.pvalue)
        # SciPy reports U1 (of x) for every alternative.
        case["u"] = float(stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic").statistic)
        cases.append(case)
    return cases


def fisher_cases():
    cases = []
    for table in ([3, 97, 0, 100], [0, 300, 0, 500], [10, 90, 2, 98], [1, 49, 4, 46], [5, 995, 20, 4980]):
        t = [[table[0], table[1]], [table[2], table[3]]]
        cases.append({"table": table,
                      "p_greater": float(stats.fisher_exact(t, alternative="greater").pvalue),
                      "p_less": float(stats.fisher_exact(t, alternative="less").pvalue)})
    return cases


def newcombe_cases():
    cases = []
    for s1, n1, s2, n2 in ((97, 100, 100, 100), (300, 300, 500, 500), (45, 50, 48, 50), (990, 1000, 985, 1000)):
        l1, u1 = stats.binomtest(s1, n1).proportion_ci(0.95, method="wilson")
        l2, u2 = stats.binomtest(s2, n2).proportion_ci(0.95, method="wilson")
        p1, p2 = s1 / n1, s2 / n2
        d = p1 - p2
        cases.append({"counts": [s1, n1, s2, n2],
                      "low": float(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
                      "high": float(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))})
    return cases


def percentile_cases():
    q = [0, 1, 10, 50, 90, 95, 99, 99.9, 100]
    cases = []
    for x in (floats(rng.lognormal(3, 0.5, 37)), floats(rng.exponential(10, 1000)), [5.0, 1.0, 3.0]):
        cases.append({"x": x, "q": floats(q), "values": floats(np.percentile(x, q, method="linear"))})
    return cases


json.dump({
    "generated_by": "scripts/stat_fixtures.py",
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "welch": welch_cases(),
    "prediction": prediction_cases(),
    "holm": holm_cases(),
    "mann_whitney": mann_whitney_cases(),
    "fisher": fisher_cases(),
    "newcombe": newcombe_cases(),
    "percentiles": percentile_cases(),
}, sys.stdout, indent=1)
sys.stdout.write("\n")
