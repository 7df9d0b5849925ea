#!/usr/bin/env bash
# On the GPU machine (after prepare.sh): the 1-GPU sample run in fp16 with dynamic loss scaling, the path for GPUs
# without bf16 (T4, V100), which the H100 also runs. Prints the loss, loss scale and skipped steps of each step.
# Device run: carry [".gpu-train", ".gpu-redis"], command: bash .gpu-redis/run-fp16.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=${FG_TRAINER_BUNDLE:-.gpu-train}
out=${OUT:-/tmp/out}; mkdir -p "$out" /tmp/redis-bin /tmp/redis-data /tmp/tok
tar -C /tmp/redis-bin -xJf "$here/redis.tar.xz"
cp "$here/dump.rdb" /tmp/redis-data/dump.rdb
/tmp/redis-bin/ld-linux-x86-64.so.2 --library-path /tmp/redis-bin /tmp/redis-bin/redis-server --port 6391 --bind 127.0.0.1 \
  --dir /tmp/redis-data --dbfilename dump.rdb --save '' --daemonize yes --logfile /tmp/redis-fp16.log
xz -dc "$here/tokenizer.json.xz" > /tmp/tok/tokenizer.json
export FG_TOKENIZER_DIR=/tmp/tok
sleep 1
[ -d /tmp/m270 ] || bash "$bundle/on-device.sh" Trainer random-model --size 270m --seed 1 --out /tmp/m270 > /dev/null
timeout 150 bash "$bundle/on-device.sh" Trainer train --redis 127.0.0.1:6391 --spec "$here/spec-1gpu-fp16.json" --run-id fp16 --root /tmp/runs \
  > "$out/fp16.jsonl" 2>> "$out/fp16-err.txt"
echo "fp16 rc=$?"
grep -h "cuda graphs\|overflowed\|run summary" /tmp/runs/fp16/worker-*.log | cut -c1-300
python3 - "$out/fp16.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith("{"): continue
    m = json.loads(line).get("metrics")
    if m: print(f"step {int(m['step']):3d} loss {m['loss']:.4f} loss_scale {m.get('lossScale', m.get('loss_scale', 0))} skipped {m.get('skippedSteps', m.get('skipped_steps', 0))} tok/s {m.get('tokensPerSecond', m.get('tokens_per_second', 0)):.0f}")
PY
