#!/usr/bin/env bash
# Runs the Core tests (tests/FalVideo.Core.Tests: FalVideo.Core and FalVideo.Init, no PowerShell) on the two runtimes
# `dotnet test` does not start here:
#   .NET 8: the net8.0 build, published self-contained for linux-x64 (the SDK fetches the .NET 8 runtime pack from
#           NuGet itself), as PowerShell 7.4 runs the module's net8.0 build;
#   Mono:   the net472 build, standing in for Windows PowerShell 5.1's .NET Framework.
# The net10.0 leg runs in `dotnet test FalVideo.sln`. Assumes `dotnet build FalVideo.sln -c Release` ran.
# Prints one line per leg and exits non-zero when a leg failed or could not run:
#   Core tests on .NET 8.0.x: N passed, N failed
#   Core tests on Mono 6.8.0.105 (net472): N passed, N failed
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
project=$root/tests/FalVideo.Core.Tests/FalVideo.Core.Tests.csproj
out=$root/artifacts/core-tests
rm -rf "$out/results"
mkdir -p "$out/results"
status=0

# Mono needs mono-devel: besides the runtime and the class libraries (its dependencies), it is the only Debian package
# with the netstandard.dll facade that the netstandard2.0 packages (System.Text.Json, Polly.Core...) bind to.
ensure_mono() {
  if command -v mono >/dev/null 2>&1 && [ -f /usr/lib/mono/4.5/Facades/netstandard.dll ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "Mono is missing: install mono-devel (apt-get install --no-install-recommends mono-devel) and run again." >&2
    return 1
  fi
  echo "Installing mono-devel..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mono-devel >/dev/null
}

# Runs one leg: $1 = name, $2 = expected start of RuntimeInformation.FrameworkDescription, $3 = suffix of the
# printed runtime, then the command. Results come from the runner's XML report, not from its console output.
run_leg() {
  local name=$1 expect=$2 suffix=$3
  shift 3
  local xml=$out/results/$name.xml runtime_file=$out/results/$name.runtime log=$out/results/$name.log
  local rc=0
  FALVIDEO_EXPECT_RUNTIME=$expect FALVIDEO_RUNTIME_FILE=$runtime_file "$@" -noColor -xml "$xml" >"$log" 2>&1 || rc=$?
  if [ ! -s "$xml" ]; then
    cat "$log" >&2
    echo "Core tests on $name: did not run (exit code $rc, no results)" >&2
    status=1
    return
  fi
  local attrs passed failed errors runtime
  attrs=$(grep -o '<assembly [^>]*>' "$xml" | head -n 1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$attrs")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$attrs")
  errors=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$attrs")
  failed=$(( ${failed:-0} + ${errors:-0} ))
  # ".NET 8.0.34" / "Mono 6.8.0.105 (Debian ...)": the first two words, as the test on that runtime wrote them.
  runtime=$(awk '{print $1, $2}' "$runtime_file" 2>/dev/null || true)
  [ -n "$runtime" ] || runtime="$name (runtime not reported)"
  if [ "$rc" != 0 ] || [ "$failed" != 0 ] || [ "${passed:-0}" = 0 ]; then
    grep -E '\[FAIL\]|^\s+(Assert|System\.)' "$log" | head -n 40 >&2 || true
    status=1
  fi
  echo "Core tests on $runtime$suffix: ${passed:-0} passed, $failed failed"
}

# .NET 8 leg.
net8=$out/net8.0-linux-x64
# A fresh folder: publishing over an earlier output kept the runtime pack's System.Diagnostics.DiagnosticSource 8.0
# where a package (Npgsql's) now needs 9.0.
rm -rf "$net8"
if dotnet publish "$project" -c Release -f net8.0 -r linux-x64 --self-contained -o "$net8" --nologo -v quiet \
    >"$out/results/publish-net8.log" 2>&1; then
  run_leg ".NET 8" ".NET 8.0." "" "$net8/FalVideo.Core.Tests"
else
  cat "$out/results/publish-net8.log" >&2
  echo "Core tests on .NET 8: did not run (publish failed)" >&2
  status=1
fi

# Mono leg: the net472 build of the solution (incremental: nothing is rebuilt when it is current).
if ensure_mono; then
  if dotnet build "$project" -c Release -f net472 --nologo -v quiet >"$out/results/build-net472.log" 2>&1; then
    run_leg "Mono" "Mono " " (net472)" mono "$root/tests/FalVideo.Core.Tests/bin/Release/net472/FalVideo.Core.Tests.exe"
  else
    cat "$out/results/build-net472.log" >&2
    echo "Core tests on Mono: did not run (net472 build failed)" >&2
    status=1
  fi
else
  echo "Core tests on Mono: did not run (no Mono)" >&2
  status=1
fi

exit "$status"
