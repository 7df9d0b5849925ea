#!/usr/bin/env bash
# Runs every test except the GPU ones (Category=Gpu run on the device machine), then prints one line "N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/eng/install.sh" || exit 1
# Headless Chromium for the dashboard screenshot test (Playwright drives Debian's browser; it downloads none).
if [ ! -x /usr/bin/chromium ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null || exit 1
fi
dotnet build FunctionGemma.Aspire.sln --no-restore -v q -nologo || exit 1
log="$(mktemp)"
dotnet test --solution FunctionGemma.Aspire.sln --no-build --filter-not-trait "Category=Gpu" --filter-not-trait "Category=Bench" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
count() { grep -E "^\s+$1: [0-9]+" "$log" | tail -1 | grep -oE '[0-9]+' || echo 0; }
passed=$(count succeeded); failed=$(count failed); skipped=$(count skipped)
line="$passed passed, $failed failed"
[ "$skipped" != "0" ] && line="$line, $skipped skipped"
echo "$line"
[ "$status" -eq 0 ] && [ "$failed" = "0" ] || exit 1
