#!/usr/bin/env python3
"""Python Hugging Face tokenizers on the same corpus as TokenizerBench (one JSON string per line); JSON lines out.
'chars' are UTF-16 code units, as in the C# benchmark."""
import argparse
import json
import os
import time

import tokenizers
from tokenizers import Tokenizer

ap = argparse.ArgumentParser()
ap.add_argument("--corpus", required=True)
ap.add_argument("--tokenizer", required=True, help="FunctionGemma tokenizer.json (make_tokenizer_fixtures.py --workdir)")
ap.add_argument("--rounds", type=int, default=3)
args = ap.parse_args()

prompts = [json.loads(line) for line in open(args.corpus, encoding="utf-8") if line.strip()]
chars = sum(len(p.encode("utf-16-le")) // 2 for p in prompts)
t = time.perf_counter()
tok = Tokenizer.from_file(args.tokenizer)
load = time.perf_counter() - t
impl = f"python tokenizers {tokenizers.__version__}"


def emit(mode, threads, seconds, tokens):
    print(json.dumps({"impl": impl, "mode": mode, "threads": threads, "prompts": len(prompts), "chars": chars, "tokens": tokens,
                      "seconds": round(seconds, 4), "chars_per_s": round(chars / seconds) if tokens else 0,
                      "tokens_per_s": round(tokens / seconds) if tokens else 0}), flush=True)


def best(fn):
    times = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


emit("load", 1, load, 0)
tokens = sum(len(tok.encode(p, add_special_tokens=True).ids) for p in prompts)
emit("single", 1, best(lambda: [tok.encode(p, add_special_tokens=True) for p in prompts]), tokens)
emit("encode_batch", os.cpu_count(), best(lambda: tok.encode_batch(prompts, add_special_tokens=True)), tokens)
ids = [tok.encode(p, add_special_tokens=True).ids for p in prompts]
emit("decode_single", 1, best(lambda: [tok.decode(i, skip_special_tokens=False) for i in ids]), tokens)
