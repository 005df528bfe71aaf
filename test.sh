#!/usr/bin/env bash
# Runs every test, in four legs, and ends with one line "N passed, N failed" that sums them all:
#   1. dotnet test: the xunit suites on .NET 10 (PowerShell 7.6 in-process and real pwsh children, the emulator,
#      the official fal JS client, the Core tests);
#   2. the Pester acceptance suite in a fresh pwsh 7.6.9 (tests/pester);
#   3. the Core tests on a self-contained .NET 8 runtime from NuGet;
#   4. the Core tests' net472 build under Mono (tests/run-core-tests.sh runs 3 and 4).
# Installs what the tests need when it is missing: ffprobe (Debian's ffmpeg), Mono (mono-devel), PostgreSQL's server
# binaries (Debian's postgresql: the shared job store's tests start a throw-away cluster), the npm packages
# of tests/js, the pinned pwsh (dotnet tool restore). Never writes a tracked file: the fault table of the run goes to
# artifacts/reliability.md.
set -euo pipefail
cd "$(dirname "$0")"

apt_install() {
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; fi
}
missing=()
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
# mono-devel brings the runtime, the class libraries and the netstandard.dll facade the net472 build binds to.
{ command -v mono >/dev/null 2>&1 && [ -f /usr/lib/mono/4.5/Facades/netstandard.dll ]; } || missing+=(mono-devel)
# The shared job store's tests run initdb and pg_ctl from /usr/lib/postgresql/<version>/bin (as the postgres user the
# package creates, when run as root).
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}..."
  apt_install "${missing[@]}"
fi
if [ -f tests/js/package-lock.json ]; then
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
fi
dotnet tool restore >/dev/null

dotnet build FalVideo.sln -c Release --nologo -v quiet
logs=$(mktemp -d)
set +e
dotnet test FalVideo.sln -c Release --no-build --nologo --logger "console;verbosity=normal" 2>&1 | tee "$logs/xunit.log"
status=${PIPESTATUS[0]}
# The fault tests leave one record per fault in artifacts/reliability; their table goes to artifacts/reliability.md
# (docs/reliability.md is refreshed on purpose only: dotnet pwsh build.ps1 -Task Reliability).
dotnet pwsh -NoProfile -File tools/Render-ReliabilityTable.ps1 artifacts/reliability artifacts/reliability.md \
  || echo "artifacts/reliability.md was not rendered (no fault records?)"
dotnet pwsh -NoProfile -File tests/pester/Invoke-FalVideoPester.ps1 -Output Normal 2>&1 | tee "$logs/pester.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
bash tests/run-core-tests.sh 2>&1 | tee "$logs/core.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
set -e

# dotnet test prints "     Passed: N" / "     Failed: N" under "Total tests:" for each test assembly; the Pester runner
# ends with "Pester: N passed, N failed", and each Core leg with "Core tests on <runtime>: N passed, N failed".
xunit_passed=$(awk '/^ +Passed: +[0-9]+$/ {s+=$2} END {print s+0}' "$logs/xunit.log")
xunit_failed=$(awk '/^ +Failed: +[0-9]+$/ {s+=$2} END {print s+0}' "$logs/xunit.log")
other=$(grep -hE '^(Pester|Core tests on .*): [0-9]+ passed, [0-9]+ failed$' "$logs/pester.log" "$logs/core.log" || true)
legs=$(printf '%s\n' "$other" | grep -c 'passed' || true)
passed=$(( xunit_passed + $(printf '%s\n' "$other" | awk -F': ' '{split($NF, a, " "); s+=a[1]} END {print s+0}') ))
failed=$(( xunit_failed + $(printf '%s\n' "$other" | awk -F': ' '{split($NF, a, " "); s+=a[3]} END {print s+0}') ))
# Names the failed tests again at the end, where a CI log that keeps only its tail still shows them.
failures=$( { awk '/^  Failed [A-Za-z_]/ {print "dotnet test: " substr($0, 10); n = 0; next}
    /^  Error Message:/ {n = 4; next} /^  Stack Trace:/ {n = 0} n > 0 {print "    " $0; n--}' "$logs/xunit.log";
  sed 's/\x1b\[[0-9;]*m//g' "$logs/pester.log" | grep -E '^ *\[-\] ' | sed 's/^ */Pester: /';
  grep -hE '\[FAIL\]' "$logs/core.log" | sed 's/^ */Core tests: /'; } | head -n 40 || true)
rm -rf "$logs"
if [ -n "$failures" ]; then echo "Failed tests:"; printf '%s\n' "$failures"; fi
echo "dotnet test (.NET 10): $xunit_passed passed, $xunit_failed failed"
printf '%s\n' "$other"
# Pester and the two Core legs each print their line; a leg that printed none did not run.
if [ "$legs" != 3 ]; then echo "only $legs of the 3 other legs reported"; status=1; fi
echo "$passed passed, $failed failed"
exit "$status"
