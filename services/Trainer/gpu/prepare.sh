#!/usr/bin/env bash
# Here: builds what services/Trainer/gpu/run-scaling.sh needs on the GPU machine, which has no Redis and no package
# manager: the Trainer bundle (.gpu-train) and .gpu-redis = redis-server with its loader and libraries, the Gemma 3
# tokenizer, an RDB snapshot holding the sample dataset version (written through the Storage writer by
# Trainer.Tests), the specs and scripts.
# Device run: carry [".gpu-train", ".gpu-redis"], kind nvidia-h100-x2, command: bash .gpu-redis/run-scaling.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
out="$root/.gpu-redis"
grep -qx "/.gpu-redis/" .git/info/exclude || echo "/.gpu-redis/" >> .git/info/exclude
rm -rf "$out"; mkdir -p "$out/stage"
cp "$(command -v redis-server)" "$out/stage/"
for l in $(ldd "$(command -v redis-server)" | awk '/=>/{print $3} /ld-linux/{print $1}'); do cp -L "$l" "$out/stage/"; done
tar -C "$out/stage" -cJf "$out/redis.tar.xz" .
rm -rf "$out/stage"
xz -9 -c .cache/tokenizer/gemma3/tokenizer.json > "$out/tokenizer.json.xz"
dotnet build tests/Trainer.Tests/Trainer.Tests.csproj -v q -nologo
FG_TRAINER_DUMP_DIR="$out" tests/Trainer.Tests/bin/Debug/net10.0/Trainer.Tests -method "*Sample_rows_written_through_Storage*"
cp services/Trainer/gpu/run-scaling.sh services/Trainer/gpu/run-fp16.sh services/Trainer/gpu/compare.py services/Trainer/gpu/spec-*.json "$out/"
bash eng/gpu-bundle.sh .gpu-train services/Trainer/Trainer.csproj
du -sh "$out" .gpu-train
