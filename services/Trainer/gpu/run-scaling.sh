#!/usr/bin/env bash
# On the GPU machine (see prepare.sh): redis-server (carried, with its own loader and libraries) holding the sample
# dataset version, a random-init FunctionGemma-270M, then the same 60-step run on one GPU and on two, same global batch.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/out}; mkdir -p "$out"
nvidia-smi -L
mkdir -p /tmp/redis-bin /tmp/redis-data /tmp/tok
tar -C /tmp/redis-bin -xJf "$here/redis.tar.xz"
cp "$here/dump.rdb" /tmp/redis-data/dump.rdb
/tmp/redis-bin/ld-linux-x86-64.so.2 --library-path /tmp/redis-bin /tmp/redis-bin/redis-server --port 6390 --bind 127.0.0.1 \
  --dir /tmp/redis-data --dbfilename dump.rdb --save '' --daemonize yes --logfile /tmp/redis.log
xz -dc "$here/tokenizer.json.xz" > /tmp/tok/tokenizer.json
export FG_TOKENIZER_DIR=/tmp/tok
# NCCL's transport choice (P2P over NVLink, or SHM through host memory) goes into the worker logs.
export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT
sleep 1; tail -3 /tmp/redis.log
t0=$(date +%s)
bash .gpu-train/on-device.sh Trainer random-model --size 270m --seed 1 --out /tmp/m270 2>&1 | tail -2
echo "model: $(( $(date +%s) - t0 ))s"
for n in 1 2; do
  t0=$(date +%s)
  timeout 140 bash .gpu-train/on-device.sh Trainer train --redis 127.0.0.1:6390 --spec "$here/spec-${n}gpu.json" --run-id gpu$n --root /tmp/runs \
    > "$out/gpu$n.jsonl" 2>> "$out/err.txt"
  echo "gpu$n rc=$? $(( $(date +%s) - t0 ))s"
  tail -3 "$out/err.txt"
  # Where each rank's step time went (workers' profile lines), and how NCCL connected the GPUs.
  grep -h "run summary\|failed" /tmp/runs/gpu$n/worker-*.log 2>/dev/null | cut -c1-600
  grep -h "NCCL version\| via " /tmp/runs/gpu$n/worker-*.log 2>/dev/null | sed 's/^.*NCCL INFO //' | sort | uniq -c | head -8
  for f in /tmp/runs/gpu$n/worker-*.log; do [ -f "$f" ] && cp "$f" "$out/gpu$n-$(basename "$f")"; done
done
python3 "$here/compare.py" "$out/gpu1.jsonl" "$out/gpu2.jsonl" | tee "$out/summary.txt"
