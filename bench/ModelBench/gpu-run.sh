#!/usr/bin/env bash
# On the GPU machine, one call: HF parity fixtures + the Model GPU tests, then the peer (transformers) and ModelBench
# on the same GPU, so every ratio in RESULTS.md comes from one run. Results land in $OUT.
# Here: eng/gpu-bundle.sh .gpu-model tests/FunctionGemma.Model.Tests/FunctionGemma.Model.Tests.csproj bench/ModelBench/ModelBench.csproj
# Device: carry [".gpu-model"], command: bash bench/ModelBench/gpu-run.sh
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
g=.gpu-model
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
step() { local t0=$(date +%s); "$@"; echo "[$(( $(date +%s) - t0 ))s] $*" >&2; }

# 1. Parity and GPU tests (CUDA graph decode included).
step timeout 150 python3 tests/FunctionGemma.Model.Tests/Fixtures/make_parity.py /tmp/parity > "$out/make_parity.log" 2>&1
FG_PARITY_REPORT="$out/parity.jsonl" step timeout 150 bash $g/on-device.sh FunctionGemma.Model.Tests -trait Category=Gpu > "$out/gpu-tests.log" 2>&1
tail -4 "$out/gpu-tests.log" | cut -c1-300

# 2. Peer and ours, one measurement per process (peak memory is per process).
step timeout 200 python3 $g/bench/peer_hf_gemma3.py --batch 2 16 --steps 5 > "$out/peer.jsonl" 2> "$out/peer.err"
ours() { step timeout 60 bash $g/on-device.sh ModelBench "$@" >> "$out/ours.jsonl" 2>> "$out/ours.err"; }
ours train --batch 2 --steps 10
ours train --batch 2 --steps 10 --graphs
ours train --batch 16 --steps 5 --chunk 1024 --graphs
ours train --batch 16 --steps 5
ours train --batch 16 --steps 5 --chunk 1024
ours train --batch 16 --steps 5 --ckpt
PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True ours train --batch 16 --steps 5 --chunk 1024
PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True ours train --batch 16 --steps 5 --chunk 1024 --graphs
ours generate --batch 1
ours generate --batch 1 --eager
ours generate --batch 16
ours generate --batch 16 --eager
cat "$out/peer.jsonl" "$out/ours.jsonl" | grep -v '"what": *"model"\|"what":"model"'
for f in "$out/ours.err" "$out/peer.err"; do tail -n 3 "$f" | cut -c1-300; done
