#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/tiny-wordpiece.json: a tiny Hugging Face
tokenizer for llm-bench's tests (no download, no third-party vocabulary).

A WordPiece model over a whitespace/punctuation pre-tokenizer. Its vocabulary
holds some common English words whole, and every letter and digit both as a word
start and as a `##` continuation, so a word outside the vocabulary is spelled
out one token per character: "the" is 1 token, "zebra" 5. Prompts made of
common words therefore do not have one token per word, which is what the exact
length tests need to exercise.

Usage: python3 scripts/make_test_tokenizer.py [OUT]
"""
import json
import string
import sys

WHOLE_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his "
    "from at which but have an had they you were their one all we can her has there "
    "been if more when will would who so no time people year way day man thing world"
).split()


def vocabulary():
    vocab = {"[UNK]": 0}
    pieces = list(string.ascii_lowercase + string.digits)
    for token in WHOLE_WORDS + pieces + ["##" + p for p in pieces]:
        vocab.setdefault(token, len(vocab))
    return vocab


def tokenizer():
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": 0,
                "content": "[UNK]",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": vocabulary(),
        },
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizer/tiny-wordpiece.json"
    with open(out, "w", encoding="utf-8") as f:
        json.dump(tokenizer(), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
