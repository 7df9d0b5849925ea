#!/usr/bin/env bash
# Issue 7: loss on the full text vs on the completion only, through the real platform path. Starts its own
# redis-server and the four services (built dlls, no AppHost, free ports, a private data folder), runs
# `fg run` on samples/loss-mask-full.yaml and samples/loss-mask-completion.yaml once per seed (train.seed and
# base_model.init_seed set to the seed; the dataset split stays seed 40), and prints the Evaluator's metrics of
# each fine-tuned model plus the per-mask means.
#   bench/LossMaskComparison/run.sh [SEED ...]      default seeds: 1 2 3
#   EPOCHS=N overrides train.epochs of both specs (same for both arms).
# Results: $OUT (default .fg/loss-mask-comparison/) results.tsv, summary.md, report-ARM-sSEED.json (the EvalReports
# with every row's prediction), fg-*.log, service logs.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
seeds=("${@:-1 2 3}"); seeds=(${seeds[@]})
out="${OUT:-$root/.fg/loss-mask-comparison}"
data="$out/data"
# Redis here keeps nothing on disk, so fg's journal and the runs from an earlier invocation would point at nothing.
rm -rf "$data"
mkdir -p "$out" "$data"

for p in services/DataPrep/DataPrep.csproj services/Registry/Registry.csproj services/Trainer/Trainer.csproj \
         services/Evaluator/Evaluator.csproj tools/fg/fg.csproj; do
  dotnet build "$p" --no-restore -v q -nologo >/dev/null
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; }
trap stop EXIT

redis_port=$(free_port)
mkdir -p "$data/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data/redis" --save "" --appendonly no --protected-mode no \
  >"$out/redis.log" 2>&1 &
pids+=($!)
export ConnectionStrings__redis="127.0.0.1:$redis_port"

declare -A http grpc
for s in dataprep registry trainer evaluator; do http[$s]=$(free_port); grpc[$s]=$(free_port); done
for s in dataprep registry trainer evaluator; do export "services__${s}__grpc__0=http://127.0.0.1:${grpc[$s]}"; done

start() { # service project-name extra-env...
  local s=$1 name=$2; shift 2
  # From the project folder, as Aspire starts it: appsettings.json (endpoint protocols, limits) is read from there.
  (cd "services/$name" && exec env ASPNETCORE_ENVIRONMENT=Production \
      Kestrel__Endpoints__http__Url="http://127.0.0.1:${http[$s]}" Kestrel__Endpoints__grpc__Url="http://127.0.0.1:${grpc[$s]}" \
      "$@" dotnet "bin/Debug/net10.0/$name.dll") >"$out/$s.log" 2>&1 &
  pids+=($!)
}
start registry Registry Registry__Root="$data/registry"
start dataprep DataPrep DataPrep__CacheDir="$data/cache/datasets"
start trainer Trainer Trainer__Root="$data/runs" Trainer__ModelCache="$data/cache/trainer/models"
start evaluator Evaluator Evaluator__TrainerRoot="$data/runs" Evaluator__ModelCache="$data/cache/evaluator/models"
for s in dataprep registry trainer evaluator; do
  for _ in $(seq 1 120); do curl -sf -m 2 "http://127.0.0.1:${http[$s]}/health" >/dev/null 2>&1 && break; sleep 1; done
  curl -sf -m 2 "http://127.0.0.1:${http[$s]}/health" >/dev/null || { echo "$s is not healthy; see $out/$s.log" >&2; exit 1; }
done
echo "platform up: redis :$redis_port, grpc ${grpc[*]}"

export FG_HOME="$data/fg"
printf 'seed\tloss_on\texperiment\tpost_report\ttrain_s\tmetrics_json\n' >"$out/results.tsv"
for seed in "${seeds[@]}"; do
  for arm in full completion; do
    spec="$out/loss-mask-$arm-s$seed.yaml"
    sed -e "s/^name: \(.*\)$/name: \1-s$seed/" -e "s/^  init_seed: .*/  init_seed: $seed/" -e "s/^  seed: 1$/  seed: $seed/" \
      -e "${EPOCHS:+s/^  epochs: .*/  epochs: $EPOCHS/}" "samples/loss-mask-$arm.yaml" >"$spec"
    echo "== seed $seed, $arm ($(date +%T))"
    t0=$(date +%s)
    dotnet tools/fg/bin/Debug/net10.0/fg.dll run "$spec" >"$out/fg-$arm-s$seed.log" 2>&1 || { tail -20 "$out/fg-$arm-s$seed.log"; exit 1; }
    t1=$(date +%s)
    record=$(ls -t "$FG_HOME"/experiments/loss-mask-$arm-s$seed-*.json | head -1)
    report=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["post_report_id"])' "$record")
    redis-cli -p "$redis_port" --raw GET "fg:report:$report" >"$out/report-$arm-s$seed.json"
    metrics=$(python3 -c '
import json,sys
r=json.load(sys.stdin); o=r.get("overall") or r.get("Overall")
print(json.dumps(o, separators=(",",":")))' <"$out/report-$arm-s$seed.json")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "$arm" "$(basename "$record" .json)" "$report" "$((t1-t0))" "$metrics" >>"$out/results.tsv"
    grep -E "^[│|]" "$out/fg-$arm-s$seed.log" | tail -10 || true
  done
done
python3 "$root/bench/LossMaskComparison/summarize.py" "$out/results.tsv" | tee "$out/summary.md"
