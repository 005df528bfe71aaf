#!/usr/bin/env bash
# Runs every test: installs what the tests need (ffprobe to check the emulator's MP4, the official
# fal JS client to prove the emulator speaks fal's protocol), builds, and runs the xunit suites that
# host PowerShell 7.6 in-process against the built module and a local fal emulator.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v ffprobe >/dev/null 2>&1; then
  echo "Installing ffmpeg (for ffprobe)..."
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; fi
fi
if [ -f tests/js/package-lock.json ]; then
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
fi

dotnet build FalVideo.sln -c Release --nologo -v quiet
log=$(mktemp)
set +e
dotnet test FalVideo.sln -c Release --no-build --nologo --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The fault tests leave one record per fault in artifacts/reliability; their table goes to artifacts/reliability.md
# (docs/reliability.md is refreshed on purpose only: ./build.ps1 -Task Reliability).
dotnet pwsh -NoProfile -File tools/Render-ReliabilityTable.ps1 artifacts/reliability artifacts/reliability.md \
  || echo "artifacts/reliability.md was not rendered (no fault records?)"
set -e
# One plain closing line: "N passed, N failed".
# The runner prints "     Passed: N" / "     Failed: N" under "Total tests:" for each test assembly.
passed=$(awk '/^ +Passed: +[0-9]+$/ {s+=$2} END {print s+0}' "$log")
failed=$(awk '/^ +Failed: +[0-9]+$/ {s+=$2} END {print s+0}' "$log")
rm -f "$log"
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
