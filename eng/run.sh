#!/usr/bin/env bash
# The main job: installs what is missing, starts the platform under .NET Aspire (redis-server, the four services,
# the dashboard), runs an experiment through it (default: samples/quickstart.yaml, a complete experiment on the
# embedded sample data with a tiny random-init model), prints its report, and leaves the platform and the
# dashboard running until Ctrl+C.  FG_KEEP_RUNNING=0 stops the platform after the experiment instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
spec="${1:-samples/quickstart.yaml}"
"$root/eng/install.sh"
dotnet build AppHost/AppHost.csproj --no-restore -v q -nologo
dotnet build tools/fg/fg.csproj --no-restore -v q -nologo

mkdir -p .fg
log="$root/.fg/apphost.log"
# The dashboard accepts OTLP only with this key; fg gets it too, so its experiment spans join the services' traces.
key="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
AppHost__OtlpApiKey="$key" dotnet run --project AppHost --no-build --launch-profile http >"$log" 2>&1 &
apphost=$!
stop() { kill -TERM "$apphost" 2>/dev/null || true; wait "$apphost" 2>/dev/null || true; }
trap 'stop; exit 130' INT TERM

echo "starting the platform (log: $log) ..."
for port in 5110 5120 5130 5140; do
  for _ in $(seq 1 180); do
    if curl -sf -m 2 "http://localhost:$port/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$apphost" 2>/dev/null; then echo "the AppHost stopped; see $log" >&2; tail -20 "$log" >&2; exit 1; fi
    sleep 1
  done
  curl -sf -m 2 "http://localhost:$port/health" >/dev/null || { echo "a service on port $port is not healthy; see $log" >&2; stop; exit 1; }
done
dashboard="$(grep -oE 'http://localhost:18888/login\?t=[0-9a-f]+' "$log" | head -1)"
echo "dashboard: $dashboard"

export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:18889 OTEL_EXPORTER_OTLP_HEADERS="x-otlp-api-key=$key" OTEL_SERVICE_NAME=fg
fg() { dotnet "$root/tools/fg/bin/Debug/net10.0/fg.dll" "$@"; }
status=0
fg run "$spec" || status=$?
[ "$status" -eq 0 ] && fg report || true

echo
echo "dashboard: $dashboard"
echo "services (gRPC, plaintext HTTP/2): dataprep :5111  trainer :5121  evaluator :5131  registry :5141"
if [ "${FG_KEEP_RUNNING:-1}" = "0" ]; then stop; exit "$status"; fi
echo "the platform keeps running; Ctrl+C stops it"
wait "$apphost"
