#!/usr/bin/env python3
"""Peer of EvalBench: the reference evaluation's generation loop in Hugging Face transformers.

Replays the prompts EvalBench wrote (the same token ids, same random-init model directory) through
`model.generate` greedily with max_new_tokens and the stop ids [1, 106, 50], decoding the new tokens with
skip_special_tokens=True and strip(), as the tutorial does:
  - batch 1: one row at a time, the tutorial's loop;
  - batch 16: left-padded batches (attention mask), the fastest plain-HF way.
A batch size whose run would exceed --budget seconds stops after the batch that crosses it (rows/s counts rows done).
Prints one JSON object per measurement, and how often its predictions equal EvalBench's.

Usage: python3 hf_eval_peer.py --work /tmp/evalbench [--batch 16 1] [--budget 40]
"""
import argparse, json, os, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/evalbench")
    ap.add_argument("--batch", type=int, nargs="+", default=[16, 1])
    ap.add_argument("--budget", type=float, default=40.0)
    ap.add_argument("--dtype", default="bfloat16")
    a = ap.parse_args()
    spec = json.load(open(os.path.join(a.work, "prompts.json")))
    prompts, max_new, stops = spec["prompts"], spec["max_new_tokens"], spec["stop_ids"]
    t0 = time.perf_counter()
    dtype = getattr(torch, a.dtype)
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], dtype=dtype).cuda().eval()
    try:
        tok = AutoTokenizer.from_pretrained(spec["model_dir"])
    except Exception as e:  # the same tokenizer.json through the tokenizers library, which decodes identically
        from tokenizers import Tokenizer
        print(json.dumps({"what": "note", "impl": "hf", "autotokenizer_failed": repr(e)[:300]}), flush=True)
        tok = Tokenizer.from_file(os.path.join(spec["model_dir"], "tokenizer.json"))
    print(json.dumps({"what": "setup", "impl": "hf", "transformers_load_s": time.perf_counter() - t0,
                      "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
    kw = dict(max_new_tokens=max_new, do_sample=False, eos_token_id=stops, pad_token_id=0)

    def run(batch_prompts):
        width = max(len(p) for p in batch_prompts)
        ids = torch.tensor([[0] * (width - len(p)) + p for p in batch_prompts], device="cuda")
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch_prompts], device="cuda")
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, **kw)
        preds, counts = [], []
        for row in out[:, width:].tolist():
            new = []
            for t in row:
                new.append(t)
                if t in stops:
                    break
            counts.append(len(new))
            preds.append(tok.decode(new, skip_special_tokens=True).strip())
        return preds, counts

    run(prompts[:2])  # warm-up
    torch.cuda.synchronize()
    for batch in a.batch:
        preds, tokens = [], 0
        t = time.perf_counter()
        capped = False
        for start in range(0, len(prompts), batch):
            p, c = run(prompts[start:start + batch])
            preds += p
            tokens += sum(c)
            if time.perf_counter() - t > a.budget and start + batch < len(prompts):
                capped = True
                break
        torch.cuda.synchronize()
        dt = time.perf_counter() - t
        mine = os.path.join(a.work, f"torchsharp-b{batch}.json")
        agree = None
        if os.path.exists(mine):
            theirs = json.load(open(mine))
            k = min(len(theirs), len(preds))
            agree = sum(theirs[i] == preds[i] for i in range(k)) / k if k else None
        print(json.dumps({"what": "eval", "impl": "hf", "batch": batch, "rows": len(preds), "capped": capped,
                          "seconds": dt, "rows_per_s": len(preds) / dt, "new_tokens": tokens,
                          "tokens_per_s": tokens / dt, "predictions_equal_to_torchsharp": agree}), flush=True)


if __name__ == "__main__":
    main()
