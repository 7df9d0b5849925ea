#!/usr/bin/env bash
# On the GPU machine (no .NET, no network, has transformers): the Registry loaded by Python transformers through
# HF_ENDPOINT, then the 540 MB pull benchmark. Needs the bundle made here with
#   eng/gpu-bundle.sh .gpu-reg bench/RegistryBench/RegistryBench.csproj  (+ .gpu-reg/redis.tar.xz: redis-server, its libs, run.sh)
# Device run: carry [".gpu-reg"], command: bash bench/RegistryBench/device-check.sh
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
tar -C /tmp -xJf .gpu-reg/redis.tar.xz
export REDIS_SERVER=/tmp/redis/run.sh
python3 bench/RegistryBench/hf_check.py make /tmp/tiny-model > "$out/make.json" 2> "$out/make.err" || { cat "$out/make.err"; exit 1; }
port=5140
bash .gpu-reg/on-device.sh RegistryBench serve acme/tiny-functiongemma /tmp/tiny-model $port production > "$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do grep -q READY "$out/serve.log" && break; sleep 0.5; done
grep READY "$out/serve.log" || { tail -50 "$out/serve.log"; }
HF_ENDPOINT=http://127.0.0.1:$port HF_HOME=/tmp/hf-home HF_HUB_DISABLE_TELEMETRY=1 \
  python3 bench/RegistryBench/hf_check.py check /tmp/tiny-model acme/tiny-functiongemma > "$out/hf_check.json" 2> "$out/hf_check.err"
rc=$?
echo "hf_check rc=$rc"; cat "$out/hf_check.json"; tail -20 "$out/hf_check.err"
kill -TERM $server; wait $server 2>/dev/null
grep -E "Request (starting|finished)" "$out/serve.log" | grep -v grpc | sed 's/^ *//' | head -60 > "$out/requests.txt"
{ bash .gpu-reg/on-device.sh RegistryBench 540 1024 4096; BENCH_WINDOW_MB=16 bash .gpu-reg/on-device.sh RegistryBench 540 1024 4096; } 2>&1 | grep -v "^work dir" | tee "$out/bench.txt"
nproc; exit $rc
