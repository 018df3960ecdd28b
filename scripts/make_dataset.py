#!/usr/bin/env python3
"""Writes a small generated chat dataset in both formats llm-bench reads.

Every sentence is made here from a seeded random choice of words, so the files
hold no third-party text. Run from the repository root:

    python3 scripts/make_dataset.py [--records 24] [--seed 7] [--out configs/datasets]

writes chat-small.jsonl (one {"prompt", "output_tokens"} object per line) and
chat-small.sharegpt.json (the same records as ShareGPT conversations, the answer
being a generated text of about that many words).
"""

import argparse
import json
import random
from pathlib import Path

SUBJECTS = ["the server", "a user", "the cache", "our team", "the model", "a request",
            "the queue", "the scheduler", "this benchmark", "the gateway"]
VERBS = ["reads", "writes", "measures", "sends", "drops", "keeps", "counts", "tunes",
         "explains", "compares"]
OBJECTS = ["the prompt", "every token", "a long answer", "the batch", "its latency",
           "the first byte", "a shared prefix", "each response", "the error rate",
           "the throughput"]
TAILS = ["before noon", "under load", "twice a day", "with care", "in one pass",
         "after a restart", "without a cache", "at full speed", "on every run", "again"]
ASKS = ["Explain why", "Summarise how", "Describe when", "Tell me if", "Write a note on how"]


def sentence(rng: random.Random) -> str:
    return (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
            f"{rng.choice(TAILS)}")


def prompt(rng: random.Random) -> str:
    context = ". ".join(sentence(rng).capitalize() for _ in range(rng.randint(1, 6)))
    return f"{context}. {rng.choice(ASKS)} {sentence(rng)}."


def answer(rng: random.Random, words: int) -> str:
    text = []
    while len(text) < words:
        text.extend(sentence(rng).split())
    return " ".join(text[:words]).capitalize() + "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("configs/datasets"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    jsonl, sharegpt = [], []
    for i in range(args.records):
        text = prompt(rng)
        output_tokens = rng.randint(8, 96)
        jsonl.append(json.dumps({"prompt": text, "output_tokens": output_tokens}))
        sharegpt.append({"id": f"gen-{i}", "conversations": [
            {"from": "human", "value": text},
            {"from": "gpt", "value": answer(rng, output_tokens)},
        ]})
    (args.out / "chat-small.jsonl").write_text("\n".join(jsonl) + "\n")
    # One conversation a line: a JSON array still, and easy to read.
    lines = ",\n".join(json.dumps(c) for c in sharegpt)
    (args.out / "chat-small.sharegpt.json").write_text(f"[\n{lines}\n]\n")


if __name__ == "__main__":
    main()
