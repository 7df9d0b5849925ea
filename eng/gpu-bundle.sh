#!/usr/bin/env bash
# Publishes .NET projects self-contained for the GPU machine into OUT/bundle.tar.xz (OUT is a repo folder,
# e.g. .gpu-model), with on-device.sh and the peer benchmarks beside it; OUT is git-ignored locally.
# Same recipe as ../shared/device/bundle.sh, but with its own output folder so that several bundles can coexist.
#   eng/gpu-bundle.sh .gpu-model tests/FunctionGemma.Model.Tests/FunctionGemma.Model.Tests.csproj bench/...
# Device run: carry [".gpu-model"], command: bash .gpu-model/on-device.sh PROGRAM [ARGS...]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUTDIR PROJECT.csproj [PROJECT.csproj...]" >&2; exit 2; }
root=$(git rev-parse --show-toplevel)
shared="$root/../shared"
out="$root/$1"; shift
name_out=$(basename "$out")
grep -qx "/$name_out/" "$root/.git/info/exclude" 2>/dev/null || echo "/$name_out/" >> "$root/.git/info/exclude"
rm -rf "$out"; mkdir -p "$out/stage"
for proj in "$@"; do
  name=$(basename "$proj" .csproj)
  echo "publishing $name ..."
  dotnet publish "$proj" -c Release -r linux-x64 --self-contained \
    -p:InvariantGlobalization=true -p:PublishTrimmed=false -p:GenerateDocumentationFile=false \
    -o "$out/stage/$name" -v q -nologo
  # The GPU machine brings its own CUDA libtorch: drop the CPU one TorchSharp-cpu ships.
  cpu_libs=$(ls "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/libtorch-cpu-linux-x64/*/runtimes/linux-x64/native/ 2>/dev/null | sort -u || true)
  for f in $cpu_libs; do rm -f "$out/stage/$name/$f"; done
  rm -f "$out/stage/$name"/*.pdb
done
# on-device.sh unpacks next to itself: point it at this folder's bundle.
sed "s#dest=/tmp/gpu-bundle#dest=/tmp/$name_out-bundle#" "$shared/device/on-device.sh" > "$out/on-device.sh"
cp -r "$shared/bench" "$out/bench"
# Each project carries its own copy of the .NET runtime: identical files become hard links, which tar stores once.
(cd "$out/stage" && find . -type f -print0 | xargs -0 sha256sum | sort | awk '{ if ($1 == h) print f "\t" $2; else { h = $1; f = $2 } }' |
  while IFS=$'\t' read -r keep dup; do ln -f "$keep" "$dup"; done)
tar -C "$out/stage" -cJf "$out/bundle.tar.xz" .
rm -rf "$out/stage"
echo "bundle: $out/bundle.tar.xz $(du -m "$out/bundle.tar.xz" | cut -f1) MiB"
