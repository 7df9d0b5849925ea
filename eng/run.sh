#!/usr/bin/env bash
# The main job: installs what is missing, starts the platform under .NET Aspire (redis-server, the four services,
# the dashboard) and prints where everything is. Ctrl+C stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/eng/install.sh"
dotnet build AppHost/AppHost.csproj --no-restore -v q -nologo
exec dotnet run --project AppHost --no-build --launch-profile http
