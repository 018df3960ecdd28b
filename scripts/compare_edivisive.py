#!/usr/bin/env python3
"""Compares `llm-bench trend`'s change points with MongoDB's reference E-divisive
(`signal-processing-algorithms` on PyPI) on the same seeded series.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install signal-processing-algorithms
    /tmp/ref/bin/python scripts/compare_edivisive.py [LLM_BENCH_BINARY]

Series (2% lognormal noise, 60 runs): 100 flat, 100 with a 5% step at run 30, 50
with steps of +6% at 20 and -6% at 40. Both sides see the log values, test at
p <= 0.05 and keep every significant split (llm-bench with --min-magnitude 0, so
only the method differs: llm-bench keeps >= 3 runs a side and draws 199
permutations, the reference 100, and llm-bench also tests the newest 3 runs
against those before them, which the reference does not). Prints how often the
two agree exactly and within one run.
"""
import json
import math
import pathlib
import random
import subprocess
import sys
import tempfile

from signal_processing_algorithms.energy_statistics.energy_statistics import e_divisive


def make_series():
    rng = random.Random(2014)
    out = []
    for kind, count in (("flat", 100), ("step", 100), ("two-steps", 50)):
        for _ in range(count):
            levels = []
            for i in range(60):
                if kind == "flat":
                    level = 100.0
                elif kind == "step":
                    level = 105.0 if i >= 30 else 100.0
                else:
                    level = 106.0 if 20 <= i < 40 else 100.0
                levels.append(level * math.exp(rng.gauss(0, 0.02)))
            out.append((kind, levels))
    return out


def record(scenario, i, value):
    return {
        "schema_version": "1.0", "target": "ref", "scenario": scenario,
        "run_id": "run-%03d" % i, "created_at": "2026-01-01T00:00:00Z",
        "tool_version": "0", "trials": [{"trial": 0, "duration_s": 1.0, "succeeded": 1,
                                         "failed": 0, "stats": {"ttft_ms.p50": value}}],
        "fingerprint": {"must_match": {"model": "m", "api": "chat", "workload_hash": "w",
                                       "percentile_method": "linear"},
                        "should_match": {"tool_version": "0"}},
    }


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/llm-bench"
    series = make_series()
    with tempfile.TemporaryDirectory() as tmp:
        lines = []
        for n, (_, values) in enumerate(series):
            lines += [json.dumps(record("s%03d" % n, i, v)) for i, v in enumerate(values)]
        pathlib.Path(tmp, "ref.jsonl").write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            [binary, "trend", "--store", tmp, "--min-magnitude", "0", "--alpha", "0.05",
             "--json", "-"], check=True, capture_output=True, text=True).stdout
    found = json.loads(out)
    ours = {s["scenario"]: sorted(c["index"] for c in s["change_points"]) for s in found}
    by_kind = {}
    for n, (kind, values) in enumerate(series):
        theirs = sorted(e_divisive([math.log(v) for v in values], pvalue=0.05, permutations=100))
        mine = ours.get("s%03d" % n, [])
        exact = mine == theirs
        near = len(mine) == len(theirs) and all(abs(a - b) <= 1 for a, b in zip(mine, theirs))
        k = by_kind.setdefault(kind, [0, 0, 0, 0, 0])
        k[0] += 1
        k[1] += exact
        k[2] += near
        k[3] += len(mine)
        k[4] += len(theirs)
    print("| series | n | same change points | same within 1 run | llm-bench found | reference found |")
    print("|---|---|---|---|---|---|")
    for kind, (n, exact, near, mine, theirs) in by_kind.items():
        print("| %s | %d | %d (%.0f%%) | %d (%.0f%%) | %d | %d |" % (
            kind, n, exact, 100.0 * exact / n, near, 100.0 * near / n, mine, theirs))


if __name__ == "__main__":
    main()
