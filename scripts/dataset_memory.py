#!/usr/bin/env python3
"""Peak memory of `llm-bench run` on a large dataset, against a run without one.

A dataset is indexed in one streaming pass and read back by offset (see
src/config/workloads/dataset/), so a run's memory should grow with the number of
records (24 bytes each for the index, 4 for the send order), not with the
file's size. This script checks that on generated files:

    python3 scripts/dataset_memory.py [--jsonl-mb 1024] [--sharegpt-mb 256] \
        [--bin target/release/llm-bench] [--requests 200]

It writes a JSONL (and a ShareGPT) file of generated prompts in a temporary
folder, runs the same short closed-loop scenario against the built-in simulator
three ways (synthetic prompts: the reference; the JSONL; the ShareGPT file),
each as its own process, and prints each one's peak resident memory (from
wait4's rusage) beside the file's size and the reference measured in the same
run. The files are deleted afterwards (they are large).
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("the server reads every token of a long prompt before it writes the first "
         "byte of an answer and the queue keeps each request until a slot frees up "
         "so latency grows with load while throughput levels off near the knee").split()


def prompts(rng: random.Random, n: int) -> list:
    """n distinct prompts of 40 to 120 words (about 250 to 750 bytes)."""
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))) for _ in range(n)]


def write_jsonl(path: Path, size: int, pool: list) -> int:
    records = 0
    with open(path, "w", buffering=1 << 20) as out:
        written = 0
        while written < size:
            line = f'{{"id": {records}, "prompt": "{pool[records % len(pool)]} {records}", ' \
                   f'"output_tokens": {16 + records % 64}}}\n'
            out.write(line)
            written += len(line)
            records += 1
    return records


def write_sharegpt(path: Path, size: int, pool: list) -> int:
    records = 0
    with open(path, "w", buffering=1 << 20) as out:
        out.write("[\n")
        written = 2
        while written < size:
            prompt = f"{pool[records % len(pool)]} {records}"
            answer = pool[(records * 7) % len(pool)]
            element = (f'{"," if records else ""}{{"id": "r{records}", "conversations": ['
                       f'{{"from": "human", "value": "{prompt}"}}, '
                       f'{{"from": "gpt", "value": "{answer}"}}]}}\n')
            out.write(element)
            written += len(element)
            records += 1
        out.write("]\n")
    return records


def config(folder: Path, scenario: str, file, requests: int) -> Path:
    """A config folder with one scenario: each run reads only its own dataset
    (the config indexes every scenario's dataset when it is loaded)."""
    folder = folder / f"config-{scenario}"
    folder.mkdir()
    (folder / "targets.yaml").write_text(
        "default: sim\ntargets:\n  sim:\n    builtin: sim\n"
        "    sim: { ttft_ms: 1, itl_ms: 0 }\n    api: chat\n")
    (folder / "models.yaml").write_text("default: m\nmodels:\n  m: { max_tokens: 16 }\n")
    source = "prompt: p" if file is None else f"dataset: {{ file: ../{file.name} }}"
    (folder / "workloads.yaml").write_text(
        "prompts:\n  p: { synthetic_tokens: 80 }\nscenarios:\n"
        f"  {scenario}:\n    {source}\n    concurrency: 4\n    requests: {requests}\n")
    return folder


def peak_rss(binary: str, folder: Path, scenario: str) -> tuple:
    """Peak RSS in bytes and wall seconds of one `run` of the config in `folder`."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [binary, "run", "--config-dir", str(folder), "--out", str(folder / "out"),
         "--results-dir", str(folder / "results")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    stderr = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{scenario}: exit {proc.returncode}\n{stderr[-2000:]}")
    # ru_maxrss is in kilobytes on Linux.
    return usage.ru_maxrss * 1024, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jsonl-mb", type=int, default=1024)
    parser.add_argument("--sharegpt-mb", type=int, default=256)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--bin", default="target/release/llm-bench")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go")
    args = parser.parse_args()
    rng = random.Random(1)
    pool = prompts(rng, 4096)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        files, counts = {}, {}
        if args.jsonl_mb > 0:
            files["jsonl"] = folder / "big.jsonl"
            counts["jsonl"] = write_jsonl(files["jsonl"], args.jsonl_mb << 20, pool)
        if args.sharegpt_mb > 0:
            files["sharegpt"] = folder / "big.json"
            counts["sharegpt"] = write_sharegpt(files["sharegpt"], args.sharegpt_mb << 20, pool)
        reference = config(folder, "reference", None, args.requests)
        ref_rss, ref_s = peak_rss(args.bin, reference, "reference")
        print(f"{'scenario':<10} {'file MB':>8} {'records':>10} {'peak RSS MB':>12} "
              f"{'over ref MB':>12} {'B/record':>9} {'RSS/file':>9} {'wall s':>7}")
        print(f"{'reference':<10} {'-':>8} {'-':>10} {ref_rss / 2**20:>12.1f} {0:>12.1f} "
              f"{'-':>9} {'-':>9} {ref_s:>7.1f}")
        for name, file in files.items():
            rss, secs = peak_rss(args.bin, config(folder, name, file, args.requests), name)
            size = file.stat().st_size
            extra = rss - ref_rss
            print(f"{name:<10} {size / 2**20:>8.0f} {counts[name]:>10} {rss / 2**20:>12.1f} "
                  f"{extra / 2**20:>12.1f} {extra / counts[name]:>9.1f} {rss / size:>9.3f} "
                  f"{secs:>7.1f}")


if __name__ == "__main__":
    main()
