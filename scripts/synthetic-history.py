#!/usr/bin/env python3
"""Writes a 90-night synthetic history (one target, two scenarios) into a folder
store, for looking at `llm-bench trend` and its trends page:

    scripts/synthetic-history.py OUT_DIR
    llm-bench trend --store OUT_DIR --html trends.html

Seeded. Night 40: TTFT steps up 8% (a regression); night 65: it steps back.
From night 50 the E2E p90 of `chat` drifts up 0.3% a night. Noise: 2%
(lognormal) per run, 1% between trials.
"""
import datetime
import json
import math
import pathlib
import random
import sys


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(90)
    start = datetime.datetime(2026, 6, 1, 2, 0, tzinfo=datetime.timezone.utc)
    base = {"ttft_ms.p50": 80.0, "ttft_ms.p90": 120.0, "tpot_ms.p50": 12.0,
            "e2e_ms.p90": 1500.0, "output_tokens_per_s": 900.0, "success_rate": 1.0}
    lines = []
    for night in range(90):
        commit = "%040x" % rng.getrandbits(160)
        created = (start + datetime.timedelta(days=night)).isoformat().replace("+00:00", "Z")
        for scenario in ("chat", "long-context"):
            run_level = {k: math.exp(rng.gauss(0, 0.02)) for k in base}
            ttft = 1.08 if 40 <= night < 65 else 1.0
            drift = 1.0 + 0.003 * max(0, night - 50) if scenario == "chat" else 1.0
            trials = []
            for t in range(3):
                stats = {}
                for key, value in base.items():
                    v = value * run_level[key] * math.exp(rng.gauss(0, 0.01))
                    if key.startswith("ttft"):
                        v *= ttft
                    if key == "e2e_ms.p90":
                        v *= drift
                    if key == "success_rate":
                        v = 1.0
                    stats[key] = v
                trials.append({"trial": t, "duration_s": 30.0, "succeeded": 64,
                               "failed": 0, "stats": stats})
            lines.append({
                "schema_version": "1.0", "target": "nightly-gpu", "scenario": scenario,
                "run_id": "night-%02d" % night, "created_at": created,
                "git_commit": commit, "tool_version": "0.1.0",
                "fingerprint": {
                    "must_match": {"model": "m", "api": "chat", "workload_hash": scenario,
                                   "percentile_method": "linear", "server_engine": "vllm",
                                   "server_version": "0.6.3"},
                    "should_match": {"tool_version": "0.1.0"}},
                "trials": trials})
    path = out / "nightly-gpu.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    print("wrote %s (%d records)" % (path, len(lines)))


if __name__ == "__main__":
    main()
