#!/usr/bin/env python3
"""Writes the small example traces shipped in configs/traces/.

Both hold the same 40 requests over about 4 seconds (seeded, so the files are
reproducible): Poisson arrivals at about 10 requests per second with one burst,
input lengths from 16 to 256 tokens and output lengths from 4 to 48.

- example.jsonl: Mooncake's layout, `timestamp` in milliseconds, `input_length`,
  `output_length` (one JSON object per line).
- example.csv: Azure's LLM inference trace layout, `TIMESTAMP`, `ContextTokens`,
  `GeneratedTokens`.

Usage: python3 scripts/make_trace.py [OUT_DIR]   (default: configs/traces)
"""

import datetime
import json
import pathlib
import random
import sys

ROWS = 40
SEED = 20240601


def rows():
    rng = random.Random(SEED)
    t_ms = 0.0
    out = []
    for i in range(ROWS):
        # A burst of eight requests 2 ms apart in the middle of the trace.
        gap = 2.0 if 16 <= i < 24 else rng.expovariate(10.0) * 1000.0
        if i > 0:
            t_ms += gap
        out.append((round(t_ms, 1), rng.randint(16, 256), rng.randint(4, 48)))
    return out


def main():
    out_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "configs/traces")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = rows()
    with open(out_dir / "example.jsonl", "w", encoding="utf-8") as f:
        for t_ms, inp, outp in data:
            f.write(json.dumps({"timestamp": t_ms, "input_length": inp, "output_length": outp}) + "\n")
    start = datetime.datetime(2023, 11, 16, 18, 0, 0)
    with open(out_dir / "example.csv", "w", encoding="utf-8") as f:
        f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        for t_ms, inp, outp in data:
            at = start + datetime.timedelta(milliseconds=t_ms)
            f.write(f"{at.strftime('%Y-%m-%d %H:%M:%S.%f')}0,{inp},{outp}\n")


if __name__ == "__main__":
    main()
