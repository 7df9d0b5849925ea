#!/usr/bin/env bash
# The Evaluator's generation path vs the tutorial's HF generate loop, in one device call.
# Here:   eng/gpu-bundle.sh .gpu-eval bench/EvalBench/EvalBench.csproj
#         xz -T2 -c .cache/tokenizer/gemma3/tokenizer.json > .gpu-eval/gemma3-tokenizer.json.xz
#         (the tokenizer travels xz-compressed inside the bundle folder: uncompressed it would not fit the 64 MiB tree)
# Device: carry [".gpu-eval"], command: bash bench/EvalBench/run-on-device.sh
set -uo pipefail
work=/tmp/evalbench
out=${OUT:-$work/out}
mkdir -p "$work/tok" "$out"
xz -dc .gpu-eval/gemma3-tokenizer.json.xz > "$work/tok/tokenizer.json"
export FG_TOKENIZER_DIR="$work/tok"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
bash .gpu-eval/on-device.sh EvalBench --sample samples/hermes-sample.jsonl --work "$work" \
  --rows 50 --new 128 --batch 16 1 --budget "${BUDGET:-40}" 2>&1 | tee "$out/torchsharp.jsonl"
PYTHONUNBUFFERED=1 python3 bench/EvalBench/hf_eval_peer.py --work "$work" --batch 16 1 --budget "${BUDGET:-40}" 2>&1 \
  | tee "$out/hf.jsonl"
